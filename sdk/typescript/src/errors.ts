// OtnError: a failed call, with the google.rpc details the service sends decoded.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { Any } from "./gen/google/protobuf/any";
import { BadRequest, BadRequest_FieldViolation, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details";
import { Status } from "./gen/google/rpc/status";

export const ERROR_DOMAIN = "otn.v1";
const STATUS_DETAILS_KEY = "grpc-status-details-bin";

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

/** Decodes the Any details of a google.rpc.Status. */
export function decodeDetails(details: Any[]): ErrorDetail[] {
  return details.map((a): ErrorDetail => {
    switch (typeName(a)) {
      case "google.rpc.ErrorInfo":
        return { type: "ErrorInfo", value: ErrorInfo.decode(a.value) };
      case "google.rpc.BadRequest":
        return { type: "BadRequest", value: BadRequest.decode(a.value) };
      case "google.rpc.RetryInfo":
        return { type: "RetryInfo", value: RetryInfo.decode(a.value) };
      default:
        return { type: "Any", value: a };
    }
  });
}

/**
 * A call to otn.v1.NotificationService failed.
 *
 * - `code`: the gRPC status code (`status.INVALID_ARGUMENT`, ...); `codeName` its name.
 * - `reason`, `domain`, `metadata`: google.rpc.ErrorInfo (e.g. "INVALID_FIELD", "otn.v1");
 *   `reason` is undefined when the status carried no ErrorInfo (e.g. UNIMPLEMENTED).
 * - `fieldViolations`: google.rpc.BadRequest violations (`field`, `description`), one per bad field.
 * - `retryDelayMs`: google.rpc.RetryInfo, when sent (UNAVAILABLE).
 */
export class OtnError extends Error {
  readonly code: status;
  readonly codeName: string;
  readonly details: string;
  readonly reason?: string;
  readonly domain?: string;
  readonly metadata: Record<string, string>;
  readonly fieldViolations: FieldViolation[];
  readonly retryDelayMs?: number;
  readonly decodedDetails: ErrorDetail[];
  readonly grpcMetadata?: Metadata;

  constructor(code: status, details: string, decoded: ErrorDetail[] = [], grpcMetadata?: Metadata) {
    const info = decoded.find((d) => d.type === "ErrorInfo")?.value as ErrorInfo | undefined;
    const codeName = status[code] ?? `CODE_${code}`;
    super(`${codeName}: ${details}${info ? ` [${info.reason}]` : ""}`);
    this.name = "OtnError";
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.reason = info?.reason;
    this.domain = info?.domain;
    this.metadata = { ...(info?.metadata ?? {}) };
    this.fieldViolations = decoded.flatMap((d) => (d.type === "BadRequest" ? d.value.fieldViolations : []));
    const retry = decoded.find((d) => d.type === "RetryInfo")?.value as RetryInfo | undefined;
    if (retry?.retryDelay) {
      this.retryDelayMs = retry.retryDelay.seconds * 1000 + retry.retryDelay.nanos / 1e6;
    }
    this.decodedDetails = decoded;
    this.grpcMetadata = grpcMetadata;
  }

  /** The names of the bad fields (BadRequest), in order. */
  get fields(): string[] {
    return this.fieldViolations.map((v) => v.field);
  }

  get unimplemented(): boolean {
    return this.code === status.UNIMPLEMENTED;
  }

  /** Builds an OtnError from a grpc-js ServiceError, decoding `grpc-status-details-bin`. */
  static fromServiceError(e: Partial<ServiceError> | Error): OtnError {
    if (e instanceof OtnError) return e;
    const se = e as Partial<ServiceError>;
    const code = typeof se.code === "number" ? (se.code as status) : status.UNKNOWN;
    const message = se.details ?? e.message ?? "";
    let decoded: ErrorDetail[] = [];
    const raw = se.metadata?.get(STATUS_DETAILS_KEY)?.[0];
    if (raw && typeof raw !== "string") {
      try {
        const st = Status.decode(raw);
        decoded = decodeDetails(st.details);
      } catch {
        decoded = []; // malformed details: keep code and message
      }
    }
    return new OtnError(code, message, decoded, se.metadata);
  }
}
