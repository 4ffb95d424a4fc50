// Which failures are retried, how often and how long to wait: exponential backoff with full
// jitter, or the server's google.rpc.RetryInfo.
import { status } from "@grpc/grpc-js";
import { OtnError } from "./errors";

/**
 * How the client retries a unary call that failed in a way that is safe to repeat.
 *
 * Every call is retried on `UNAVAILABLE`; idempotent calls (reads, and the calls idempotent on
 * their `request_id` or token: RequestOptIn, SendNotification, RecordOptIn) also on `ABORTED`
 * and `DEADLINE_EXCEEDED`. Nothing else is retried. The wait before retry number n is the
 * server's RetryInfo delay when it sent one (a delay above `maxServerDelayMs` ends the retries
 * instead), else a uniformly random time in [0, min(maxBackoffMs, initialBackoffMs ×
 * multiplier^(n-1))] ("full jitter").
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). Default 4. */
  maxAttempts: number;
  /** The backoff ceiling before the first retry, in ms. Default 100. */
  initialBackoffMs: number;
  /** The largest backoff ceiling, in ms. Default 5000. */
  maxBackoffMs: number;
  /** The growth of the ceiling per retry. Default 2. */
  multiplier: number;
  /** The longest RetryInfo delay honoured, in ms; a longer one is not waited for. Default 30000. */
  maxServerDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
  multiplier: 2,
  maxServerDelayMs: 30_000,
});

/** A policy that never retries. */
export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY_POLICY, maxAttempts: 1 });

/** The policy with `overrides` applied and checked. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p: RetryPolicy = { ...base };
  for (const [k, v] of Object.entries(overrides) as [keyof RetryPolicy, number | undefined][]) {
    if (v !== undefined) p[k] = v;
  }
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) {
    throw new RangeError(`RetryPolicy.maxAttempts must be an integer ≥ 1 (got ${p.maxAttempts})`);
  }
  for (const k of ["initialBackoffMs", "maxBackoffMs", "maxServerDelayMs"] as const) {
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
  switch (err.code) {
    case status.UNAVAILABLE:
      return true;
    case status.ABORTED:
    case status.DEADLINE_EXCEEDED:
      return idempotent;
    default:
      return false;
  }
}

/**
 * How long to wait before the next attempt after `err` ended attempt number `attempt`
 * (1-based), or undefined to give up.
 */
export function nextDelayMs(policy: RetryPolicy, idempotent: boolean, attempt: number, err: OtnError): number | undefined {
  if (attempt >= policy.maxAttempts || !isRetryable(err, idempotent)) return undefined;
  if (err.retryDelayMs !== undefined) {
    return err.retryDelayMs > policy.maxServerDelayMs ? undefined : err.retryDelayMs;
  }
  return backoffMs(policy, attempt);
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
