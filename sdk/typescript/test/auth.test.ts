// API keys against the real release server: a wrong key is UNAUTHENTICATED with the generated
// reason API_KEY_INVALID, a key without the scope is PERMISSION_DENIED with SCOPE_MISSING (metadata
// `scope`), a key for other pages PERMISSION_DENIED with PAGE_NOT_ALLOWED, never retried; the event
// stream throws them instead of reconnecting.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { OtnError, v1, type Client } from "@otn/client";
import { Recorder } from "./recording";
import { Server } from "./server";
import { rejects } from "./rejects";

const PAGE = "sandbox-page";
const TOPIC = "back-in-stock:sku-auth";

describe("API keys against the real server", { timeout: 120_000 }, () => {
  let server: Server;
  let readOnlyKey: string;
  const clients: Client[] = [];

  before(async () => {
    server = await Server.start();
    readOnlyKey = server.createApiKey("ts-read-only", ["read"]); // as the fixture makes the full one
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  function client(apiKey: string): [Client, Recorder] {
    const rec = new Recorder();
    const c = server.client({ apiKey, channelOptions: { interceptors: [rec.interceptor] } });
    clients.push(c);
    return [c, rec];
  }

  function wrongKeys(): string[] {
    const valid = server.apiKey!;
    return [valid.slice(0, -4) + (valid.endsWith("0000") ? "1111" : "0000"), "otn_not_a_key"];
  }

  it("a wrong key is UNAUTHENTICATED with reason API_KEY_INVALID, not retried", async () => {
    for (const key of wrongKeys()) {
      const [c, rec] = client(key);
      const err = await rejects(c.listEligible({ pageId: PAGE, topicKey: TOPIC }));
      assert.equal(err.code, status.UNAUTHENTICATED);
      assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_API_KEY_INVALID);
      assert.equal(err.reasonName, "API_KEY_INVALID");
      assert.equal(err.domain, "otn.v1");
      assert.equal(err.attempts, 1);
      assert.deepEqual(rec.codes("ListEligible"), ["UNAUTHENTICATED"]);
      const send = await rejects(c.sendNotification({ pageId: PAGE, topicKey: TOPIC, content: { text: "Back!" } }));
      assert.equal(send.reason, v1.ErrorReason.ERROR_REASON_API_KEY_INVALID);
    }
  });

  it("the event stream throws a wrong key instead of reconnecting", async () => {
    const [c] = client(wrongKeys()[0]);
    const stream = c.streamDeliveryEvents({ pageId: PAGE }, { timeoutMs: 20_000 });
    let thrown: unknown;
    try {
      for await (const _ of stream) assert.fail("an event with a wrong key");
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof OtnError, `${thrown}`);
    assert.equal(thrown.code, status.UNAUTHENTICATED);
    assert.equal(thrown.reason, v1.ErrorReason.ERROR_REASON_API_KEY_INVALID);
    assert.equal(stream.reconnects, 0);
  });

  it("a key without the scope is PERMISSION_DENIED with reason SCOPE_MISSING naming the scope", async () => {
    const [c, rec] = client(readOnlyKey);
    const listed = await c.listEligible({ pageId: PAGE, topicKey: TOPIC }); // `read` is enough
    assert.ok(Array.isArray(listed.recipients));
    const refused: [string, () => Promise<unknown>, string][] = [
      ["RecordOptIn", () => c.recordOptIn({ pageId: PAGE, psid: "ts-auth-1", topicKey: TOPIC, token: "ts-auth-token" }), "consent"],
      ["UpdateRecipient", () => c.updateRecipient({ pageId: PAGE, psid: "ts-auth-1", addTags: ["vip"] }), "consent"],
      ["SendNotification", () => c.sendNotification({ pageId: PAGE, topicKey: TOPIC, content: { text: "Back!" } }), "send"],
      ["ForgetRecipient", () => c.forgetRecipient({ pageId: PAGE, psid: "ts-auth-1" }), "erase"],
    ];
    for (const [rpc, call, scope] of refused) {
      const err = await rejects(call());
      assert.equal(err.code, status.PERMISSION_DENIED, rpc);
      assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_SCOPE_MISSING, rpc);
      assert.equal(err.reasonName, "SCOPE_MISSING", rpc);
      assert.equal(err.metadata.scope, scope, `${rpc}: ${JSON.stringify(err.metadata)}`);
      assert.deepEqual(rec.codes(rpc), ["PERMISSION_DENIED"], `${rpc} was retried`);
    }
  });

  it("a key for other pages is PERMISSION_DENIED with reason PAGE_NOT_ALLOWED", async () => {
    const [c, rec] = client(server.createApiKey("ts-other-page", ["read", "consent"], ["another-page"]));
    const err = await rejects(c.listEligible({ pageId: PAGE, topicKey: TOPIC }));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_PAGE_NOT_ALLOWED);
    assert.equal(err.metadata.page_id, PAGE);
    assert.deepEqual(rec.codes("ListEligible"), ["PERMISSION_DENIED"]);
    let thrown: unknown;
    try {
      for await (const _ of c.streamDeliveryEvents({ pageId: PAGE }, { timeoutMs: 20_000 })) assert.fail("an event");
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof OtnError && thrown.reason === v1.ErrorReason.ERROR_REASON_PAGE_NOT_ALLOWED, `${thrown}`);
  });

  it("the read-only key streams events", async () => {
    const topicKey = `${TOPIC}-stream`;
    const token = await server.issueOtnToken(PAGE, "ts-auth-streamer");
    const [full] = client(server.apiKey!);
    await full.recordOptIn({ pageId: PAGE, psid: "ts-auth-streamer", topicKey, token });
    const [reader] = client(readOnlyKey);
    for await (const ev of reader.streamDeliveryEvents({ topicKey }, { timeoutMs: 30_000 })) {
      assert.equal(ev.type, v1.DeliveryEventType.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED);
      assert.equal(ev.psid, "ts-auth-streamer");
      break;
    }
  });
});
