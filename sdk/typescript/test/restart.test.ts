// The event stream across a real server restart: subscribe, record opt-ins, stop the release
// server (SIGKILL: a crash; SIGTERM: a graceful shutdown), start it again on the same database and
// ports, record more; the stream must see every event exactly once, in order, across the restart,
// and exactly the events of the durable log (checked by sequence).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { v1, type Client, type DeliveryEventStream } from "@otn/client";
import { Server, waitFor } from "./server";

const PAGE = "sandbox-page";
const BEFORE = 6; // opt-ins before the crash
const DURING = 4; // recorded after the restart while the stream is held disconnected: from the log
const AFTER = 5; // recorded once the stream is back: live

for (const graceful of [false, true]) describe(`event stream across a server restart (${graceful ? "SIGTERM" : "SIGKILL"})`, { timeout: 180_000 }, () => {
  let server: Server;
  let client: Client;
  let producer: Client;
  const topicKey = `restart:${randomUUID().slice(0, 8)}`;
  const psids = Array.from({ length: BEFORE + DURING + AFTER }, (_, i) => `ts-restart-${String(i).padStart(2, "0")}`);

  before(async () => {
    server = await Server.start();
    // The stream's client reconnects quickly (a caller tunes the same knobs).
    client = server.client({ reconnect: { initialBackoffMs: 50, maxBackoffMs: 500 }, channelOptions: { "grpc.max_reconnect_backoff_ms": 500 } });
  });

  after(async () => {
    client?.close();
    producer?.close();
    await server?.stop();
  });

  async function record(range: string[]): Promise<void> {
    for (const psid of range) {
      const r = await producer.recordOptIn({ pageId: PAGE, psid, topicKey, token: `otn-restart-${randomUUID()}` });
      assert.equal(r.replayed, false);
    }
  }

  it("resumes with no gap and no repeat", async () => {
    producer = server.client();
    const stream: DeliveryEventStream = client.streamDeliveryEvents({ pageId: PAGE, topicKey, afterSequence: 0 });
    const seen: v1.DeliveryEvent[] = [];
    let failure: unknown;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumer = (async () => {
      try {
        for await (const ev of stream) {
          seen.push(ev);
          // A slow consumer: it pulls again only once the DURING events are in the log, so they
          // can only reach it through the resume after the crash.
          if (seen.length === BEFORE) await gate;
        }
      } catch (e) {
        failure = e;
      }
    })();
    const saw = (n: number) => () => {
      if (failure) throw failure;
      return seen.length >= n ? true : undefined;
    };

    await record(psids.slice(0, BEFORE));
    await waitFor(`${BEFORE} events before the crash`, saw(BEFORE), 30_000);
    const lastBefore = stream.lastSequence;

    await server.restart(graceful); // SIGKILL or SIGTERM, then the same database and ports
    producer.close();
    producer = server.client();
    await record(psids.slice(BEFORE, BEFORE + DURING));
    assert.equal(stream.reconnects, 0, "the consumer was held: it cannot have reconnected yet");
    release();
    await waitFor("the stream to reconnect", () => (stream.reconnects > 0 ? true : undefined), 30_000);
    await record(psids.slice(BEFORE + DURING));
    await waitFor(`all ${psids.length} events`, saw(psids.length), 30_000);

    stream.cancel();
    await consumer;
    assert.equal(failure, undefined, `the stream failed: ${failure}`);

    const seqs = seen.map((e) => e.sequence);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `not strictly increasing: ${seqs}`);
    assert.equal(new Set(seqs).size, seqs.length, `a repeat: ${seqs}`);
    assert.deepEqual(seen.map((e) => e.psid), psids, "the events are the opt-ins, in order, once each");
    for (const e of seen) assert.equal(e.type, v1.DeliveryEventType.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED);
    assert.ok(stream.reconnects >= 1, "the stream never reconnected");
    assert.ok(seqs[BEFORE] > lastBefore);
    assert.equal(stream.lastSequence, seqs[seqs.length - 1]);

    // No gap: the durable log holds exactly these events for the topic.
    const replay = client.streamDeliveryEvents({ pageId: PAGE, topicKey, afterSequence: 0 });
    const logged: number[] = [];
    for await (const ev of replay) if (logged.push(ev.sequence) === seqs.length) break;
    assert.deepEqual(logged, seqs);
  });
});
