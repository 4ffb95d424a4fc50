// End to end: the TypeScript client against the real otn-server (sandbox page, fresh SQLite).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, OtnError, v1 } from "../src";
import { Server } from "./server";

const PAGE = "sandbox-page";
const TOPIC = "back-in-stock:sku-123";
const PEOPLE = 28; // 25 tagged "vip" (3 pages of 10), 3 untagged
const VIP = 25;
const MAX_RECIPIENTS = 5;

async function rejects(p: Promise<unknown>): Promise<OtnError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OtnError, `not an OtnError: ${e}`);
    return e;
  }
  assert.fail("expected the call to fail");
}

function skipUnimplemented(t: TestContext, what: string, e: OtnError): void {
  const msg = `SKIPPED: ${what} answered UNIMPLEMENTED (${e.details}); the send/stream part runs once sending lands`;
  console.log(msg);
  t.skip(msg);
}

describe("otn client end to end", () => {
  let server: Server;
  let client: Client;
  const run = randomUUID().slice(0, 8);
  const people = Array.from({ length: PEOPLE }, (_, i) => `ts-${run}-${String(i).padStart(2, "0")}`);

  before(async () => {
    server = await Server.start();
    client = new Client(server.target, { timeoutMs: 10_000 });
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  it("records opt-ins and tags recipients", async () => {
    for (const psid of people) {
      const token = (await server.issueOtnToken(PAGE, psid)) ?? `otn-test-${randomUUID()}`;
      const r = await client.recordOptIn({ pageId: PAGE, psid, topicKey: TOPIC, token, topicTitle: "Sneaker X" });
      assert.equal(r.replayed, false);
      assert.equal(r.grant?.psid, psid);
      assert.equal(r.grant?.kind, v1.GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION);
      assert.equal(r.grant?.state, v1.GrantState.GRANT_STATE_ACTIVE);
    }
    for (const psid of people.slice(0, VIP)) {
      const r = await client.updateRecipient({ pageId: PAGE, psid, addTags: ["VIP", "sneakers"], region: "US" });
      assert.deepEqual(r.recipient?.tags, ["sneakers", "vip"]);
      assert.equal(r.recipient?.region, "US");
    }
  });

  it("lists eligible recipients with a tag filter, 10 per page", async () => {
    const req = { pageId: PAGE, topicKey: TOPIC, tagFilter: { allOf: ["vip"] }, pageSize: 10 };
    const pages: v1.ListEligibleResponse[] = [];
    for await (const p of client.listEligiblePages(req)) pages.push(p);
    assert.deepEqual(
      pages.map((p) => p.recipients.length),
      [10, 10, 5],
    );
    for (const p of pages) assert.equal(p.totalSize, VIP);
    assert.equal(pages[2].nextPageToken, "");
    const seen = pages.flatMap((p) => p.recipients.map((e) => e.recipient!.psid));
    assert.equal(new Set(seen).size, seen.length, "a recipient was listed twice");
    assert.deepEqual([...seen].sort(), people.slice(0, VIP).sort());

    const flat: string[] = [];
    for await (const e of client.iterEligible(req)) flat.push(e.recipient!.psid);
    assert.deepEqual(flat, seen);
    const others = await client.listEligible({ pageId: PAGE, topicKey: TOPIC, tagFilter: { noneOf: ["vip"] } });
    assert.deepEqual(others.recipients.map((e) => e.recipient!.psid).sort(), people.slice(VIP).sort());
    assert.equal((await client.listEligible({ pageId: PAGE, topicKey: TOPIC })).totalSize, PEOPLE);
  });

  it("is idempotent on the token and refuses a token conflict", async () => {
    const psid = `ts-${randomUUID().slice(0, 8)}`;
    const token = `otn-test-${randomUUID()}`;
    const topicKey = "back-in-stock:sku-999";
    const first = await client.recordOptIn({ pageId: PAGE, psid, topicKey, token });
    const again = await client.recordOptIn({ pageId: PAGE, psid, topicKey, token });
    assert.equal(again.replayed, true);
    assert.equal(again.grant?.grantId, first.grant?.grantId);
    const err = await rejects(client.recordOptIn({ pageId: PAGE, psid: `${psid}-other`, topicKey, token }));
    assert.equal(err.code, status.ALREADY_EXISTS);
    assert.equal(err.domain, "otn.v1");
    assert.equal(err.reason, "TOKEN_CONFLICT");
    assert.equal((await client.forgetRecipient({ pageId: PAGE, psid })).found, true);
  });

  it("raises typed validation errors", async () => {
    let err = await rejects(
      client.requestOptIn({ pageId: PAGE, psid: "ts-someone", topicKey: TOPIC, title: "x".repeat(66) }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.reason, "INVALID_FIELD");
    assert.equal(err.domain, "otn.v1");
    assert.deepEqual(err.fields, ["title"]);
    assert.ok(err.fieldViolations[0].description);

    err = await rejects(client.recordOptIn({ pageId: PAGE, psid: "ts-someone", topicKey: "", token: "t-1" }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.reason, "INVALID_FIELD");
    assert.ok(err.fields.includes("topic_key"), `fields: ${err.fields}`);
  });

  it("refuses an opt-in request outside the 24-hour window", async () => {
    const err = await rejects(
      client.requestOptIn({ pageId: PAGE, psid: people[0], topicKey: TOPIC, title: "Sneaker X is back" }),
    );
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(err.reason, "OUTSIDE_WINDOW");
  });

  it("sends a notification and streams a SENT event per recipient", async (t) => {
    let sent: v1.SendNotificationResponse;
    try {
      sent = await client.sendNotification({
        pageId: PAGE,
        topicKey: TOPIC,
        audience: { tagFilter: { allOf: ["vip"] } },
        content: { text: "Sneaker X is back in stock!" },
        options: { maxRecipients: MAX_RECIPIENTS },
      });
    } catch (e) {
      if (e instanceof OtnError && e.unimplemented) return skipUnimplemented(t, "SendNotification", e);
      throw e;
    }
    const n = sent.notification!;
    assert.ok(n.notificationId);
    assert.equal(sent.replayed, false);
    assert.equal(n.plan?.grantSends, MAX_RECIPIENTS);
    console.log(`notification ${n.notificationId}: plan ${JSON.stringify(n.plan)}`);
    const got = await client.getNotification({ notificationId: n.notificationId });
    assert.equal(got.notification?.notificationId, n.notificationId);

    const sentTo = new Set<string>();
    const seen: string[] = [];
    const stream = client.streamDeliveryEvents({ notificationId: n.notificationId, afterSequence: 0 });
    const timer = setTimeout(() => stream.cancel(), 30_000); // bounded: fails below instead of hanging
    try {
      for await (const ev of stream) {
        seen.push(`${ev.sequence} ${v1.deliveryEventTypeToJSON(ev.type)} ${ev.psid}`);
        assert.equal(ev.notificationId, n.notificationId);
        if (ev.type === v1.DeliveryEventType.DELIVERY_EVENT_TYPE_SENT) sentTo.add(ev.psid);
        if (sentTo.size === MAX_RECIPIENTS) break;
      }
    } catch (e) {
      if (e instanceof OtnError && e.unimplemented) return skipUnimplemented(t, "StreamDeliveryEvents", e);
      throw e;
    } finally {
      clearTimeout(timer);
      stream.cancel();
    }
    assert.equal(sentTo.size, MAX_RECIPIENTS, `SENT events: ${sentTo.size}; events: ${seen.join(", ")}`);
    for (const psid of sentTo) assert.ok(people.slice(0, VIP).includes(psid), psid);
  });
});
