// @otn/client: a TypeScript client of otn.v1.NotificationService (retries, a resuming event
// stream, typed errors, local validation with the server's limits).
export {
  Client,
  DEFAULT_TARGET,
  SANDBOX_PAGE_ID,
  type CallOptions,
  type ClientOptions,
  type DeepPartial,
} from "./client";
export {
  OtnError,
  ERROR_DOMAIN,
  STATUS_DETAILS_KEY,
  decodeDetails,
  errorReasonName,
  errorReasonOf,
  type ErrorDetail,
  type FieldViolation,
  type OtnErrorInit,
} from "./errors";
export {
  DeliveryEventStream,
  DEFAULT_RECONNECT_POLICY,
  isReconnectable,
  type ReconnectPolicy,
  type StreamOptions,
} from "./events";
export {
  DEFAULT_RETRY_POLICY,
  NO_RETRY,
  backoffCeilingMs,
  backoffMs,
  isRetryable,
  nextDelayMs,
  retryPolicy,
  type RetryPolicy,
} from "./retry";
export {
  KNOWN_MESSAGE_TAGS,
  Violations,
  charCount,
  isWebUrl,
  trimWhitespace,
  validateRequestOptIn,
  validateSendNotification,
} from "./validate";
export { shapeViolations } from "./shape";
export * as limits from "./gen/limits";
export * as fields from "./gen/fields";
export * as v1 from "./v1";
export * as rpc from "./gen/google/rpc/error_details";
export { Status as RpcStatus } from "./gen/google/rpc/status";
export { status as GrpcStatus } from "@grpc/grpc-js";
