// Retries you can see (fake server): one x-request-id on every attempt of a call (the request's
// requestId where it has one), the server's answer and the attempt count kept on the error, every
// retry reported to onRetry and the logger, never with the API key. And waitUntilFinal.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, v1, type ClientOptions, type RetryEvent } from "@otn/client";
import { FakeServer, event, fail, ok, unavailable } from "./fake-server";
import { rejects } from "./rejects";

const KEY = "k-secret-visible-never";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("request ids, onRetry, logger, waitUntilFinal (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;
  const connect = (options: ClientOptions = {}) => {
    client?.close();
    client = new Client(fake.target, { apiKey: KEY, retry: { initialBackoffMs: 1, maxBackoffMs: 5 }, ...options });
    return client;
  };
  const sentIds = (method: string) => fake.of(method).map((a) => a.metadata.get("x-request-id")[0]);

  before(async () => {
    fake = await FakeServer.start();
  });
  beforeEach(() => {
    fake.reset();
    connect();
  });
  afterEach(() => client.close());
  after(() => fake.stop());

  it("sends one x-request-id on every attempt and keeps the server's answer and the attempts", async () => {
    fake.script.getNotification = [unavailable(), unavailable(), fail(status.NOT_FOUND, { details: "no" })];
    const err = await rejects(client.getNotification({ notificationId: "n-1" }));
    const ids = sentIds("getNotification");
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 1);
    assert.match(String(ids[0]), UUID_V4);
    assert.equal(err.attempts, 3);
    assert.equal(err.requestId, `fake-${ids[0]}`);
    assert.equal(err.message, "NOT_FOUND: no (after 3 attempts)");
  });

  it("uses a send's requestId as its x-request-id; the caller's own header wins", async () => {
    fake.script.sendNotification = [unavailable(), ok];
    await client.sendNotification({ requestId: "send-42", pageId: "p", topicKey: "t", content: { text: "hi" } });
    assert.deepEqual(sentIds("sendNotification"), ["send-42", "send-42"]);
    await client.listEligible({ pageId: "p", topicKey: "t" }, { metadata: { "x-request-id": "mine" } });
    assert.deepEqual(sentIds("listEligible"), ["mine"]);
  });

  it("sends a UUID when the requestId is not a value metadata can carry", async () => {
    fake.script.sendNotification = [ok];
    const requestId = "not a header value é";
    await client.sendNotification({ requestId, pageId: "p", topicKey: "t", content: { text: "hi" } }, { validate: false });
    assert.match(String(sentIds("sendNotification")[0]), UUID_V4);
    assert.equal(fake.of("sendNotification")[0]!.request.requestId, requestId);
  });

  it("sends one x-request-id on every connection of a stream", async () => {
    fake.onStream = (call, n) => {
      call.write(event(n));
      if (n === 1) call.end();
    };
    connect({ reconnect: { initialBackoffMs: 1, maxBackoffMs: 5 } });
    const seen: number[] = [];
    for await (const ev of client.streamDeliveryEvents({})) if (seen.push(ev.sequence) === 2) break;
    const ids = sentIds("streamDeliveryEvents");
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1]);
    assert.match(String(ids[0]), UUID_V4);
  });

  it("calls onRetry with the method, the attempt, the code and the delay", async () => {
    const events: RetryEvent[] = [];
    connect({ onRetry: (e) => events.push(e), retry: { initialBackoffMs: 0, maxBackoffMs: 0 } });
    fake.script.getNotification = [unavailable(50), fail(status.ABORTED), ok];
    await client.getNotification({ notificationId: "n-1" });
    assert.deepEqual(
      events.map((e) => [e.method, e.attempt, e.codeName, e.delayMs]),
      [["GetNotification", 1, "UNAVAILABLE", 50], ["GetNotification", 2, "ABORTED", 0]],
    );
    assert.deepEqual([...new Set(events.map((e) => e.requestId))], [...new Set(sentIds("getNotification"))]);
    assert.equal(events[0]!.error.code, status.UNAVAILABLE);
  });

  it("an onRetry that throws ends the call", async () => {
    connect({ onRetry: (e) => { throw new Error(`no retry of ${e.method}`); } });
    fake.script.getNotification = [unavailable(), ok];
    await assert.rejects(client.getNotification({ notificationId: "n-1" }), /no retry of GetNotification/);
    assert.equal(fake.of("getNotification").length, 1);
  });

  it("logs each retry in one line, without the API key", async () => {
    const lines: string[] = [];
    connect({ logger: { info: (m) => lines.push(m) } });
    fake.script.requestOptIn = [unavailable(), fail(status.FAILED_PRECONDITION, { details: "closed", reason: "OUTSIDE_WINDOW" })];
    const err = await rejects(client.requestOptIn({ requestId: "opt-7", pageId: "p", psid: "u", topicKey: "t", title: "Tell me" }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^otn RequestOptIn attempt 1 failed with UNAVAILABLE; retrying in \d\.\d{3} s \(x-request-id opt-7\)$/);
    assert.equal(err.message, "FAILED_PRECONDITION: closed [OUTSIDE_WINDOW] (after 2 attempts)");
    assert.ok(!lines.join("").includes(KEY) && !err.message.includes(KEY) && !String(err.stack).includes(KEY));
  });

  it("waitUntilFinal polls until the notification is final", async () => {
    const S = v1.NotificationState;
    for (const final of [S.NOTIFICATION_STATE_COMPLETED, S.NOTIFICATION_STATE_CANCELLED, S.NOTIFICATION_STATE_PLANNED]) {
      fake.reset();
      const states = [S.NOTIFICATION_STATE_SCHEDULED, S.NOTIFICATION_STATE_DISPATCHING, final];
      fake.script.getNotification = states.map((state) => ({ ok: () => ({ notification: { notificationId: "n-1", state } }) }));
      const n = await client.waitUntilFinal("n-1", { pollIntervalMs: 100 });
      assert.equal(n.state, final);
      const at = fake.of("getNotification").map((a) => a.at);
      assert.equal(at.length, 3);
      for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! >= 90, `polled after ${at[i]! - at[i - 1]!} ms`);
    }
  });

  it("waitUntilFinal names the last state when its timeout passes", async () => {
    const dispatching = { ok: () => ({ notification: { notificationId: "n-1", state: v1.NotificationState.NOTIFICATION_STATE_DISPATCHING } }) };
    fake.script.getNotification = Array.from({ length: 50 }, () => dispatching);
    const started = Date.now();
    const err = await rejects(client.waitUntilFinal("n-1", { timeoutMs: 500, pollIntervalMs: 100 }));
    assert.ok(Date.now() - started >= 400 && Date.now() - started < 3000);
    assert.equal(err.message, "DEADLINE_EXCEEDED: notification n-1 is not final after 0.5 s (state NOTIFICATION_STATE_DISPATCHING)");
    assert.ok(fake.of("getNotification").length >= 3);
  });
});
