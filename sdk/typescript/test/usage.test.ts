// A malformed call never escapes as an encoder error: for every RPC method of the client, every
// field of its request given a value of the wrong type, an unknown field, and a request that is
// not an object, each is a local INVALID_ARGUMENT OtnError (reason INVALID_FIELD) naming the field
// path, and nothing is sent (fake server). Also: the client has a method for every RPC.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, OtnError, fields, shapeViolations, v1 } from "@otn/client";
import { FakeServer } from "./fake-server";

/** Every RPC: the client method's name and its request message's full name. */
const RPCS = Object.entries(v1.NotificationServiceService).map(([method, def]) => ({
  method,
  request: `otn.v1.${def.path.split("/").pop()}Request`,
}));

/** A value of the wrong type for a field of this shape. */
function wrong(shape: fields.FieldShape): unknown {
  if (shape.repeated) return "not a list";
  return shape.kind === "message" ? 42 : { odd: true };
}

/** Calls a client method and returns what it threw or rejected with (undefined if nothing). */
async function thrown(call: () => unknown): Promise<unknown> {
  try {
    const r = call();
    if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function" && !(r instanceof Promise)) {
      for await (const _ of r as AsyncIterable<unknown>) break; // generators and streams: the first step
    } else {
      await r;
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("malformed calls (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;
  before(async () => {
    fake = await FakeServer.start();
  });
  beforeEach(() => {
    fake.reset();
    client = new Client(fake.target, { retry: { maxAttempts: 1 } });
  });
  afterEach(() => client.close());
  after(() => fake.stop());

  it("the client has a method for every RPC of the contract, and the fields module matches the codecs", () => {
    for (const { method, request } of RPCS) {
      assert.equal(typeof (client as unknown as Record<string, unknown>)[method], "function", `Client.${method}`);
      const codec = (v1 as unknown as Record<string, { fromPartial(o: object): object }>)[request.slice("otn.v1.".length)];
      assert.deepEqual(Object.keys(codec.fromPartial({})).sort(), Object.keys(fields.MESSAGES[request]).sort(), request);
    }
    assert.equal(RPCS.length, 15);
  });

  for (const { method, request } of RPCS) {
    const helpers = method === "listEligible" ? ["listEligible", "listEligiblePages", "iterEligible"]
      : method === "listNotifications" ? ["listNotifications", "iterNotifications"] : [method];
    for (const name of helpers) {
      it(`${name}: a wrong type for any field, an unknown field, a non-object request`, async () => {
        const call = (req: unknown) => () => (client as unknown as Record<string, (r: unknown) => unknown>)[name](req);
        const cases: [unknown, string][] = Object.entries(fields.MESSAGES[request]).map(([key, shape]) => [
          { [key]: wrong(shape) },
          shape.name,
        ]);
        cases.push([{ noSuchField: 1 }, "noSuchField"], [null, "request"], ["pageId", "request"]);
        for (const [req, field] of cases) {
          const e = await thrown(call(req));
          assert.ok(e instanceof OtnError, `${name}(${JSON.stringify(req)}) threw ${e}`);
          assert.equal(e.code, status.INVALID_ARGUMENT);
          assert.equal(e.local, true);
          assert.equal(e.reason, v1.ErrorReason.ERROR_REASON_INVALID_FIELD);
          assert.deepEqual(e.fields, [field], `${name}(${JSON.stringify(req)}): ${e.message}`);
          assert.ok(e.fieldViolations[0].description, "a violation without a description");
        }
        assert.equal(fake.attempts.length, 0, "a malformed call reached the network");
      });
    }
  }

  it("names nested paths as the server does, suggests names, and accepts what is well-formed", () => {
    const bad = shapeViolations("otn.v1.SendNotificationRequest", {
      pageId: "p",
      content: { buttonTemplate: { text: "t", buttons: [{ title: "ok" }, { title: 7, web_url: "x" }] } },
      options: { regions: ["US", 1], maxRecipients: 1.5 },
      audience: { tagFilter: { allof: ["vip"] } },
    });
    assert.deepEqual(bad.map((v) => v.field), [
      "content.button_template.buttons[1].title",
      "content.button_template.buttons[1].web_url",
      "options.regions[1]",
      "options.max_recipients",
      "audience.tag_filter.allof",
    ]);
    assert.match(bad[1].description, /did you mean 'webUrl'\?/);
    assert.match(bad[4].description, /did you mean 'allOf'\?/);
    assert.deepEqual(shapeViolations("otn.v1.RecordOptInRequest", {
      pageId: "p", psid: "u", topicKey: "t", token: "x", optInTime: new Date(), kind: v1.GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION,
      topicTitle: undefined, payload: null,
    }), []);
    const named = shapeViolations("otn.v1.RecordOptInRequest", { kind: "GRANT_KIND_ONE_TIME_NOTIFICATION", optInTime: new Date(NaN) });
    assert.deepEqual(named.map((v) => v.field), ["kind", "opt_in_time"]);
    assert.match(named[0].description, /v1\.GrantKind\.GRANT_KIND_ONE_TIME_NOTIFICATION = 1/);
    assert.deepEqual(shapeViolations("otn.v1.ListEligibleRequest", { pageId: "\ud800" }).map((v) => v.field), ["page_id"]);
  });
});
