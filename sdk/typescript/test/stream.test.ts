// The resuming event stream against a fake server that ends, fails and repeats on purpose.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, OtnError, v1 } from "@otn/client";
import { FakeServer, event, statusError } from "./fake-server";
import { waitFor } from "./server";

const FAST = { initialBackoffMs: 1, maxBackoffMs: 5 };

/** Sends events `from`..`to` on a stream call. */
function send(call: { write(m: v1.StreamDeliveryEventsResponse): boolean }, from: number, to: number): void {
  for (let s = from; s <= to; s++) call.write(event(s));
}

describe("event stream (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;

  before(async () => {
    fake = await FakeServer.start();
  });
  beforeEach(() => {
    fake.reset();
    client = new Client(fake.target, { reconnect: FAST });
  });
  afterEach(() => client.close());
  after(() => fake.stop());

  const requests = () => fake.of("streamDeliveryEvents").map((a) => a.request as v1.StreamDeliveryEventsRequest);

  it("resumes after the last event when the stream ends, fails or its connection drops, dropping repeats", async () => {
    fake.onStream = (call, n) => {
      if (n === 1) {
        send(call, 1, 3);
        call.end(); // ends without being cancelled
      } else if (n === 2) {
        send(call, 2, 5); // 2 and 3 repeat what was seen
        call.emit("error", statusError({ code: status.UNAVAILABLE, reason: "SHUTTING_DOWN" }));
      } else if (n === 3) {
        send(call, 6, 7); // then the server crashes (below)
      } else {
        send(call, 8, 9);
      }
    };
    const stream = client.streamDeliveryEvents({ pageId: "fake-page" });
    const seen: number[] = [];
    for await (const ev of stream) {
      seen.push(ev.sequence);
      assert.equal(stream.lastSequence, ev.sequence);
      if (ev.sequence === 7) await fake.restart(); // the connection drops under the open stream
      if (ev.sequence === 9) break;
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(requests().map((r) => [r.afterSequence, r.pageId]), [
      [0, "fake-page"],
      [3, "fake-page"],
      [5, "fake-page"],
      [7, "fake-page"],
    ]);
    assert.equal(stream.reconnects, 3);
    assert.equal(stream.cancelled, true);
  });

  it("starts after the given afterSequence and resumes with fromNow cleared", async () => {
    fake.onStream = (call, n) => {
      const from = call.request.afterSequence + 1;
      send(call, from, from + 1);
      if (n === 1) call.end();
    };
    const stream = client.streamDeliveryEvents({ afterSequence: 41, fromNow: false });
    const seen: number[] = [];
    for await (const ev of stream) if (seen.push(ev.sequence) === 4) break;
    assert.deepEqual(seen, [42, 43, 44, 45]);
    assert.deepEqual(requests().map((r) => r.afterSequence), [41, 43]);

    fake.reset();
    fake.onStream = (call, n) => {
      send(call, n * 10, n * 10);
      if (n === 1) call.end();
    };
    const live = client.streamDeliveryEvents({ fromNow: true });
    const got: number[] = [];
    for await (const ev of live) if (got.push(ev.sequence) === 2) break;
    assert.deepEqual(got, [10, 20]);
    assert.deepEqual(requests().map((r) => [r.fromNow, r.afterSequence]), [[true, 0], [false, 10]]);
  });

  it("waits the RetryInfo delay before reconnecting", async () => {
    fake.onStream = (call, n) => {
      if (n === 1) call.emit("error", statusError({ code: status.UNAVAILABLE, retryDelayMs: 300 }));
      else send(call, 1, 1);
    };
    const stream = client.streamDeliveryEvents({});
    for await (const _ of stream) break;
    const [a, b] = fake.of("streamDeliveryEvents").map((x) => x.at);
    assert.ok(b - a >= 295, `reconnected after ${(b - a).toFixed(1)} ms, RetryInfo said 300`);
  });

  it("reconnects after a CANCELLED from the server side, a transport reset, or a proxy's deadline", async () => {
    for (const [code, details] of [
      [status.CANCELLED, "Received RST_STREAM with code 8"],
      [status.INTERNAL, "Received RST_STREAM with code 2"],
      [status.UNKNOWN, "Stream removed"],
      [status.DEADLINE_EXCEEDED, "Deadline Exceeded"],
    ] as const) {
      fake.reset();
      fake.onStream = (call, n) => {
        send(call, n, n);
        if (n === 1) call.emit("error", statusError({ code, details }));
      };
      const stream = client.streamDeliveryEvents({});
      const seen: number[] = [];
      for await (const ev of stream) if (seen.push(ev.sequence) === 2) break;
      assert.deepEqual(seen, [1, 2], status[code]);
      assert.equal(stream.reconnects, 1, status[code]);
      assert.deepEqual(requests().map((r) => r.afterSequence), [0, 1]);
    }
    fake.reset();
    fake.onStream = (call) => {
      send(call, 1, 1);
      call.emit("error", statusError({ code: status.INTERNAL, details: "internal error" }));
    };
    await assert.rejects(
      (async () => {
        for await (const _ of client.streamDeliveryEvents({})) continue;
      })(),
      (e: unknown) => e instanceof OtnError && e.code === status.INTERNAL,
    );
    assert.equal(fake.of("streamDeliveryEvents").length, 1, "an INTERNAL error that is not a reset reconnected");
  });

  it("throws what a reconnection cannot cure", async () => {
    for (const [code, reason] of [
      [status.INVALID_ARGUMENT, "INVALID_FIELD"],
      [status.OUT_OF_RANGE, "SEQUENCE_PRUNED"],
      [status.UNAUTHENTICATED, "API_KEY_INVALID"],
      [status.PERMISSION_DENIED, "SCOPE_MISSING"],
    ] as const) {
      fake.reset();
      fake.onStream = (call) => {
        send(call, 1, 2);
        call.emit("error", statusError({ code, reason, metadata: { oldest_sequence: "7" } }));
      };
      const stream = client.streamDeliveryEvents({});
      const seen: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const ev of stream) seen.push(ev.sequence);
        })(),
        (e: unknown) => e instanceof OtnError && e.code === code && e.reasonName === reason && e.metadata.oldest_sequence === "7",
      );
      assert.deepEqual(seen, [1, 2]);
      assert.equal(fake.of("streamDeliveryEvents").length, 1, `${status[code]} reconnected`);
    }
  });

  it("gives up after maxConsecutiveFailures connections without an event", async () => {
    fake.onStream = (call) => call.emit("error", statusError({ code: status.UNAVAILABLE }));
    const stream = client.streamDeliveryEvents({}, { reconnect: { maxConsecutiveFailures: 3 } });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) assert.fail("no event was sent");
      })(),
      (e: unknown) => e instanceof OtnError && e.code === status.UNAVAILABLE,
    );
    assert.equal(fake.of("streamDeliveryEvents").length, 4); // the first connection and 3 reconnections
  });

  it("cancel() and an AbortSignal end the loop without an error and close the call", async () => {
    const open: { cancelled: boolean }[] = [];
    fake.onStream = (call) => {
      const state = { cancelled: false };
      open.push(state);
      call.on("cancelled", () => (state.cancelled = true));
      send(call, 1, 1);
    };
    const stream = client.streamDeliveryEvents({});
    const seen: number[] = [];
    for await (const ev of stream) {
      seen.push(ev.sequence);
      stream.cancel();
    }
    assert.deepEqual(seen, [1]);
    await waitFor("the server to see the cancel", () => (open[0]?.cancelled ? true : undefined), 5_000, 10);

    const ctl = new AbortController();
    const aborted = client.streamDeliveryEvents({}, { signal: ctl.signal });
    const got: number[] = [];
    for await (const ev of aborted) {
      got.push(ev.sequence);
      ctl.abort();
    }
    assert.deepEqual(got, [1]);
    assert.equal(aborted.cancelled, true);
    await waitFor("the server to see the abort", () => (open[1]?.cancelled ? true : undefined), 5_000, 10);

    const pre = new AbortController();
    pre.abort();
    for await (const _ of client.streamDeliveryEvents({}, { signal: pre.signal })) assert.fail("an aborted stream yielded");
    assert.equal(fake.of("streamDeliveryEvents").length, 2, "an already aborted stream connected");
  });

  it("can be iterated once", async () => {
    const stream = client.streamDeliveryEvents({});
    stream[Symbol.asyncIterator]();
    assert.throws(() => stream[Symbol.asyncIterator](), /iterated once/);
    stream.cancel();
  });
});
