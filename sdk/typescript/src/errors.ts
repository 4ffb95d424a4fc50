// OtnError: a failed call, with the google.rpc details the service sends decoded.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { Any } from "./gen/google/protobuf/any";
import { BadRequest, BadRequest_FieldViolation, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details";
import { Status } from "./gen/google/rpc/status";
import { ErrorReason } from "./gen/otn/v1/errors";
import { REQUEST_ID_HEADER, RETRY_CANCELLED_AFTER_DEADLINE } from "./gen/client-rules";

export const ERROR_DOMAIN = "otn.v1";
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** The metadata key of a call's request id: sent by the client, answered by the server. */
export const REQUEST_ID_KEY = REQUEST_ID_HEADER;
const REASON_PREFIX = "ERROR_REASON_";

export type FieldViolation = BadRequest_FieldViolation;

/** A decoded detail: ErrorInfo, BadRequest, RetryInfo, or the raw Any for anything else. */
export type ErrorDetail =
  | { type: "ErrorInfo"; value: ErrorInfo }
  | { type: "BadRequest"; value: BadRequest }
  | { type: "RetryInfo"; value: RetryInfo }
  | { type: "Any"; value: Any };

function typeName(a: Any): string {
  return a.typeUrl.slice(a.typeUrl.lastIndexOf("/") + 1);
}

/** Decodes the Any details of a google.rpc.Status; an undecodable detail stays an Any. */
export function decodeDetails(details: Any[]): ErrorDetail[] {
  return details.map((a): ErrorDetail => {
    try {
      switch (typeName(a)) {
        case "google.rpc.ErrorInfo":
          return { type: "ErrorInfo", value: ErrorInfo.decode(a.value) };
        case "google.rpc.BadRequest":
          return { type: "BadRequest", value: BadRequest.decode(a.value) };
        case "google.rpc.RetryInfo":
          return { type: "RetryInfo", value: RetryInfo.decode(a.value) };
      }
    } catch {
      // fall through: keep the raw detail
    }
    return { type: "Any", value: a };
  });
}

/**
 * The generated ErrorReason for an ErrorInfo reason string ("OUTSIDE_WINDOW" ->
 * ErrorReason.ERROR_REASON_OUTSIDE_WINDOW), looked up by name in the generated enum, so reasons
 * added to errors.proto work after `npm run generate`. Unknown or empty: ERROR_REASON_UNSPECIFIED.
 */
export function errorReasonOf(reasonName: string | undefined): ErrorReason {
  if (!reasonName) return ErrorReason.ERROR_REASON_UNSPECIFIED;
  const value = (ErrorReason as unknown as Record<string, unknown>)[REASON_PREFIX + reasonName];
  return typeof value === "number" && value >= 0 ? (value as ErrorReason) : ErrorReason.ERROR_REASON_UNSPECIFIED;
}

/** The ErrorInfo reason string of an ErrorReason (ERROR_REASON_OUTSIDE_WINDOW -> "OUTSIDE_WINDOW"). */
export function errorReasonName(reason: ErrorReason): string {
  const name = ErrorReason[reason] as string | undefined;
  return name?.startsWith(REASON_PREFIX) ? name.slice(REASON_PREFIX.length) : "";
}

export interface OtnErrorInit {
  code: status;
  /** The status message. */
  details: string;
  decodedDetails?: ErrorDetail[] | undefined;
  grpcMetadata?: Metadata | undefined;
  /** Raised by the client itself (local validation), not by the server. */
  local?: boolean | undefined;
  /** The server's `x-request-id` for the call. */
  requestId?: string | undefined;
}

/**
 * A call to otn.v1.NotificationService failed. One class for every failure; switch on `code`
 * (the gRPC status, the discriminant) and `reason` (the generated ErrorReason enum):
 *
 * - `code`: `status.INVALID_ARGUMENT`, ...; `codeName` its name ("INVALID_ARGUMENT").
 * - `reason`: google.rpc.ErrorInfo's reason as `ErrorReason` (`ERROR_REASON_UNSPECIFIED` when
 *   there was no ErrorInfo or its reason is newer than this client's generated enum);
 *   `reasonName` is the raw string ("OUTSIDE_WINDOW", or "" without ErrorInfo); `domain`
 *   ("otn.v1"), `metadata` (ErrorInfo metadata).
 * - `fieldViolations`: google.rpc.BadRequest violations (`field`, `description`), one per bad
 *   field, with the server's field paths; `fields` their names.
 * - `retryDelayMs`: google.rpc.RetryInfo's delay, when sent (UNAVAILABLE).
 * - `local`: true when the client refused the request before sending it (validation).
 * - `attempts`: how many attempts the client made (set by the retry loop; 0 when local).
 * - `requestId`: the server's `x-request-id` for the call (the id of its log line), when answered.
 * - `retryDeadlineMs`: the overall retry deadline, when reaching it is why the call ended.
 *
 * The message is sdk/client-rules.json's error text, the same as the Python client's:
 * `CODE: details [REASON] (field: description; …) (after N attempts)`.
 */
export class OtnError extends Error {
  readonly code: status;
  readonly codeName: string;
  readonly details: string;
  readonly reason: ErrorReason;
  readonly reasonName: string;
  readonly domain: string | undefined;
  readonly metadata: Record<string, string>;
  readonly fieldViolations: FieldViolation[];
  readonly retryDelayMs: number | undefined;
  readonly decodedDetails: ErrorDetail[];
  readonly grpcMetadata: Metadata | undefined;
  readonly local: boolean;
  readonly requestId: string | undefined;
  private attemptCount: number;
  private deadlineMs: number | undefined;

  constructor(init: OtnErrorInit) {
    const decoded = init.decodedDetails ?? [];
    const info = decoded.find((d) => d.type === "ErrorInfo")?.value as ErrorInfo | undefined;
    const codeName = status[init.code] ?? `CODE_${init.code}`;
    super(`${codeName}: ${init.details}`);
    this.name = "OtnError";
    this.code = init.code;
    this.codeName = codeName;
    this.details = init.details;
    this.reasonName = info?.reason ?? "";
    this.reason = errorReasonOf(info?.reason);
    this.domain = info?.domain;
    this.metadata = { ...(info?.metadata ?? {}) };
    this.fieldViolations = decoded.flatMap((d) => (d.type === "BadRequest" ? d.value.fieldViolations : []));
    const retry = decoded.find((d) => d.type === "RetryInfo")?.value as RetryInfo | undefined;
    this.retryDelayMs = retry?.retryDelay
      ? Math.max(0, retry.retryDelay.seconds * 1000 + retry.retryDelay.nanos / 1e6)
      : undefined;
    this.decodedDetails = decoded;
    this.grpcMetadata = init.grpcMetadata;
    this.local = init.local ?? false;
    this.requestId = init.requestId;
    this.attemptCount = this.local ? 0 : 1;
    this.deadlineMs = undefined;
    this.message = this.text();
  }

  /** How many attempts the client made (0: refused locally). */
  get attempts(): number {
    return this.attemptCount;
  }

  /** The overall retry deadline in ms, when reaching it ended the call. */
  get retryDeadlineMs(): number | undefined {
    return this.deadlineMs;
  }

  /** Records how the retries ended (the retry loop calls it); the message follows. */
  setAttempts(attempts: number, retryDeadlineMs?: number): this {
    this.attemptCount = attempts;
    this.deadlineMs = retryDeadlineMs;
    this.message = this.text();
    return this;
  }

  private text(): string {
    let t = `${this.codeName}: ${this.details}`;
    if (this.reasonName) t += ` [${this.reasonName}]`;
    if (this.fieldViolations.length) {
      t += ` (${this.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ")})`;
    }
    const n = `${this.attemptCount} attempt${this.attemptCount === 1 ? "" : "s"}`;
    if (this.deadlineMs !== undefined) t += ` (after ${n}; retry deadline ${this.deadlineMs / 1000} s reached)`;
    else if (this.attemptCount > 1) t += ` (after ${n})`;
    return t;
  }

  /** The names of the bad fields (BadRequest), in order. */
  get fields(): string[] {
    return this.fieldViolations.map((v) => v.field);
  }

  get unimplemented(): boolean {
    return this.code === status.UNIMPLEMENTED;
  }

  /** A local INVALID_ARGUMENT with these violations (what the server would have answered). */
  static invalid(
    violations: FieldViolation[],
    details = "the request is invalid (checked by the client, not sent)",
  ): OtnError {
    return new OtnError({
      code: status.INVALID_ARGUMENT,
      details,
      decodedDetails: [
        { type: "ErrorInfo", value: { reason: "INVALID_FIELD", domain: ERROR_DOMAIN, metadata: {} } },
        { type: "BadRequest", value: { fieldViolations: violations } },
      ],
      local: true,
    });
  }

  /**
   * Builds an OtnError from a grpc-js ServiceError, decoding `grpc-status-details-bin`. With
   * `deadlinePassed` (the call's own deadline had passed), CANCELLED is DEADLINE_EXCEEDED
   * (sdk/client-rules.json `cancelled_after_deadline`, see `classify`).
   */
  static fromServiceError(e: unknown, deadlinePassed = false): OtnError {
    if (e instanceof OtnError) return e;
    const se = (e ?? {}) as Partial<ServiceError>;
    const wire = typeof se.code === "number" ? (se.code as status) : status.UNKNOWN;
    const code =
      wire === status.CANCELLED && deadlinePassed
        ? (status[RETRY_CANCELLED_AFTER_DEADLINE as keyof typeof status] as status)
        : wire;
    const message = se.details ?? se.message ?? String(e);
    const requestId = se.metadata?.get(REQUEST_ID_KEY)?.[0];
    let decoded: ErrorDetail[] = [];
    const raw = se.metadata?.get(STATUS_DETAILS_KEY)?.[0];
    if (raw && typeof raw !== "string") {
      try {
        decoded = decodeDetails(Status.decode(raw).details);
      } catch {
        decoded = []; // malformed details: keep code and message
      }
    }
    return new OtnError({
      code,
      details: message,
      decodedDetails: decoded,
      grpcMetadata: se.metadata,
      requestId: typeof requestId === "string" ? requestId : undefined,
    });
  }
}
