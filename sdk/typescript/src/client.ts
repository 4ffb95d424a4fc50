// A promise-based client of otn.v1.NotificationService over @grpc/grpc-js: retries, local
// validation, a request_id kept across retries, and a resuming event stream.
import { randomUUID } from "node:crypto";
import {
  credentials as grpcCredentials,
  status,
  type ChannelCredentials,
  type ClientOptions as GrpcClientOptions,
} from "@grpc/grpc-js";
import { callRequestId, metadataWithRequestId, notFinalError, unary, type RetryEvent, type RetryLogger, type UnaryFn } from "./calls";
import { OtnError, type FieldViolation } from "./errors";
import { DeliveryEventStream, type ReconnectOverrides, type StreamOptions } from "./events";
import * as CR from "./gen/client-rules";
import { GrantKind } from "./gen/otn/v1/resources";
import { GetFunnelRequest, type GetFunnelResponse } from "./gen/otn/v1/funnel";
import { NotificationState, notificationStateToJSON, type Notification } from "./gen/otn/v1/sending";
import {
  AssignGrantRequest,
  type AssignGrantResponse,
  CancelNotificationRequest,
  type CancelNotificationResponse,
  ResumePageRequest,
  type ResumePageResponse,
  type EligibleRecipient,
  ForgetRecipientRequest,
  type ForgetRecipientResponse,
  GetNotificationRequest,
  type GetNotificationResponse,
  ListEligibleRequest,
  type ListEligibleResponse,
  ListNotificationsRequest,
  type ListNotificationsResponse,
  NotificationServiceClient,
  RecordInteractionRequest,
  type RecordInteractionResponse,
  RecordOptInRequest,
  type RecordOptInResponse,
  RequestOptInRequest,
  type RequestOptInResponse,
  RevokeGrantRequest,
  type RevokeGrantResponse,
  SendNotificationRequest,
  type SendNotificationResponse,
  StreamDeliveryEventsRequest,
  UpdateRecipientRequest,
  type UpdateRecipientResponse,
} from "./gen/otn/v1/service";
import { retryPolicy, sleep, type RetryOverrides, type RetryPolicy } from "./retry";
import { shapeViolations } from "./shape";
import { validateListEligible, validateRequestOptIn, validateSendNotification } from "./validate";

export const DEFAULT_TARGET = "127.0.0.1:50051";
export const SANDBOX_PAGE_ID = "sandbox-page";

type Builtin = Date | Function | Uint8Array | string | number | boolean | undefined;
/** Any subset of a message's fields, nested (what the generated `fromPartial` accepts). */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends globalThis.Array<infer U>
    ? globalThis.Array<DeepPartial<U>>
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<DeepPartial<U>>
      : T extends {}
        ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
        : Partial<T>;

export interface ClientOptions {
  /** When set, sent on every call as `authorization: Bearer <apiKey>` (never logged, never in an error). */
  apiKey?: string | undefined;
  /** Deadline of each attempt of a unary call, in ms (10 s); the retry policy's `deadlineMs` (30 s) bounds the attempts together; streams have none unless given. */
  timeoutMs?: number | undefined;
  /** TLS credentials; plaintext when omitted. */
  credentials?: ChannelCredentials | undefined;
  /** grpc-js channel options (the reconnect backoff defaults to 250 ms growing to 5 s here). */
  channelOptions?: GrpcClientOptions | undefined;
  /** Extra metadata sent on every call (an `x-request-id` here is sent instead of the generated one). */
  metadata?: Record<string, string> | undefined;
  /** Retries of unary calls (default: within 30 s, backoff 100 ms doubling to 5 s, full jitter). */
  retry?: RetryOverrides | undefined;
  /** Reconnection of event streams (default: forever, backoff 200 ms doubling to 5 s). */
  reconnect?: ReconnectOverrides | undefined;
  /** Validate SendNotification, RequestOptIn and ListEligible locally before sending (default true). */
  validate?: boolean | undefined;
  /** Unary attempts wait for the channel to connect, within their deadline, instead of failing at once while the server is away (default true). */
  waitForReady?: boolean | undefined;
  /** Called before each wait between attempts: method, attempt, code, delay, request id. What it throws ends the call. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Where each retry is logged, one line (`console` fits); none by default. */
  logger?: RetryLogger | undefined;
}

export interface CallOptions {
  /** Deadline of each attempt of this call, in ms (overrides the client's). */
  timeoutMs?: number | undefined;
  /** Cancels the call, and any wait between attempts; it rejects with CANCELLED. */
  signal?: AbortSignal | undefined;
  /** Overrides of the client's retry policy for this call (`{ maxAttempts: 1 }`: no retry). */
  retry?: RetryOverrides | undefined;
  /** Skip (false) or force (true) local validation for this call. */
  validate?: boolean | undefined;
  /** Extra metadata for this call (an `x-request-id` here is sent instead of the generated one). */
  metadata?: Record<string, string> | undefined;
  /** Overrides the client's `waitForReady` for this call. */
  waitForReady?: boolean | undefined;
  /** Overrides the client's `onRetry` for this call. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** Options of {@link Client.waitUntilFinal}. */
export interface WaitOptions {
  /** Give up after this long, in ms (60 s): DEADLINE_EXCEEDED naming the last state seen. */
  timeoutMs?: number | undefined;
  /** How often GetNotification is called, in ms (500). */
  pollIntervalMs?: number | undefined;
  /** Cancels the wait (CANCELLED). */
  signal?: AbortSignal | undefined;
}

interface FromPartial<T> {
  fromPartial(object: any): T;
}

const FINAL_STATES: ReadonlySet<NotificationState> = new Set(
  CR.WAIT_UNTIL_FINAL_FINAL_STATES.map((s) => NotificationState[s as keyof typeof NotificationState]),
);

/**
 * `new Client("127.0.0.1:50051", { apiKey, timeoutMs, retry })`. Every method takes the
 * request's fields (any subset, camelCase) and resolves to the response message of the
 * contract; failures reject with {@link OtnError}. Unary calls are retried by the
 * {@link RetryPolicy}; SendNotification and RequestOptIn are validated first and get a UUID v4
 * `requestId` (unless given) that every attempt carries.
 */
export class Client {
  /** The generated grpc-js client, for anything the wrapper does not cover. */
  readonly raw: NotificationServiceClient;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly validate: boolean;
  readonly waitForReady: boolean;
  private readonly reconnect: ReconnectOverrides;
  private readonly md: Record<string, string>;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly logger: RetryLogger | undefined;

  constructor(target: string = DEFAULT_TARGET, options: ClientOptions = {}) {
    this.raw = new NotificationServiceClient(target, options.credentials ?? grpcCredentials.createInsecure(), {
      "grpc.initial_reconnect_backoff_ms": CR.CHANNEL_INITIAL_RECONNECT_BACKOFF_MS,
      "grpc.max_reconnect_backoff_ms": CR.CHANNEL_MAX_RECONNECT_BACKOFF_MS,
      ...options.channelOptions,
    });
    this.timeoutMs = options.timeoutMs ?? CR.RETRY_ATTEMPT_TIMEOUT_MS;
    this.retry = retryPolicy(options.retry);
    this.reconnect = { ...(options.reconnect ?? {}) };
    this.validate = options.validate ?? true;
    this.waitForReady = options.waitForReady ?? CR.RETRY_WAIT_FOR_READY;
    this.onRetry = options.onRetry;
    this.logger = options.logger;
    this.md = { ...(options.metadata ?? {}) };
    if (options.apiKey) this.md["authorization"] = `Bearer ${options.apiKey}`;
  }

  close(): void {
    this.raw.close();
  }

  /** Every attempt of a unary call of `method` (the RPC name), with the same request message. */
  private unary<Req, Res>(method: string, fn: UnaryFn<Req, Res>, req: Req, opts: CallOptions | undefined): Promise<Res> {
    return unary({
      method,
      fn,
      self: this.raw,
      req,
      policy: opts?.retry ? retryPolicy(opts.retry, this.retry) : this.retry,
      timeoutMs: opts?.timeoutMs ?? this.timeoutMs,
      metadata: { ...this.md, ...(opts?.metadata ?? {}) },
      signal: opts?.signal,
      waitForReady: opts?.waitForReady ?? this.waitForReady,
      onRetry: opts?.onRetry ?? this.onRetry,
      logger: this.logger,
    });
  }

  private check<T>(req: T, validator: (r: T) => FieldViolation[], opts: CallOptions | undefined): void {
    if (!(opts?.validate ?? this.validate)) return;
    const violations = validator(req);
    if (violations.length) throw OtnError.invalid(violations);
  }

  /**
   * The request message of `codec` from the caller's fields, once their shape is checked against
   * the contract (src/shape.ts): an unknown field or a value of the wrong type is a local
   * INVALID_ARGUMENT naming its field path, never an encoder error.
   */
  private build<T>(codec: FromPartial<T>, typeName: string, req: unknown): T {
    const violations = shapeViolations(typeName, req);
    if (violations.length) throw OtnError.invalid(violations, "the request is malformed (checked by the client, not sent)");
    return codec.fromPartial(req ?? {});
  }

  /**
   * Polls GetNotification every `pollIntervalMs` (500) until the notification is COMPLETED,
   * CANCELLED or PLANNED (a dry run) and resolves to it; rejects with DEADLINE_EXCEEDED naming the
   * last state when `timeoutMs` (60 s) passes first.
   */
  async waitUntilFinal(notificationId: string, opts: WaitOptions = {}): Promise<Notification> {
    const timeoutMs = opts.timeoutMs ?? CR.WAIT_UNTIL_FINAL_TIMEOUT_MS;
    const every = opts.pollIntervalMs ?? CR.WAIT_UNTIL_FINAL_POLL_INTERVAL_MS;
    if (!(timeoutMs > 0) || !(every > 0)) throw new RangeError("waitUntilFinal: timeoutMs and pollIntervalMs must be > 0");
    const end = Date.now() + timeoutMs;
    let state = NotificationState.NOTIFICATION_STATE_UNSPECIFIED; // until a poll answers
    for (;;) {
      const left = Math.max(1, end - Date.now());
      let n: Notification | undefined;
      try {
        ({ notification: n } = await this.getNotification(
          { notificationId },
          { timeoutMs: Math.min(this.timeoutMs, left), retry: { deadlineMs: left }, signal: opts.signal },
        ));
      } catch (e) {
        if (e instanceof OtnError && e.code === status.DEADLINE_EXCEEDED && Date.now() >= end) {
          throw notFinalError(notificationId, timeoutMs, notificationStateToJSON(state));
        }
        throw e;
      }
      if (n && FINAL_STATES.has(n.state)) return n;
      state = n?.state ?? state;
      if (Date.now() >= end) throw notFinalError(notificationId, timeoutMs, notificationStateToJSON(state));
      await sleep(Math.min(every, end - Date.now()), opts.signal);
    }
  }

  // -- consent ledger -----------------------------------------------------------------------

  /** RequestOptIn: validated; `requestId` defaults to a UUID v4, kept across retries. */
  async requestOptIn(req: DeepPartial<RequestOptInRequest>, opts?: CallOptions): Promise<RequestOptInResponse> {
    const r = this.build(RequestOptInRequest, "otn.v1.RequestOptInRequest", req);
    r.requestId ||= randomUUID();
    this.check(r, validateRequestOptIn, opts);
    return this.unary("RequestOptIn", this.raw.requestOptIn, r, opts);
  }

  /** RecordOptIn (idempotent on the token); `kind` defaults to GRANT_KIND_ONE_TIME_NOTIFICATION. */
  async recordOptIn(req: DeepPartial<RecordOptInRequest>, opts?: CallOptions): Promise<RecordOptInResponse> {
    const r = this.build(RecordOptInRequest, "otn.v1.RecordOptInRequest", req);
    r.kind ||= GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION;
    return this.unary("RecordOptIn", this.raw.recordOptIn, r, opts);
  }

  /** One page of ListEligible. */
  async listEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): Promise<ListEligibleResponse> {
    const r = this.build(ListEligibleRequest, "otn.v1.ListEligibleRequest", req);
    this.check(r, validateListEligible, opts);
    return this.unary("ListEligible", this.raw.listEligible, r, opts);
  }

  /** Every page of ListEligible, in order (follows nextPageToken). */
  async *listEligiblePages(
    req: DeepPartial<ListEligibleRequest>,
    opts?: CallOptions,
  ): AsyncGenerator<ListEligibleResponse, void, undefined> {
    const r = this.build(ListEligibleRequest, "otn.v1.ListEligibleRequest", req);
    this.check(r, validateListEligible, opts);
    for (;;) {
      const page = await this.unary("ListEligible", this.raw.listEligible, r, opts);
      yield page;
      if (!page.nextPageToken) return;
      r.pageToken = page.nextPageToken;
    }
  }

  /** Every EligibleRecipient of every page. */
  async *iterEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): AsyncGenerator<EligibleRecipient> {
    for await (const page of this.listEligiblePages(req, opts)) yield* page.recipients;
  }

  /** RecordInteraction: opens the person's 24-hour window. */
  async recordInteraction(
    req: DeepPartial<RecordInteractionRequest>,
    opts?: CallOptions,
  ): Promise<RecordInteractionResponse> {
    const r = this.build(RecordInteractionRequest, "otn.v1.RecordInteractionRequest", req);
    return this.unary("RecordInteraction", this.raw.recordInteraction, r, opts);
  }

  /** UpdateRecipient: tags to add or remove, the region, the IANA time zone. */
  async updateRecipient(req: DeepPartial<UpdateRecipientRequest>, opts?: CallOptions): Promise<UpdateRecipientResponse> {
    const r = this.build(UpdateRecipientRequest, "otn.v1.UpdateRecipientRequest", req);
    return this.unary("UpdateRecipient", this.raw.updateRecipient, r, opts);
  }

  /** RevokeGrant: `grantId`, or `pageId` + `psid` + `topicKey`. */
  async revokeGrant(req: DeepPartial<RevokeGrantRequest>, opts?: CallOptions): Promise<RevokeGrantResponse> {
    const r = this.build(RevokeGrantRequest, "otn.v1.RevokeGrantRequest", req);
    return this.unary("RevokeGrant", this.raw.revokeGrant, r, opts);
  }

  /** AssignGrant: moves a grant of the reserved topic `otn:unassigned` to a topic. */
  async assignGrant(req: DeepPartial<AssignGrantRequest>, opts?: CallOptions): Promise<AssignGrantResponse> {
    const r = this.build(AssignGrantRequest, "otn.v1.AssignGrantRequest", req);
    return this.unary("AssignGrant", this.raw.assignGrant, r, opts);
  }

  /** ForgetRecipient: erases a person on a page. */
  async forgetRecipient(req: DeepPartial<ForgetRecipientRequest>, opts?: CallOptions): Promise<ForgetRecipientResponse> {
    const r = this.build(ForgetRecipientRequest, "otn.v1.ForgetRecipientRequest", req);
    return this.unary("ForgetRecipient", this.raw.forgetRecipient, r, opts);
  }

  // -- sending --------------------------------------------------------------------------------

  /** SendNotification: validated; `requestId` defaults to a UUID v4, kept across retries. */
  async sendNotification(
    req: DeepPartial<SendNotificationRequest>,
    opts?: CallOptions,
  ): Promise<SendNotificationResponse> {
    const r = this.build(SendNotificationRequest, "otn.v1.SendNotificationRequest", req);
    r.requestId ||= randomUUID();
    this.check(r, validateSendNotification, opts);
    return this.unary("SendNotification", this.raw.sendNotification, r, opts);
  }

  /** GetNotification: the notification with its counts. */
  async getNotification(req: DeepPartial<GetNotificationRequest>, opts?: CallOptions): Promise<GetNotificationResponse> {
    const r = this.build(GetNotificationRequest, "otn.v1.GetNotificationRequest", req);
    return this.unary("GetNotification", this.raw.getNotification, r, opts);
  }

  /**
   * GetFunnel: the consent funnel of a topic (`pageId` and `topicKey`) or of one notification
   * (`notificationId`), over UTC days `startDate` to `endDate` (`YYYY-MM-DD`).
   */
  async getFunnel(req: DeepPartial<GetFunnelRequest>, opts?: CallOptions): Promise<GetFunnelResponse> {
    const r = this.build(GetFunnelRequest, "otn.v1.GetFunnelRequest", req);
    return this.unary("GetFunnel", this.raw.getFunnel, r, opts);
  }

  /** ResumePage: resumes a page whose circuit breaker tripped (pause `negative_feedback`). */
  async resumePage(req: DeepPartial<ResumePageRequest>, opts?: CallOptions): Promise<ResumePageResponse> {
    const r = this.build(ResumePageRequest, "otn.v1.ResumePageRequest", req);
    return this.unary("ResumePage", this.raw.resumePage, r, opts);
  }

  /** CancelNotification: cancels what is still queued. */
  async cancelNotification(
    req: DeepPartial<CancelNotificationRequest>,
    opts?: CallOptions,
  ): Promise<CancelNotificationResponse> {
    const r = this.build(CancelNotificationRequest, "otn.v1.CancelNotificationRequest", req);
    return this.unary("CancelNotification", this.raw.cancelNotification, r, opts);
  }

  /** One page of ListNotifications, newest first. */
  async listNotifications(
    req: DeepPartial<ListNotificationsRequest>,
    opts?: CallOptions,
  ): Promise<ListNotificationsResponse> {
    const r = this.build(ListNotificationsRequest, "otn.v1.ListNotificationsRequest", req);
    return this.unary("ListNotifications", this.raw.listNotifications, r, opts);
  }

  /** Every Notification of every page of ListNotifications, newest first. */
  async *iterNotifications(req: DeepPartial<ListNotificationsRequest>, opts?: CallOptions): AsyncGenerator<Notification> {
    const r = this.build(ListNotificationsRequest, "otn.v1.ListNotificationsRequest", req);
    for (;;) {
      const page = await this.unary("ListNotifications", this.raw.listNotifications, r, opts);
      yield* page.notifications;
      if (!page.nextPageToken) return;
      r.pageToken = page.nextPageToken;
    }
  }

  /**
   * StreamDeliveryEvents (filters: pageId, topicKey, notificationId, afterSequence, fromNow) as
   * a {@link DeliveryEventStream} that reconnects and resumes after the last event it yielded.
   * With `fromNow` it has no position until its first event: events that happen while it
   * reconnects before then are not replayed (use `afterSequence` where that matters). A
   * malformed filter throws the local INVALID_ARGUMENT OtnError here, at the call.
   */
  streamDeliveryEvents(
    req: DeepPartial<StreamDeliveryEventsRequest> = {},
    opts: StreamOptions & { metadata?: Record<string, string> | undefined } = {},
  ): DeliveryEventStream {
    const r = this.build(StreamDeliveryEventsRequest, "otn.v1.StreamDeliveryEventsRequest", req);
    const md = { ...this.md, ...(opts.metadata ?? {}) };
    const requestId = callRequestId(md, r); // one for every connection of the stream
    const open = (x: StreamDeliveryEventsRequest, deadline: Date | undefined) =>
      this.raw.streamDeliveryEvents(x, metadataWithRequestId(md, requestId), deadline ? { deadline } : {});
    return new DeliveryEventStream(open, r, opts, this.reconnect);
  }
}
