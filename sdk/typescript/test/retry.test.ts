// Retries, driven the way a caller would: the client against a fake grpc-js server that answers
// UNAVAILABLE (and other codes) a scripted number of times.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, v1, type ClientOptions } from "@otn/client";
import { FakeServer, fail, ok, unavailable } from "./fake-server";
import { waitFor } from "./server";
import { rejects } from "./rejects";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FAST = { initialBackoffMs: 1, maxBackoffMs: 5 }; // backoff far below any RetryInfo delay
const SEND = { pageId: "fake-page", topicKey: "back-in-stock:sku-1", content: { text: "Back in stock" } };

describe("retries (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;
  const connect = (options: ClientOptions = {}) => {
    client?.close();
    client = new Client(fake.target, { retry: FAST, ...options });
    return client;
  };

  before(async () => {
    fake = await FakeServer.start();
  });
  beforeEach(() => {
    fake.reset();
    connect();
  });
  afterEach(() => client.close());
  after(() => fake.stop());

  it("retries UNAVAILABLE with one generated request_id until it succeeds", async () => {
    fake.script.sendNotification = [unavailable(), unavailable(), { ok: (r) => v1.SendNotificationResponse.fromPartial({ notification: { requestId: r.requestId } }) }];
    const res = await client.sendNotification(SEND);
    const attempts = fake.of("sendNotification");
    assert.equal(attempts.length, 3);
    const ids = new Set(attempts.map((a) => a.request.requestId));
    assert.equal(ids.size, 1, `request ids: ${[...ids]}`);
    const [id] = ids;
    assert.match(id, UUID_V4);
    assert.equal(res.notification?.requestId, id);
  });

  it("keeps the caller's request_id on every attempt of RequestOptIn", async () => {
    fake.script.requestOptIn = [unavailable(), unavailable(), unavailable(), ok];
    const req = { requestId: "caller-1", pageId: "fake-page", psid: "p-1", topicKey: "t", title: "Tell me" };
    await client.requestOptIn(req);
    assert.deepEqual(fake.of("requestOptIn").map((a) => a.request.requestId), ["caller-1", "caller-1", "caller-1", "caller-1"]);
  });

  it("two calls get two request_ids", async () => {
    await client.sendNotification(SEND);
    await client.sendNotification(SEND);
    const [a, b] = fake.of("sendNotification").map((x) => x.request.requestId);
    assert.notEqual(a, b);
  });

  it("waits the RetryInfo delay the server asks for", async () => {
    fake.script.sendNotification = [unavailable(400), unavailable(), ok];
    await client.sendNotification(SEND);
    const [first, second, third] = fake.of("sendNotification").map((a) => a.at);
    assert.ok(second - first >= 395, `RetryInfo 400 ms, waited ${(second - first).toFixed(1)} ms`);
    assert.ok(third - second < 300, `no RetryInfo: backoff ≤ 5 ms, waited ${(third - second).toFixed(1)} ms`);
  });

  it("gives up at once when RetryInfo asks for more than maxServerDelayMs", async () => {
    fake.script.listEligible = [unavailable(60_000), ok];
    const started = Date.now();
    const err = await rejects(client.listEligible({ pageId: "fake-page", topicKey: "t" }));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.retryDelayMs, 60_000);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_SHUTTING_DOWN);
    assert.equal(fake.of("listEligible").length, 1);
    assert.ok(Date.now() - started < 5_000);
  });

  it("does not retry what retrying cannot cure", async () => {
    const codes = [
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.ALREADY_EXISTS,
      status.FAILED_PRECONDITION,
      status.PERMISSION_DENIED,
      status.UNAUTHENTICATED,
      status.RESOURCE_EXHAUSTED,
      status.OUT_OF_RANGE,
      status.INTERNAL,
      status.UNKNOWN,
      status.UNIMPLEMENTED,
    ];
    for (const code of codes) {
      fake.reset();
      fake.script.sendNotification = [fail(code), ok];
      const err = await rejects(client.sendNotification(SEND, { validate: false }));
      assert.equal(err.code, code);
      assert.equal(err.attempts, 1);
      assert.equal(fake.of("sendNotification").length, 1, `${status[code]} was retried`);
    }
  });

  it("retries ABORTED and DEADLINE_EXCEEDED only for idempotent calls", async () => {
    const idempotent: [string, (c: Client) => Promise<unknown>][] = [
      ["listEligible", (c) => c.listEligible({ pageId: "p", topicKey: "t" })],
      ["getNotification", (c) => c.getNotification({ notificationId: "n-1" })],
      ["recordOptIn", (c) => c.recordOptIn({ pageId: "p", psid: "u", topicKey: "t", token: "tok" })],
      ["requestOptIn", (c) => c.requestOptIn({ pageId: "p", psid: "u", topicKey: "t", title: "Tell me" })],
      ["sendNotification", (c) => c.sendNotification(SEND)],
    ];
    const others: [string, (c: Client) => Promise<unknown>][] = [
      ["recordInteraction", (c) => c.recordInteraction({ pageId: "p", psid: "u" })],
      ["updateRecipient", (c) => c.updateRecipient({ pageId: "p", psid: "u", addTags: ["vip"] })],
      ["revokeGrant", (c) => c.revokeGrant({ grantId: "g-1" })],
      ["forgetRecipient", (c) => c.forgetRecipient({ pageId: "p", psid: "u" })],
      ["cancelNotification", (c) => c.cancelNotification({ notificationId: "n-1" })],
    ];
    for (const code of [status.ABORTED, status.DEADLINE_EXCEEDED]) {
      for (const [method, call] of idempotent) {
        fake.reset();
        fake.script[method] = [fail(code), ok];
        await call(client);
        assert.equal(fake.of(method).length, 2, `${method} after ${status[code]}`);
      }
      for (const [method, call] of others) {
        fake.reset();
        fake.script[method] = [fail(code), ok];
        assert.equal((await rejects(call(client))).code, code);
        assert.equal(fake.of(method).length, 1, `${method} after ${status[code]} was retried`);
        fake.reset();
        fake.script[method] = [unavailable(), ok];
        await call(client);
        assert.equal(fake.of(method).length, 2, `${method} after UNAVAILABLE`);
      }
    }
  });

  it("retries an idempotent call whose attempt ran past its deadline", async () => {
    fake.script.getNotification = [{ stallMs: 2_000, then: ok }, ok];
    await client.getNotification({ notificationId: "n-1" }, { timeoutMs: 200 });
    assert.equal(fake.of("getNotification").length, 2);
    fake.script.updateRecipient = [{ stallMs: 2_000, then: ok }, ok];
    const err = await rejects(client.updateRecipient({ pageId: "p", psid: "u" }, { timeoutMs: 200 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.equal(fake.of("updateRecipient").length, 1);
  });

  it("bounds the attempts by maxAttempts when it is set", async () => {
    fake.script.listEligible = Array.from({ length: 10 }, () => unavailable());
    let err = await rejects(client.listEligible({ pageId: "p", topicKey: "t" }, { retry: { maxAttempts: 4 } }));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.attempts, 4);
    assert.equal(err.retryDeadlineMs, undefined);
    assert.equal(err.message, "UNAVAILABLE: UNAVAILABLE [SHUTTING_DOWN] (after 4 attempts)");
    assert.equal(fake.of("listEligible").length, 4);

    fake.reset();
    fake.script.listEligible = Array.from({ length: 10 }, () => unavailable());
    err = await rejects(client.listEligible({ pageId: "p", topicKey: "t" }, { retry: { maxAttempts: 2 } }));
    assert.equal(fake.of("listEligible").length, 2);

    fake.reset();
    fake.script.listEligible = Array.from({ length: 10 }, () => unavailable());
    connect({ retry: { ...FAST, maxAttempts: 6 } });
    await rejects(client.listEligible({ pageId: "p", topicKey: "t" }));
    assert.equal(fake.of("listEligible").length, 6);
  });

  it("by default, bounds the attempts by the overall deadline, not by a count", async () => {
    assert.equal(client.retry.maxAttempts, Infinity);
    assert.equal(client.retry.deadlineMs, 30_000);
    fake.script.listEligible = Array.from({ length: 10_000 }, () => unavailable());
    const started = Date.now();
    let retries = 0;
    const err = await rejects(
      client.listEligible({ pageId: "p", topicKey: "t" }, { retry: { deadlineMs: 600 }, onRetry: () => retries++ }),
    );
    const n = err.attempts;
    assert.ok(Date.now() - started >= 500 && Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.ok(n >= 5, `${n} attempts`);
    assert.equal(n, retries + 1);
    // The last attempt, cut to what was left of the deadline, may end before it reaches the server.
    const wire = fake.of("listEligible").length;
    assert.ok(wire === n || wire === n - 1, `${wire} attempts on the wire, ${n} made`);
    assert.equal(err.retryDeadlineMs, 600);
    assert.ok(err.message.endsWith(` (after ${n} attempts; retry deadline 0.6 s reached)`), err.message);
    // UNAVAILABLE, or DEADLINE_EXCEEDED when the last attempt, cut to the deadline, ran out.
    if (err.code === status.UNAVAILABLE) assert.ok(err.message.startsWith("UNAVAILABLE: UNAVAILABLE [SHUTTING_DOWN] ("), err.message);
    else assert.equal(err.code, status.DEADLINE_EXCEEDED);
  });

  it("validates locally: a bad request never reaches the server", async () => {
    const err = await rejects(
      client.sendNotification({ pageId: "has space", topicKey: "t", content: { text: "" }, options: { messageTag: "HUMAN_AGENT" } }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.local, true);
    assert.equal(err.attempts, 0);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_INVALID_FIELD);
    assert.deepEqual(err.fields, ["page_id", "content.text", "options.message_tag"]);
    assert.equal(fake.attempts.length, 0);

    const optIn = await rejects(client.requestOptIn({ pageId: "p", psid: "a/b", topicKey: "t", title: " " }));
    assert.deepEqual(optIn.fields, ["psid", "title"]);
    assert.equal(fake.attempts.length, 0);

    fake.script.sendNotification = [fail(status.INVALID_ARGUMENT, { reason: "INVALID_FIELD", violations: ["content.text"] })];
    const remote = await rejects(client.sendNotification({ ...SEND, content: { text: "" } }, { validate: false }));
    assert.equal(remote.local, false);
    assert.deepEqual(remote.fields, ["content.text"]);
    assert.equal(fake.of("sendNotification").length, 1);
  });

  it("an AbortSignal cancels the wait between attempts", async () => {
    fake.script.listEligible = [unavailable(10_000), ok];
    const ctl = new AbortController();
    const started = Date.now();
    const pending = rejects(client.listEligible({ pageId: "p", topicKey: "t" }, { signal: ctl.signal }));
    // abort once the first attempt has been answered
    await waitFor("the first attempt", () => (fake.of("listEligible").length ? true : undefined), 5_000, 5);
    ctl.abort();
    const err = await pending;
    assert.equal(err.code, status.CANCELLED);
    assert.ok(Date.now() - started < 5_000, "the 10 s RetryInfo wait was not cancelled");
    assert.equal(fake.of("listEligible").length, 1);
  });

  it("sends the API key on every attempt", async () => {
    connect({ apiKey: "key-1" });
    fake.script.recordOptIn = [unavailable(), ok];
    await client.recordOptIn({ pageId: "p", psid: "u", topicKey: "t", token: "tok" });
    const auth = fake.of("recordOptIn").map((a) => a.metadata.get("authorization")[0]);
    assert.deepEqual(auth, ["Bearer key-1", "Bearer key-1"]);
  });
});
