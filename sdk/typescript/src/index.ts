// @otn/client: a thin TypeScript client of otn.v1.NotificationService.
export {
  Client,
  DeliveryEventStream,
  DEFAULT_TARGET,
  SANDBOX_PAGE_ID,
  type CallOptions,
  type ClientOptions,
  type DeepPartial,
} from "./client";
export { OtnError, ERROR_DOMAIN, decodeDetails, type ErrorDetail, type FieldViolation } from "./errors";
export * as v1 from "./v1";
export * as rpc from "./gen/google/rpc/error_details";
export { Status as RpcStatus } from "./gen/google/rpc/status";
export { status as GrpcStatus } from "@grpc/grpc-js";
