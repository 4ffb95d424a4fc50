// End to end: the TypeScript client against the real otn-server (sandbox page, fresh SQLite).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { v1, type Client } from "@otn/client";
import { Server } from "./server";
import { rejects } from "./rejects";

const PAGE = "sandbox-page";
const TOPIC = "back-in-stock:sku-123";
const PEOPLE = 28; // 25 tagged "vip" (3 pages of 10), 3 untagged
const VIP = 25;
const MAX_RECIPIENTS = 5;

describe("otn client end to end", { timeout: 180_000 }, () => {
  let server: Server;
  let client: Client;
  const run = randomUUID().slice(0, 8);
  const people = Array.from({ length: PEOPLE }, (_, i) => `ts-${run}-${String(i).padStart(2, "0")}`);

  before(async () => {
    server = await Server.start();
    client = server.client();
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  it("records opt-ins and tags recipients", async () => {
    for (const psid of people) {
      const token = await server.issueOtnToken(PAGE, psid);
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
    // includeTotalSize: newer servers count totalSize only when asked (older ones ignore the field)
    const req = { pageId: PAGE, topicKey: TOPIC, tagFilter: { allOf: ["vip"] }, pageSize: 10, includeTotalSize: true };
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
    assert.equal((await client.listEligible({ pageId: PAGE, topicKey: TOPIC, includeTotalSize: true })).totalSize, PEOPLE);
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
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_TOKEN_CONFLICT);
    assert.equal(err.reasonName, "TOKEN_CONFLICT");
    assert.equal((await client.forgetRecipient({ pageId: PAGE, psid })).found, true);
  });

  it("raises the server's field violations, and the same ones locally", async () => {
    const bad = { pageId: PAGE, psid: "ts-someone", topicKey: TOPIC, title: "x".repeat(66), payload: "p\u0007" };
    const remote = await rejects(client.requestOptIn(bad, { validate: false }));
    assert.equal(remote.code, status.INVALID_ARGUMENT);
    assert.equal(remote.local, false);
    assert.equal(remote.attempts, 1);
    assert.equal(remote.reason, v1.ErrorReason.ERROR_REASON_INVALID_FIELD);
    assert.equal(remote.domain, "otn.v1");
    assert.deepEqual(remote.fields, ["title", "payload"]);
    assert.ok(remote.fieldViolations.every((v) => v.description), "a violation without a description");
    const local = await rejects(client.requestOptIn(bad));
    assert.equal(local.local, true);
    assert.deepEqual(local.fields, remote.fields);

    const send = { pageId: "bad page", topicKey: TOPIC, content: { buttonTemplate: { text: "Back", buttons: [] } } };
    const remoteSend = await rejects(client.sendNotification(send, { validate: false }));
    assert.deepEqual(remoteSend.fields, ["page_id", "content.button_template.buttons"]);
    assert.deepEqual((await rejects(client.sendNotification(send))).fields, remoteSend.fields);

    const err = await rejects(client.recordOptIn({ pageId: PAGE, psid: "ts-someone", topicKey: "", token: "t-1" }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_INVALID_FIELD);
    assert.deepEqual(err.fields, ["topic_key"]);
  });

  it("refuses an opt-in request outside the 24-hour window", async () => {
    const err = await rejects(
      client.requestOptIn({ pageId: PAGE, psid: people[0], topicKey: TOPIC, title: "Sneaker X is back" }),
    );
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_OUTSIDE_WINDOW);
    assert.equal(err.attempts, 1, "FAILED_PRECONDITION was retried");
  });

  it("sends a notification and streams a SENT event per recipient", async () => {
    const sent = await client.sendNotification({
      pageId: PAGE,
      topicKey: TOPIC,
      audience: { tagFilter: { allOf: ["vip"] } },
      content: { text: "Sneaker X is back in stock!" },
      options: { maxRecipients: MAX_RECIPIENTS },
    });
    const n = sent.notification!;
    assert.ok(n.requestId, "no request_id was generated");
    const again = await client.sendNotification(
      { requestId: n.requestId, pageId: PAGE, topicKey: TOPIC, audience: { tagFilter: { allOf: ["vip"] } },
        content: { text: "Sneaker X is back in stock!" }, options: { maxRecipients: MAX_RECIPIENTS } },
    );
    assert.equal(again.replayed, true, "the same request_id and body is a replay");
    assert.equal(again.notification?.notificationId, n.notificationId);
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
    } finally {
      clearTimeout(timer);
      stream.cancel();
    }
    assert.equal(sentTo.size, MAX_RECIPIENTS, `SENT events: ${sentTo.size}; events: ${seen.join(", ")}`);
    for (const psid of sentTo) assert.ok(people.slice(0, VIP).includes(psid), psid);
  });
});
