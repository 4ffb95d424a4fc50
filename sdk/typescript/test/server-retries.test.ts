// Retries against the real release server: the sandbox's simulator plays Meta and is told to fail
// (POST /_sim/faults), so RequestOptIn answers what the server answers when Meta does: UNAVAILABLE
// with RetryInfo, a stalled call past the client's deadline, ABORTED for a concurrent attempt
// with the same request_id. Then a server that is down, and back: with the defaults a call simply
// waits for it (wait-for-ready, within the 30 s retry deadline); without wait-for-ready,
// UNAVAILABLE without RetryInfo, where the client's own backoff with full jitter applies. Every
// attempt is seen on the wire (test/recording.ts); what the client made of each failure through
// onRetry.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, v1, type ClientOptions, type RetryEvent, type RetryOverrides } from "@otn/client";
import { Recorder } from "./recording";
import { Server, waitFor } from "./server";
import { rejects } from "./rejects";

const PAGE = "sandbox-page";
const TOPIC = "back-in-stock:sku-retry";
const TITLE = "Tell me when Sneaker X is back";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SERVER_ERROR = { kind: "server_error" }; // Graph API HTTP 500, code 2: Meta did not answer
const RETRY_INFO_MS = 1000; // what the server asks for when Meta did not answer
/** No backoff of the client's own: every wait between attempts is the server's RetryInfo. */
const ONLY_RETRY_INFO: RetryOverrides = { maxAttempts: 4, initialBackoffMs: 0, maxBackoffMs: 0 };

describe("retries against the real server", { timeout: 180_000 }, () => {
  let server: Server;
  const clients: Client[] = [];

  before(async () => {
    server = await Server.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  /** A client of the server whose every attempt `rec` records. */
  function recorded(options: ClientOptions = {}): [Client, Recorder] {
    const rec = new Recorder();
    const client = server.client({ ...options, channelOptions: { interceptors: [rec.interceptor] } });
    clients.push(client);
    return [client, rec];
  }

  /** A new person who just messaged the page (their 24-hour window is open). */
  async function personInWindow(): Promise<string> {
    const psid = `ts-retry-${randomUUID().slice(0, 8)}`;
    await server.sim("message", { page_id: PAGE, psid, text: "Any news on Sneaker X?" });
    return psid;
  }

  /** The opt-in requests the simulated Meta accepted for this person. */
  const optInRequests = (psid: string) =>
    server.sim<{ title: string }[]>(`opt_in_requests?page_id=${PAGE}&psid=${encodeURIComponent(psid)}`);

  const ask = (client: Client, psid: string, requestId?: string) =>
    client.requestOptIn({ pageId: PAGE, psid, topicKey: TOPIC, title: TITLE, requestId });

  it("retries UNAVAILABLE after the RetryInfo delay, with one request_id", async () => {
    const psid = await personInWindow();
    assert.equal(await server.injectFaults(SERVER_ERROR, SERVER_ERROR), 2);
    const [client, rec] = recorded({ retry: ONLY_RETRY_INFO });
    const r = await ask(client, psid); // no requestId given: the client makes one, once

    assert.deepEqual(rec.codes("RequestOptIn"), ["UNAVAILABLE", "UNAVAILABLE", "OK"]);
    const ids = new Set(rec.of("RequestOptIn").map((a) => a.requestId));
    assert.equal(ids.size, 1, `the request_id changed across retries: ${[...ids]}`);
    const [id] = ids;
    assert.match(id ?? "", UUID_V4);
    assert.equal(r.optInRequest?.requestId, id);
    assert.equal(r.replayed, false);
    for (const w of rec.waits("RequestOptIn")) {
      assert.ok(w >= RETRY_INFO_MS - 50 && w < RETRY_INFO_MS + 2000, `RetryInfo is 1 s; waited ${w.toFixed(0)} ms`);
    }
    assert.equal(await server.queuedFaults(), 0, "the server did not call Meta once per attempt");
    assert.deepEqual((await optInRequests(psid)).map((x) => x.title), [TITLE]);
  });

  it("the server refuses a retry under another request_id (why the client keeps it)", async () => {
    const psid = await personInWindow();
    await server.injectFaults(SERVER_ERROR);
    const [client, rec] = recorded({ retry: { maxAttempts: 1 } });
    const first = await rejects(ask(client, psid, "ts-retry-1"));
    assert.equal(first.code, status.UNAVAILABLE);
    assert.equal(first.reason, v1.ErrorReason.ERROR_REASON_GRAPH_API_UNAVAILABLE);
    assert.equal(first.retryDelayMs, RETRY_INFO_MS);
    const other = await rejects(ask(client, psid, "ts-retry-2"));
    assert.equal(other.code, status.FAILED_PRECONDITION);
    assert.equal(other.reason, v1.ErrorReason.ERROR_REASON_OPT_IN_RECENTLY_REQUESTED);
    const again = await ask(client, psid, "ts-retry-1");
    assert.equal(again.optInRequest?.requestId, "ts-retry-1");
    assert.deepEqual(rec.codes("RequestOptIn"), ["UNAVAILABLE", "FAILED_PRECONDITION", "OK"]);
  });

  it("raises at once a RetryInfo delay beyond maxServerDelayMs", async () => {
    const psid = await personInWindow();
    await server.injectFaults(SERVER_ERROR);
    const [client, rec] = recorded({ retry: { maxServerDelayMs: 500 } });
    const started = Date.now();
    const err = await rejects(ask(client, psid));
    assert.ok(Date.now() - started < RETRY_INFO_MS, "waited for a RetryInfo delay beyond maxServerDelayMs");
    assert.equal(err.retryDelayMs, RETRY_INFO_MS);
    assert.equal(err.attempts, 1);
    assert.deepEqual(rec.codes("RequestOptIn"), ["UNAVAILABLE"]);
  });

  it("bounds the attempts", async () => {
    const psid = await personInWindow();
    await server.injectFaults(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, SERVER_ERROR);
    const [client, rec] = recorded({ retry: { maxAttempts: 3, initialBackoffMs: 0, maxBackoffMs: 0 } });
    const err = await rejects(ask(client, psid));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_GRAPH_API_UNAVAILABLE);
    assert.equal(err.attempts, 3);
    assert.deepEqual(rec.codes("RequestOptIn"), ["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"]);
    assert.equal(await server.queuedFaults(), 1);
    await server.injectFaults();
  });

  it("retries an idempotent call after its deadline, with the same request_id", async () => {
    // Meta stalls for 2 s; each attempt has 0.5 s. On the wire the first attempt ends
    // DEADLINE_EXCEEDED (the client's deadline) or CANCELLED (the server's deadline enforcement
    // got there first: tonic's "Timeout expired"); the client classifies both as
    // DEADLINE_EXCEEDED, and that is what is checked.
    const psid = await personInWindow();
    await server.injectFaults({ kind: "timeout", ms: 2000 });
    const retries: RetryEvent[] = [];
    const [client, rec] = recorded({
      timeoutMs: 500,
      retry: { maxAttempts: 6, initialBackoffMs: 50, maxBackoffMs: 200 },
      onRetry: (e) => retries.push(e),
    });
    const r = await ask(client, psid);
    const codes = rec.codes("RequestOptIn");
    assert.ok(codes[0] === "DEADLINE_EXCEEDED" || codes[0] === "CANCELLED", `${codes}`);
    assert.equal(codes[codes.length - 1], "OK", `${codes}`);
    for (const c of codes.slice(1, -1)) assert.ok(["ABORTED", "DEADLINE_EXCEEDED", "CANCELLED"].includes(c), `${codes}`);
    const classified = retries.map((e) => e.codeName);
    assert.equal(classified[0], "DEADLINE_EXCEEDED", `${classified}`);
    for (const c of classified) assert.ok(c === "ABORTED" || c === "DEADLINE_EXCEEDED", `${classified}`);
    assert.equal(classified.length, codes.length - 1);
    assert.deepEqual([...new Set(rec.of("RequestOptIn").map((a) => a.requestId))], [r.optInRequest?.requestId]);
    assert.equal((await optInRequests(psid)).length, 1);
  });

  it("retries ABORTED for an idempotent call (a concurrent attempt with the same request_id)", async () => {
    // Meta stalls the first caller for 1 s; the second, with the same request_id, is answered
    // ABORTED (CONCURRENT_REQUEST) until the first is done, and retried.
    const psid = await personInWindow();
    await server.injectFaults({ kind: "timeout", ms: 1000 });
    const requestId = randomUUID();
    const [first] = recorded();
    const [second, rec] = recorded({ retry: { maxAttempts: 40, initialBackoffMs: 50, maxBackoffMs: 200 } });
    const a = ask(first, psid, requestId);
    await waitFor("the first attempt to reach Meta", async () => ((await server.queuedFaults()) === 0 ? true : undefined), 10_000, 10);
    const b = await ask(second, psid, requestId);
    const ra = await a;
    const codes = rec.codes("RequestOptIn");
    assert.equal(codes[0], "ABORTED", `${codes}`);
    assert.equal(codes[codes.length - 1], "OK", `${codes}`);
    assert.equal(ra.optInRequest?.optInRequestId, b.optInRequest?.optInRequestId);
    assert.equal(b.optInRequest?.requestId, requestId);
    assert.equal((await optInRequests(psid)).length, 1);
  });

  it("never retries a refusal, and keeps the request id the server answered and logged", async () => {
    const [client, rec] = recorded();
    const requestId = `ts-refused-${randomUUID().slice(0, 8)}`;
    const err = await rejects(ask(client, `ts-closed-${randomUUID().slice(0, 6)}`, requestId)); // nobody messaged
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_OUTSIDE_WINDOW);
    assert.deepEqual(rec.codes("RequestOptIn"), ["FAILED_PRECONDITION"]);
    assert.equal(err.attempts, 1);
    assert.equal(err.requestId, requestId, "the server answers the request's request_id as x-request-id");
    await waitFor("the server's log line", () => (server.logText().includes(`"request_id":"${requestId}"`) ? true : undefined), 10_000);
  });

  it("with the defaults, waits out a restart (killed, back 3 s later): a read and a mutation succeed", async () => {
    const [client, rec] = recorded();
    await client.listEligible({ pageId: PAGE, topicKey: TOPIC }); // the channel is up
    await server.kill();
    const back = new Promise<void>((resolve, reject) => setTimeout(() => server.startAgain().then(resolve, reject), 3000));
    const started = Date.now();
    try {
      const r = await client.listEligible({ pageId: PAGE, topicKey: TOPIC });
      const u = await client.updateRecipient({ pageId: PAGE, psid: `ts-deploy-${randomUUID().slice(0, 6)}`, addTags: ["vip"] });
      assert.ok(Array.isArray(r.recipients) && u !== undefined);
    } finally {
      await back;
    }
    const took = Date.now() - started;
    assert.ok(took > 2500 && took < 25_000, `${took} ms`);
    assert.equal(rec.codes("ListEligible").at(-1), "OK");
  });

  it("names the attempts when the retry deadline runs out", async () => {
    const [client, rec] = recorded({ retry: { deadlineMs: 2000 } });
    await client.listEligible({ pageId: PAGE, topicKey: TOPIC });
    await server.kill();
    try {
      const started = Date.now();
      const err = await rejects(client.listEligible({ pageId: PAGE, topicKey: TOPIC }));
      const took = Date.now() - started;
      assert.ok(took > 1500 && took < 10_000, `${took} ms`);
      const n = rec.of("ListEligible").length - 1;
      assert.ok(n >= 1 && err.attempts === n, `${err.attempts} attempts, ${n} on the wire`);
      assert.equal(err.retryDeadlineMs, 2000);
      assert.ok(err.message.endsWith(` (after ${n} attempt${n === 1 ? "" : "s"}; retry deadline 2 s reached)`), err.message);
    } finally {
      await server.startAgain();
    }
  });

  it("retries a server that is down with backoff and full jitter until it is back", async () => {
    // Without wait-for-ready, a call to a server that is down fails at once; no RetryInfo when
    // nobody answers: before retry n the client waits a uniformly random time in
    // [0, min(maxBackoffMs, initialBackoffMs × multiplier^(n-1))].
    const policy = { initialBackoffMs: 50, multiplier: 2, maxBackoffMs: 200 };
    const [client, rec] = recorded({ retry: policy, timeoutMs: 2000, waitForReady: false });
    await client.listEligible({ pageId: PAGE, topicKey: TOPIC }); // the channel is up
    await server.kill();
    const back = new Promise<void>((resolve, reject) => setTimeout(() => server.startAgain().then(resolve, reject), 3000));
    const r = await client.listEligible({ pageId: PAGE, topicKey: TOPIC });
    await back;
    assert.ok(Array.isArray(r.recipients));
    const codes = rec.codes("ListEligible").slice(1);
    assert.equal(codes[codes.length - 1], "OK");
    assert.deepEqual([...new Set(codes.slice(0, -1))], ["UNAVAILABLE"], `${codes}`);
    const waits = rec.waits("ListEligible").slice(1);
    assert.ok(waits.length >= 10, `${waits.length} retries in 3 s`);
    const ceilings = waits.map((_, n) => Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** n));
    const late = waits.filter((w, i) => w > ceilings[i] + 150);
    assert.deepEqual(late, [], "waits beyond their exponential ceiling (+150 ms)");
    const full = waits.filter((_, i) => ceilings[i] === policy.maxBackoffMs).map((w) => w / policy.maxBackoffMs);
    // Full jitter spreads the waits over [0, ceiling]: some short, some long (a fixed or
    // half-jitter backoff fails one of these; the chance of a false alarm is below 1e-4).
    assert.ok(Math.min(...full) < 0.4 && Math.max(...full) > 0.6, `waits / ceiling: ${full.map((x) => x.toFixed(2))}`);
  });
});
