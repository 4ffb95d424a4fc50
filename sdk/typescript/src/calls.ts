// One unary call across its attempts: each attempt's deadline (the client's timeout, cut to the
// retry deadline), one `x-request-id` on every attempt, wait-for-ready, and what follows a failure
// (the wait before the next attempt, reported to `onRetry` and the logger, or the error thrown
// with its attempts and the server's request id). Shared rules: sdk/client-rules.json.
import { randomUUID } from "node:crypto";
import { Metadata, status, type CallOptions as GrpcCallOptions, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { OtnError, REQUEST_ID_KEY } from "./errors";
import { IDEMPOTENT_METHODS, cancelled, decideRetry, sleep, type RetryPolicy } from "./retry";

/** What `onRetry` is called with, before the wait that precedes the next attempt. */
export interface RetryEvent {
  /** The RPC name, e.g. "SendNotification". */
  method: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** Its code, as classified (CANCELLED after the call's own deadline is DEADLINE_EXCEEDED). */
  code: status;
  /** The code's name ("UNAVAILABLE"). */
  codeName: string;
  /** How long the client waits before the next attempt, in ms. */
  delayMs: number;
  /** The `x-request-id` every attempt of the call carries. */
  requestId: string;
  /** The error that ended the attempt. */
  error: OtnError;
}

/** Where retries are logged, one line each (`console` fits). Never given the API key or metadata. */
export interface RetryLogger {
  info(message: string): void;
}

export type UnaryFn<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<GrpcCallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** Everything one unary call needs. */
export interface UnaryCall<Req, Res> {
  /** The RPC name ("GetNotification"): decides which codes are retried. */
  method: string;
  fn: UnaryFn<Req, Res>;
  self: unknown;
  req: Req;
  policy: RetryPolicy;
  timeoutMs: number;
  metadata: Record<string, string>;
  signal: AbortSignal | undefined;
  waitForReady: boolean;
  onRetry: ((event: RetryEvent) => void) | undefined;
  logger: RetryLogger | undefined;
}

/**
 * The `x-request-id` of a call: the caller's (in the metadata), else the request's `requestId`
 * (RequestOptIn, SendNotification), else a new UUID v4.
 */
export function callRequestId(metadata: Record<string, string>, req: unknown): string {
  for (const [k, v] of Object.entries(metadata)) if (k.toLowerCase() === REQUEST_ID_KEY) return v;
  const rid = (req as { requestId?: unknown } | undefined)?.requestId;
  // Only a value metadata can carry (with validate: false a requestId may be anything).
  return typeof rid === "string" && /^[!-~]{1,128}$/.test(rid) ? rid : randomUUID();
}

/** grpc-js Metadata from a record, with the call's `x-request-id`. */
export function metadataWithRequestId(md: Record<string, string>, requestId: string): Metadata {
  const out = new Metadata();
  for (const [k, v] of Object.entries(md)) out.set(k, v);
  if (!out.get(REQUEST_ID_KEY).length) out.set(REQUEST_ID_KEY, requestId);
  return out;
}

/** One attempt: resolves to the response or rejects with an OtnError (classified). */
function attempt<Req, Res>(c: UnaryCall<Req, Res>, md: Metadata, deadlineMs: number): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => call.cancel();
    const call = c.fn.call(c.self, c.req, md, { deadline: new Date(deadlineMs) }, (err, res) => {
      c.signal?.removeEventListener("abort", onAbort);
      if (c.signal?.aborted) reject(cancelled(c.signal));
      else if (err) reject(OtnError.fromServiceError(err, Date.now() >= deadlineMs));
      else resolve(res);
    });
    c.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Every attempt of a unary call, with the same request message and `x-request-id`. */
export async function unary<Req, Res>(c: UnaryCall<Req, Res>): Promise<Res> {
  const requestId = callRequestId(c.metadata, c.req);
  const md = metadataWithRequestId(c.metadata, requestId);
  if (c.waitForReady) md.setOptions({ waitForReady: true }); // grpc-js takes it as a metadata option
  const idempotent = IDEMPOTENT_METHODS.has(c.method);
  const started = Date.now();
  const end = started + c.policy.deadlineMs;
  for (let n = 1; ; n++) {
    if (c.signal?.aborted) throw cancelled(c.signal).setAttempts(n - 1);
    try {
      return await attempt(c, md, Math.min(Date.now() + c.timeoutMs, end));
    } catch (e) {
      const err = OtnError.fromServiceError(e);
      if (err.local) throw err.setAttempts(n);
      const { delayMs, deadlineReached } = decideRetry(c.policy, idempotent, n, err, Date.now() - started);
      if (delayMs === undefined) throw err.setAttempts(n, deadlineReached ? c.policy.deadlineMs : undefined);
      // Never the metadata (it holds the API key): the method, the attempt, the code, the id.
      c.logger?.info(
        `otn ${c.method} attempt ${n} failed with ${err.codeName}; retrying in ${(delayMs / 1000).toFixed(3)} s (x-request-id ${requestId})`,
      );
      c.onRetry?.({ method: c.method, attempt: n, code: err.code, codeName: err.codeName, delayMs, requestId, error: err });
      await sleep(delayMs, c.signal).catch((x: OtnError) => {
        throw x.setAttempts(n);
      });
    }
  }
}

/** The DEADLINE_EXCEEDED of a wait that ran out (waitUntilFinal). */
export function notFinalError(notificationId: string, timeoutMs: number, state: string): OtnError {
  return new OtnError({
    code: status.DEADLINE_EXCEEDED,
    details: `notification ${notificationId} is not final after ${timeoutMs / 1000} s (state ${state})`,
    local: true,
  });
}
