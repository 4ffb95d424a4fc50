// @otn/client: a TypeScript client of otn.v1.NotificationService (retries, a resuming event
// stream, typed errors, local validation with the server's limits).
export {
  Client,
  DEFAULT_TARGET,
  SANDBOX_PAGE_ID,
  type CallOptions,
  type ClientOptions,
  type DeepPartial,
  type WaitOptions,
} from "./client";
export { type RetryEvent, type RetryLogger } from "./calls";
export {
  OtnError,
  ERROR_DOMAIN,
  REQUEST_ID_KEY,
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
  reconnectDelayMs,
  type ReconnectInfo,
  type ReconnectOverrides,
  type ReconnectPolicy,
  type StreamOptions,
} from "./events";
export {
  DEFAULT_RETRY_POLICY,
  IDEMPOTENT_METHODS,
  NO_RETRY,
  backoffCeilingMs,
  backoffMs,
  classify,
  decideRetry,
  isRetryable,
  nextDelayMs,
  retryPolicy,
  type RetryDecision,
  type RetryOverrides,
  type RetryPolicy,
} from "./retry";
export {
  KNOWN_MESSAGE_TAGS,
  Violations,
  charCount,
  isWebUrl,
  trimWhitespace,
  validateListEligible,
  validateRequestOptIn,
  validateSendNotification,
} from "./validate";
export { closestField, shapeViolations } from "./shape";
export * as limits from "./gen/limits";
export * as clientRules from "./gen/client-rules";
export * as fields from "./gen/fields";
export * as v1 from "./v1";
export * as rpc from "./gen/google/rpc/error_details";
export { Status as RpcStatus } from "./gen/google/rpc/status";
export { status as GrpcStatus } from "@grpc/grpc-js";
