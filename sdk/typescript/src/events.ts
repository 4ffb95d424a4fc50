// The delivery-event stream: follows StreamDeliveryEvents, reconnects by itself and resumes after
// the last event it yielded (no gap, no repeat). When it reconnects, and how long it waits, are
// sdk/client-rules.json's `stream` rules, shared with the Python client.
import { status, type ClientReadableStream } from "@grpc/grpc-js";
import { OtnError } from "./errors";
import * as CR from "./gen/client-rules";
import type { DeliveryEvent } from "./gen/otn/v1/sending";
import type { StreamDeliveryEventsRequest, StreamDeliveryEventsResponse } from "./gen/otn/v1/service";
import { backoffMs, retryPolicy, sleep } from "./retry";

/** When and how often the event stream reconnects. */
export interface ReconnectPolicy {
  /** The backoff ceiling of the first reconnection, in ms (full jitter). Default 200. */
  initialBackoffMs: number;
  /** The largest backoff ceiling, in ms. Default 5000. */
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
  initialBackoffMs: CR.STREAM_INITIAL_BACKOFF_MS,
  maxBackoffMs: CR.STREAM_MAX_BACKOFF_MS,
  multiplier: CR.STREAM_MULTIPLIER,
  maxServerDelayMs: CR.STREAM_MAX_RETRY_INFO_DELAY_MS,
  maxConsecutiveFailures: Infinity,
});

/** Overrides of a reconnect policy: any subset, `undefined` meaning "keep". */
export type ReconnectOverrides = { [K in keyof ReconnectPolicy]?: ReconnectPolicy[K] | undefined };

/** What `onReconnect` is called with. */
export interface ReconnectInfo {
  /** The error that ended the last connection (undefined when it ended cleanly). */
  error: OtnError | undefined;
  failures: number;
  delayMs: number;
  afterSequence: number;
}

export interface StreamOptions {
  /** Cancels the stream (the loop ends without an error), like `cancel()`. */
  signal?: AbortSignal | undefined;
  /** Bounds the whole stream, reconnections included; it then throws DEADLINE_EXCEEDED. */
  timeoutMs?: number | undefined;
  /** Overrides of the client's reconnect policy. */
  reconnect?: ReconnectOverrides | undefined;
  /** Called before each reconnection: the error that ended the last connection (none when it ended cleanly). */
  onReconnect?: ((info: ReconnectInfo) => void) | undefined;
}

/** Opens one StreamDeliveryEvents call (metadata, deadline) for the stream. */
export type StreamOpener = (
  req: StreamDeliveryEventsRequest,
  deadline: Date | undefined,
) => ClientReadableStream<StreamDeliveryEventsResponse>;

const codes = (names: readonly string[]): ReadonlySet<status> =>
  new Set(names.map((n) => status[n as keyof typeof status] as status));
const RECONNECT_CODES = codes(CR.STREAM_RECONNECT_CODES);
const RESET_CODES = codes(CR.STREAM_RESET_CODES);
const RESET = new RegExp(CR.STREAM_RESET_PATTERN, "i");

/**
 * Whether a connection's end is one a reconnection can cure: a clean end (no error), UNAVAILABLE
 * (down, restarting), ABORTED, CANCELLED from the server side (ours is handled before), a
 * DEADLINE_EXCEEDED that is not the stream's own, or a transport reset (INTERNAL / UNKNOWN with
 * RST_STREAM, ECONNRESET, …).
 */
export function isReconnectable(e: OtnError | undefined, ownDeadlinePassed = false): boolean {
  if (e === undefined) return true;
  if (e.code === status.DEADLINE_EXCEEDED && ownDeadlinePassed) return false;
  if (RECONNECT_CODES.has(e.code)) return true;
  return RESET_CODES.has(e.code) && RESET.test(e.details);
}

/** The wait before reconnecting after `failures` failed connections in a row, in ms. */
export function reconnectDelayMs(
  policy: ReconnectPolicy,
  failures: number,
  ended: OtnError | undefined,
  random: () => number = Math.random,
): number {
  if (ended?.retryDelayMs !== undefined) return Math.min(ended.retryDelayMs, policy.maxServerDelayMs);
  const p = retryPolicy({
    initialBackoffMs: policy.initialBackoffMs,
    maxBackoffMs: policy.maxBackoffMs,
    multiplier: policy.multiplier,
  });
  return backoffMs(p, failures, random);
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
  private call: ClientReadableStream<StreamDeliveryEventsResponse> | undefined;
  private readonly abort = new AbortController();
  private readonly policy: ReconnectPolicy;
  private readonly deadline: Date | undefined;
  private readonly onExternalAbort = () => this.cancel();

  constructor(
    private readonly open: StreamOpener,
    private readonly req: StreamDeliveryEventsRequest,
    private readonly options: StreamOptions = {},
    policy: ReconnectOverrides = {},
  ) {
    this.policy = { ...DEFAULT_RECONNECT_POLICY };
    for (const o of [policy, options.reconnect ?? {}]) {
      for (const [k, v] of Object.entries(o) as [keyof ReconnectPolicy, number | undefined][]) if (v !== undefined) this.policy[k] = v;
    }
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
          throw ended?.code === status.DEADLINE_EXCEEDED
            ? ended
            : new OtnError({ code: status.DEADLINE_EXCEEDED, details: "the stream's deadline passed" });
        }
        if (!isReconnectable(ended)) throw ended;
        failures++;
        if (failures > this.policy.maxConsecutiveFailures) {
          throw ended ?? new OtnError({ code: status.UNAVAILABLE, details: "the stream kept ending" });
        }
        const delayMs = reconnectDelayMs(this.policy, failures, ended);
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
}

