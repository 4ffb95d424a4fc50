// A promise-based client of otn.v1.NotificationService over @grpc/grpc-js: retries, local
// validation, a request_id kept across retries, and a resuming event stream.
import { randomUUID } from "node:crypto";
import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ClientOptions as GrpcClientOptions,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { OtnError, type FieldViolation } from "./errors";
import { DeliveryEventStream, type ReconnectPolicy, type StreamOptions } from "./events";
import { GrantKind } from "./gen/otn/v1/resources";
import type { Notification } from "./gen/otn/v1/sending";
import {
  AssignGrantRequest,
  type AssignGrantResponse,
  CancelNotificationRequest,
  type CancelNotificationResponse,
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
import { cancelled, nextDelayMs, retryPolicy, sleep, type RetryPolicy } from "./retry";
import { shapeViolations } from "./shape";
import { validateRequestOptIn, validateSendNotification } from "./validate";

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
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : Partial<T>;

export interface ClientOptions {
  /** When set, sent on every call as `authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Deadline of each attempt of a unary call, in ms (10 s); streams have none unless given. */
  timeoutMs?: number;
  /** TLS credentials; plaintext when omitted. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options (`grpc.max_reconnect_backoff_ms` defaults to 10 s here). */
  channelOptions?: GrpcClientOptions;
  /** Extra metadata sent on every call. */
  metadata?: Record<string, string>;
  /** Retries of unary calls (default: 4 attempts, backoff 100 ms doubling to 5 s, full jitter). */
  retry?: Partial<RetryPolicy>;
  /** Reconnection of event streams (default: forever, backoff 200 ms doubling to 10 s). */
  reconnect?: Partial<ReconnectPolicy>;
  /** Validate SendNotification and RequestOptIn locally before sending (default true). */
  validate?: boolean;
}

export interface CallOptions {
  /** Deadline of each attempt of this call, in ms (overrides the client's). */
  timeoutMs?: number;
  /** Cancels the call, and any wait between attempts; it rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Overrides of the client's retry policy for this call (`{ maxAttempts: 1 }`: no retry). */
  retry?: Partial<RetryPolicy>;
  /** Skip (false) or force (true) local validation for this call. */
  validate?: boolean;
  /** Extra metadata for this call. */
  metadata?: Record<string, string>;
}

type UnaryFn<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<GrpcCallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

interface FromPartial<T> {
  fromPartial(object: any): T;
}

/** Whether a call may be repeated after ABORTED / DEADLINE_EXCEEDED (see RetryPolicy). */
const IDEMPOTENT = true;
const NOT_IDEMPOTENT = false;

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
  private readonly reconnect: Partial<ReconnectPolicy>;
  private readonly md: Record<string, string>;

  constructor(target: string = DEFAULT_TARGET, options: ClientOptions = {}) {
    this.raw = new NotificationServiceClient(target, options.credentials ?? grpcCredentials.createInsecure(), {
      "grpc.max_reconnect_backoff_ms": 10_000,
      ...options.channelOptions,
    });
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retry = retryPolicy(options.retry);
    this.reconnect = { ...(options.reconnect ?? {}) };
    this.validate = options.validate ?? true;
    this.md = { ...(options.metadata ?? {}) };
    if (options.apiKey) this.md["authorization"] = `Bearer ${options.apiKey}`;
  }

  close(): void {
    this.raw.close();
  }

  private metadata(extra?: Record<string, string>): Metadata {
    const md = new Metadata();
    for (const [k, v] of Object.entries({ ...this.md, ...(extra ?? {}) })) md.set(k, v);
    return md;
  }

  /** One attempt: resolves to the response or rejects with an OtnError. */
  private attempt<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, opts: CallOptions | undefined): Promise<Res> {
    const deadline = new Date(Date.now() + (opts?.timeoutMs ?? this.timeoutMs));
    const signal = opts?.signal;
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = fn.call(this.raw, req, this.metadata(opts?.metadata), { deadline }, (err, res) => {
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) reject(cancelled(signal));
        else if (err) reject(OtnError.fromServiceError(err));
        else resolve(res);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Every attempt of a unary call, with the same request message. */
  private async unary<Req, Res>(
    fn: UnaryFn<Req, Res>,
    req: Req,
    idempotent: boolean,
    opts: CallOptions | undefined,
  ): Promise<Res> {
    const policy = opts?.retry ? retryPolicy(opts.retry, this.retry) : this.retry;
    for (let attempt = 1; ; attempt++) {
      if (opts?.signal?.aborted) throw cancelled(opts.signal);
      try {
        return await this.attempt(fn, req, opts);
      } catch (e) {
        const err = OtnError.fromServiceError(e);
        err.attempts = attempt;
        if (err.local) throw err;
        const delay = nextDelayMs(policy, idempotent, attempt, err);
        if (delay === undefined) throw err;
        await sleep(delay, opts?.signal);
      }
    }
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

  // -- consent ledger -----------------------------------------------------------------------

  /** RequestOptIn: validated; `requestId` defaults to a UUID v4, kept across retries. */
  async requestOptIn(req: DeepPartial<RequestOptInRequest>, opts?: CallOptions): Promise<RequestOptInResponse> {
    const r = this.build(RequestOptInRequest, "otn.v1.RequestOptInRequest", req);
    r.requestId ||= randomUUID();
    this.check(r, validateRequestOptIn, opts);
    return this.unary(this.raw.requestOptIn, r, IDEMPOTENT, opts);
  }

  /** RecordOptIn (idempotent on the token); `kind` defaults to GRANT_KIND_ONE_TIME_NOTIFICATION. */
  async recordOptIn(req: DeepPartial<RecordOptInRequest>, opts?: CallOptions): Promise<RecordOptInResponse> {
    const r = this.build(RecordOptInRequest, "otn.v1.RecordOptInRequest", req);
    r.kind ||= GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION;
    return this.unary(this.raw.recordOptIn, r, IDEMPOTENT, opts);
  }

  /** One page of ListEligible. */
  async listEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): Promise<ListEligibleResponse> {
    const r = this.build(ListEligibleRequest, "otn.v1.ListEligibleRequest", req);
    return this.unary(this.raw.listEligible, r, IDEMPOTENT, opts);
  }

  /** Every page of ListEligible, in order (follows nextPageToken). */
  async *listEligiblePages(
    req: DeepPartial<ListEligibleRequest>,
    opts?: CallOptions,
  ): AsyncGenerator<ListEligibleResponse, void, undefined> {
    const r = this.build(ListEligibleRequest, "otn.v1.ListEligibleRequest", req);
    for (;;) {
      const page = await this.unary(this.raw.listEligible, r, IDEMPOTENT, opts);
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
    return this.unary(this.raw.recordInteraction, r, NOT_IDEMPOTENT, opts);
  }

  /** UpdateRecipient: tags to add or remove, the region. */
  async updateRecipient(req: DeepPartial<UpdateRecipientRequest>, opts?: CallOptions): Promise<UpdateRecipientResponse> {
    const r = this.build(UpdateRecipientRequest, "otn.v1.UpdateRecipientRequest", req);
    return this.unary(this.raw.updateRecipient, r, NOT_IDEMPOTENT, opts);
  }

  /** RevokeGrant: `grantId`, or `pageId` + `psid` + `topicKey`. */
  async revokeGrant(req: DeepPartial<RevokeGrantRequest>, opts?: CallOptions): Promise<RevokeGrantResponse> {
    const r = this.build(RevokeGrantRequest, "otn.v1.RevokeGrantRequest", req);
    return this.unary(this.raw.revokeGrant, r, NOT_IDEMPOTENT, opts);
  }

  /** AssignGrant: moves a grant of the reserved topic `otn:unassigned` to a topic. */
  async assignGrant(req: DeepPartial<AssignGrantRequest>, opts?: CallOptions): Promise<AssignGrantResponse> {
    const r = this.build(AssignGrantRequest, "otn.v1.AssignGrantRequest", req);
    return this.unary(this.raw.assignGrant, r, NOT_IDEMPOTENT, opts);
  }

  /** ForgetRecipient: erases a person on a page. */
  async forgetRecipient(req: DeepPartial<ForgetRecipientRequest>, opts?: CallOptions): Promise<ForgetRecipientResponse> {
    const r = this.build(ForgetRecipientRequest, "otn.v1.ForgetRecipientRequest", req);
    return this.unary(this.raw.forgetRecipient, r, NOT_IDEMPOTENT, opts);
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
    return this.unary(this.raw.sendNotification, r, IDEMPOTENT, opts);
  }

  /** GetNotification: the notification with its counts. */
  async getNotification(req: DeepPartial<GetNotificationRequest>, opts?: CallOptions): Promise<GetNotificationResponse> {
    const r = this.build(GetNotificationRequest, "otn.v1.GetNotificationRequest", req);
    return this.unary(this.raw.getNotification, r, IDEMPOTENT, opts);
  }

  /** CancelNotification: cancels what is still queued. */
  async cancelNotification(
    req: DeepPartial<CancelNotificationRequest>,
    opts?: CallOptions,
  ): Promise<CancelNotificationResponse> {
    const r = this.build(CancelNotificationRequest, "otn.v1.CancelNotificationRequest", req);
    return this.unary(this.raw.cancelNotification, r, NOT_IDEMPOTENT, opts);
  }

  /** One page of ListNotifications, newest first. */
  async listNotifications(
    req: DeepPartial<ListNotificationsRequest>,
    opts?: CallOptions,
  ): Promise<ListNotificationsResponse> {
    const r = this.build(ListNotificationsRequest, "otn.v1.ListNotificationsRequest", req);
    return this.unary(this.raw.listNotifications, r, IDEMPOTENT, opts);
  }

  /** Every Notification of every page of ListNotifications, newest first. */
  async *iterNotifications(req: DeepPartial<ListNotificationsRequest>, opts?: CallOptions): AsyncGenerator<Notification> {
    const r = this.build(ListNotificationsRequest, "otn.v1.ListNotificationsRequest", req);
    for (;;) {
      const page = await this.unary(this.raw.listNotifications, r, IDEMPOTENT, opts);
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
    opts: StreamOptions & { metadata?: Record<string, string> } = {},
  ): DeliveryEventStream {
    const open = (r: StreamDeliveryEventsRequest, deadline: Date | undefined) =>
      this.raw.streamDeliveryEvents(r, this.metadata(opts.metadata), deadline ? { deadline } : {});
    const r = this.build(StreamDeliveryEventsRequest, "otn.v1.StreamDeliveryEventsRequest", req);
    return new DeliveryEventStream(open, r, opts, this.reconnect);
  }
}
