// Deadlines against a fake server: the overall retry deadline bounds a call and is named in the
// error; an attempt's deadline is cut to what is left of it; and a call that ends CANCELLED after
// its own deadline (the server's deadline enforcement won the race, as tonic's "Timeout expired"
// does) is classified and retried as DEADLINE_EXCEEDED, whatever code the wire showed.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { InterceptingCall, status, type Interceptor } from "@grpc/grpc-js";
import { Client, classify, type ClientOptions, type RetryEvent } from "@otn/client";
import { FakeServer, fail, ok } from "./fake-server";
import { rejects } from "./rejects";

/**
 * Gives the transport 5 s more than the call's deadline: a server answering CANCELLED just after
 * the client's own deadline is then what the client sees.
 */
const stretch: Interceptor = (options, nextCall) => {
  const deadline = options.deadline instanceof Date ? options.deadline.getTime() : Number(options.deadline);
  return new InterceptingCall(nextCall({ ...options, deadline: new Date(deadline + 5000) }));
};

describe("deadlines (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;
  const connect = (options: ClientOptions = {}) => {
    client?.close();
    client = new Client(fake.target, { retry: { initialBackoffMs: 20, maxBackoffMs: 50 }, ...options });
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

  it("cuts an attempt to what is left of the retry deadline", async () => {
    fake.script.getNotification = [{ stallMs: 5000, then: ok }];
    const started = Date.now();
    const err = await rejects(client.getNotification({ notificationId: "n-1" }, { timeoutMs: 10_000, retry: { deadlineMs: 500 } }));
    assert.ok(Date.now() - started < 3000);
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.equal(err.attempts, 1);
    assert.ok(err.message.endsWith(" (after 1 attempt; retry deadline 0.5 s reached)"), err.message);
  });

  it("retries as DEADLINE_EXCEEDED a call that ends CANCELLED after its own deadline", async () => {
    connect({ channelOptions: { interceptors: [stretch] } });
    fake.script.getNotification = [{ stallMs: 500, then: fail(status.CANCELLED, { details: "Timeout expired" }) }, ok];
    const events: RetryEvent[] = [];
    await client.getNotification({ notificationId: "n-1" }, { timeoutMs: 200, onRetry: (e) => events.push(e) });
    assert.equal(fake.of("getNotification").length, 2);
    assert.deepEqual(events.map((e) => [e.attempt, e.codeName]), [[1, "DEADLINE_EXCEEDED"]]);
  });

  it("a mutation that ends CANCELLED after its deadline rejects with DEADLINE_EXCEEDED, not retried", async () => {
    connect({ channelOptions: { interceptors: [stretch] } });
    fake.script.cancelNotification = [{ stallMs: 500, then: fail(status.CANCELLED, { details: "Timeout expired" }) }, ok];
    const err = await rejects(client.cancelNotification({ notificationId: "n-1" }, { timeoutMs: 200 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.equal(err.details, "Timeout expired");
    assert.equal(fake.of("cancelNotification").length, 1);
  });

  it("CANCELLED before the deadline stays CANCELLED", async () => {
    fake.script.getNotification = [fail(status.CANCELLED, { details: "Timeout expired" }), ok];
    const err = await rejects(client.getNotification({ notificationId: "n-1" }, { timeoutMs: 5000 }));
    assert.equal(err.code, status.CANCELLED);
    assert.equal(fake.of("getNotification").length, 1);
  });

  it("classify", () => {
    assert.equal(classify(status.CANCELLED, true), status.DEADLINE_EXCEEDED);
    assert.equal(classify(status.CANCELLED, false), status.CANCELLED);
    assert.equal(classify(status.CANCELLED, true, true), status.CANCELLED);
    assert.equal(classify(status.UNAVAILABLE, true), status.UNAVAILABLE);
  });
});
