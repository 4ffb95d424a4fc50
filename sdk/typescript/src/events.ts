// The delivery-event stream: follows StreamDeliveryEvents, reconnects by itself and resumes after
// the last event it yielded (no gap, no repeat).
import { status, type ClientReadableStream } from "@grpc/grpc-js";
import { OtnError } from "./errors";
import type { DeliveryEvent } from "./gen/otn/v1/sending";
import type { StreamDeliveryEventsRequest, StreamDeliveryEventsResponse } from "./gen/otn/v1/service";
import { backoffMs, retryPolicy, sleep } from "./retry";

/** When and how often the event stream reconnects. */
export interface ReconnectPolicy {
  /** The backoff ceiling of the first reconnection, in ms (full jitter). Default 200. */
  initialBackoffMs: number;
  /** The largest backoff ceiling, in ms. Default 10000. */
  maxBackoffMs: number;
  /** The growth of the ceiling per failed reconnection in a row. Default 2. */
  multiplier: number;
  /** The longest RetryInfo delay honoured (a longer one is cut to this), in ms. Default 30000. */
  maxServerDelayMs: number;
  /**
   * Give up (throw the last error) after this many failed connections in a row without an event
   * in between. Default Infinity: a dashboard's stream outlives any restart.
   */
  maxConsecutiveFailures: number;
}

export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = Object.freeze({
  initialBackoffMs: 200,
  maxBackoffMs: 10_000,
  multiplier: 2,
  maxServerDelayMs: 30_000,
  maxConsecutiveFailures: Infinity,
});

export interface StreamOptions {
  /** Cancels the stream (the loop ends without an error), like `cancel()`. */
  signal?: AbortSignal;
  /** Bounds the whole stream, reconnections included; it then throws DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  /** Overrides of the client's reconnect policy. */
  reconnect?: Partial<ReconnectPolicy>;
  /** Called before each reconnection: the error that ended the last connection (none when it ended cleanly). */
  onReconnect?: (info: { error?: OtnError; failures: number; delayMs: number; afterSequence: number }) => void;
}

/** Opens one StreamDeliveryEvents call (metadata, deadline) for the stream. */
export type StreamOpener = (
  req: StreamDeliveryEventsRequest,
  deadline: Date | undefined,
) => ClientReadableStream<StreamDeliveryEventsResponse>;

/** Whether a connection's end is one a reconnection can cure. */
export function isReconnectable(e: OtnError): boolean {
  switch (e.code) {
    case status.UNAVAILABLE: // down, restarting, shutting down, connection dropped
    case status.ABORTED:
    case status.DEADLINE_EXCEEDED: // not ours (the caller's own deadline ends the stream)
    case status.CANCELLED: // a reset from the server side (ours is handled before)
      return true;
    case status.INTERNAL:
    case status.UNKNOWN:
      return /RST_STREAM|reset|Stream removed|ECONNRESET|EPIPE|socket hang up/i.test(e.details);
    default:
      return false;
  }
}

/**
 * The events of StreamDeliveryEvents, as an async iterable of DeliveryEvent, in sequence order,
 * each exactly once across reconnections. The stream is live and does not end by itself: `break`
 * out of the loop, call `cancel()` or abort the `signal`. When a connection drops (the server
 * restarts, UNAVAILABLE, a reset, or the call ends without being cancelled) it reconnects with
 * backoff and resumes with `afterSequence` = `lastSequence`. A refusal a reconnection cannot
 * cure (INVALID_ARGUMENT, UNAUTHENTICATED, OUT_OF_RANGE / SEQUENCE_PRUNED, ...) is thrown.
 * Iterate it once.
 */
export class DeliveryEventStream implements AsyncIterable<DeliveryEvent> {
  private last: number;
  private reconnectCount = 0;
  private stopped = false;
  private started = false;
  private call?: ClientReadableStream<StreamDeliveryEventsResponse>;
  private readonly abort = new AbortController();
  private readonly policy: ReconnectPolicy;
  private readonly deadline?: Date;
  private readonly onExternalAbort = () => this.cancel();

  constructor(
    private readonly open: StreamOpener,
    private readonly req: StreamDeliveryEventsRequest,
    private readonly options: StreamOptions = {},
    policy: Partial<ReconnectPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_RECONNECT_POLICY, ...policy, ...(options.reconnect ?? {}) };
    this.last = req.afterSequence;
    if (options.timeoutMs !== undefined) this.deadline = new Date(Date.now() + options.timeoutMs);
    if (options.signal?.aborted) this.stopped = true;
    else options.signal?.addEventListener("abort", this.onExternalAbort, { once: true });
  }

  /** The sequence of the last event yielded (or the `afterSequence` it started after). */
  get lastSequence(): number {
    return this.last;
  }

  /** How many times the stream has reconnected. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Whether the stream was cancelled (or ended). */
  get cancelled(): boolean {
    return this.stopped;
  }

  /** Ends the stream: the loop over it finishes without an error. Safe to call more than once. */
  cancel(): void {
    if (this.stopped && !this.call) return;
    this.stopped = true;
    this.abort.abort();
    this.options.signal?.removeEventListener("abort", this.onExternalAbort);
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<DeliveryEvent> {
    if (this.started) throw new Error("a DeliveryEventStream can be iterated once; subscribe again to start over");
    this.started = true;
    return this.run();
  }

  /** The request of the next connection: after the last event yielded, once there is one. */
  private request(): StreamDeliveryEventsRequest {
    if (this.last > 0) return { ...this.req, afterSequence: this.last, fromNow: false };
    return { ...this.req };
  }

  private deadlinePassed(): boolean {
    return this.deadline !== undefined && Date.now() >= this.deadline.getTime();
  }

  private async *run(): AsyncGenerator<DeliveryEvent, void, undefined> {
    let failures = 0;
    try {
      while (!this.stopped) {
        let ended: OtnError | undefined;
        let call: ClientReadableStream<StreamDeliveryEventsResponse>;
        try {
          call = this.open(this.request(), this.deadline);
        } catch (e) {
          throw OtnError.fromServiceError(e); // e.g. the client was closed
        }
        call.on("error", () => {}); // errors reach the loop; never an unhandled 'error' event
        this.call = call;
        try {
          for await (const msg of call as AsyncIterable<StreamDeliveryEventsResponse>) {
            const ev = msg.event;
            if (!ev || ev.sequence <= this.last) continue; // a repeat after a resume is dropped
            this.last = ev.sequence;
            failures = 0;
            yield ev;
          }
        } catch (e) {
          ended = OtnError.fromServiceError(e);
        } finally {
          if (this.call === call) this.call = undefined;
          call.cancel();
        }
        if (this.stopped) return;
        if (this.deadlinePassed()) {
          throw ended ?? new OtnError({ code: status.DEADLINE_EXCEEDED, details: "the stream's deadline passed" });
        }
        if (ended && !isReconnectable(ended)) throw ended;
        failures++;
        if (failures > this.policy.maxConsecutiveFailures) {
          throw ended ?? new OtnError({ code: status.UNAVAILABLE, details: "the stream kept ending" });
        }
        const delayMs = this.delay(failures, ended);
        this.options.onReconnect?.({ error: ended, failures, delayMs, afterSequence: this.last });
        try {
          await sleep(delayMs, this.abort.signal);
        } catch {
          return; // cancelled while waiting
        }
        this.reconnectCount++;
      }
    } finally {
      this.cancel();
    }
  }

  private delay(failures: number, ended: OtnError | undefined): number {
    if (ended?.retryDelayMs !== undefined) return Math.min(ended.retryDelayMs, this.policy.maxServerDelayMs);
    const p = retryPolicy({
      initialBackoffMs: this.policy.initialBackoffMs,
      maxBackoffMs: this.policy.maxBackoffMs,
      multiplier: this.policy.multiplier,
    });
    return backoffMs(p, failures);
  }
}

