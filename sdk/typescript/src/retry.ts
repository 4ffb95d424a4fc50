// Which failures are retried, how long to wait, and for how long in all: exponential backoff with
// full jitter, or the server's google.rpc.RetryInfo, within an overall deadline. The numbers and
// the rules come from sdk/client-rules.json (src/gen/client-rules.ts), shared with the Python client.
import { status } from "@grpc/grpc-js";
import { OtnError } from "./errors";
import * as CR from "./gen/client-rules";

/**
 * How the client retries a unary call that failed in a way that is safe to repeat.
 *
 * Every call is retried on `UNAVAILABLE`; idempotent calls (reads, and the calls idempotent on
 * their `request_id` or token: RequestOptIn, SendNotification, RecordOptIn) also on `ABORTED`
 * and `DEADLINE_EXCEEDED`. Nothing else is retried. Attempts are bounded by `deadlineMs` from
 * the first attempt, waits included (each attempt's timeout is cut to what is left), not by a
 * small count. The wait before retry number n is the server's RetryInfo delay when it sent one
 * (a delay above `maxServerDelayMs`, or one that would end past the deadline, ends the retries
 * instead), else a uniformly random time in [0, min(maxBackoffMs, initialBackoffMs ×
 * multiplier^(n-1))] ("full jitter").
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). Default Infinity: the deadline bounds. */
  maxAttempts: number;
  /** The backoff ceiling before the first retry, in ms. Default 100. */
  initialBackoffMs: number;
  /** The largest backoff ceiling, in ms. Default 5000. */
  maxBackoffMs: number;
  /** The growth of the ceiling per retry. Default 2. */
  multiplier: number;
  /** The longest RetryInfo delay honoured, in ms; a longer one is not waited for. Default 30000. */
  maxServerDelayMs: number;
  /** The overall deadline of a call, attempts and waits together, in ms. Default 30000; Infinity: none. */
  deadlineMs: number;
}

/** Overrides of a policy: any subset, `undefined` meaning "keep". */
export type RetryOverrides = { [K in keyof RetryPolicy]?: RetryPolicy[K] | undefined };

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: CR.RETRY_MAX_ATTEMPTS ?? Infinity,
  initialBackoffMs: CR.RETRY_INITIAL_BACKOFF_MS,
  maxBackoffMs: CR.RETRY_MAX_BACKOFF_MS,
  multiplier: CR.RETRY_MULTIPLIER,
  maxServerDelayMs: CR.RETRY_MAX_RETRY_INFO_DELAY_MS,
  deadlineMs: CR.RETRY_DEADLINE_MS,
});

/** A policy that never retries. */
export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY_POLICY, maxAttempts: 1 });

/** The methods (RPC names) retried on ABORTED and DEADLINE_EXCEEDED too. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(CR.RETRY_IDEMPOTENT_METHODS);

const codes = (names: readonly string[]): ReadonlySet<status> =>
  new Set(names.map((n) => status[n as keyof typeof status] as status));
const EVERY_CALL = codes(CR.RETRY_RETRIED_CODES_EVERY_CALL);
const IDEMPOTENT_CALLS = codes(CR.RETRY_RETRIED_CODES_IDEMPOTENT_CALLS);

/** The policy with `overrides` applied and checked. */
export function retryPolicy(overrides: RetryOverrides = {}, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p: RetryPolicy = { ...base };
  for (const [k, v] of Object.entries(overrides) as [keyof RetryPolicy, number | undefined][]) {
    if (v !== undefined) p[k] = v;
  }
  if (!(p.maxAttempts === Infinity || (Number.isInteger(p.maxAttempts) && p.maxAttempts >= 1))) {
    throw new RangeError(`RetryPolicy.maxAttempts must be an integer ≥ 1 or Infinity (got ${p.maxAttempts})`);
  }
  for (const k of ["initialBackoffMs", "maxBackoffMs", "maxServerDelayMs", "deadlineMs"] as const) {
    if (!(p[k] >= 0)) throw new RangeError(`RetryPolicy.${k} must be ≥ 0 (got ${p[k]})`);
  }
  if (!(p.multiplier >= 1)) throw new RangeError(`RetryPolicy.multiplier must be ≥ 1 (got ${p.multiplier})`);
  return p;
}

/** The backoff ceiling before retry number `retry` (1 for the first retry), without jitter. */
export function backoffCeilingMs(policy: RetryPolicy, retry: number): number {
  const exp = Math.pow(policy.multiplier, Math.max(0, Math.min(retry - 1, 1000)));
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * exp);
}

/** Full jitter: uniform in [0, ceiling]. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return random() * backoffCeilingMs(policy, retry);
}

/** Whether a failure of a call may be retried at all. */
export function isRetryable(err: OtnError, idempotent: boolean): boolean {
  if (err.local) return false;
  return (idempotent ? IDEMPOTENT_CALLS : EVERY_CALL).has(err.code);
}

/**
 * The code a failed call is treated as: CANCELLED after the call's own deadline passed, and not
 * cancelled by the caller, is DEADLINE_EXCEEDED whatever the wire said (the server's deadline
 * enforcement raced the client's: tonic answers CANCELLED "Timeout expired"); anything else is itself.
 */
export function classify(code: status, deadlinePassed: boolean, callerCancelled = false): status {
  if (code === status.CANCELLED && deadlinePassed && !callerCancelled) {
    return status[CR.RETRY_CANCELLED_AFTER_DEADLINE as keyof typeof status] as status;
  }
  return code;
}

/** What ends the retries, or the wait before the next attempt. */
export interface RetryDecision {
  /** The wait before the next attempt in ms, or undefined to give up. */
  delayMs: number | undefined;
  /** True when the overall deadline is why the retries end. */
  deadlineReached: boolean;
}

/**
 * The decision after `err` ended attempt number `attempt` (1-based), `elapsedMs` after the first
 * attempt began.
 */
export function decideRetry(
  policy: RetryPolicy,
  idempotent: boolean,
  attempt: number,
  err: OtnError,
  elapsedMs = 0,
  random: () => number = Math.random,
): RetryDecision {
  const reached = elapsedMs >= policy.deadlineMs;
  if (!isRetryable(err, idempotent) || reached) return { delayMs: undefined, deadlineReached: reached };
  if (attempt >= policy.maxAttempts) return { delayMs: undefined, deadlineReached: false };
  let delay: number;
  if (err.retryDelayMs !== undefined) {
    if (err.retryDelayMs > policy.maxServerDelayMs) return { delayMs: undefined, deadlineReached: false };
    delay = err.retryDelayMs;
  } else {
    delay = backoffMs(policy, attempt, random);
  }
  if (elapsedMs + delay >= policy.deadlineMs) return { delayMs: undefined, deadlineReached: true };
  return { delayMs: delay, deadlineReached: false };
}

/** The delay of {@link decideRetry} alone: how long to wait, or undefined to give up. */
export function nextDelayMs(
  policy: RetryPolicy,
  idempotent: boolean,
  attempt: number,
  err: OtnError,
  elapsedMs = 0,
  random: () => number = Math.random,
): number | undefined {
  return decideRetry(policy, idempotent, attempt, err, elapsedMs, random).delayMs;
}

/** Resolves after `ms`, or rejects with a CANCELLED OtnError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The error of a call the caller cancelled. */
export function cancelled(signal?: AbortSignal): OtnError {
  const why = signal?.reason instanceof Error ? `: ${signal.reason.message}` : "";
  return new OtnError({ code: status.CANCELLED, details: `cancelled by the caller${why}`, local: true });
}
