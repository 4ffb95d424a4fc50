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
import {
  CancelNotificationRequest,
  type CancelNotificationResponse,
  type EligibleRecipient,
  ForgetRecipientRequest,
  type ForgetRecipientResponse,
  GetNotificationRequest,
  type GetNotificationResponse,
  ListEligibleRequest,
  type ListEligibleResponse,
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

  // -- consent ledger -----------------------------------------------------------------------

  /** RequestOptIn: validated; `requestId` defaults to a UUID v4, kept across retries. */
  async requestOptIn(req: DeepPartial<RequestOptInRequest>, opts?: CallOptions): Promise<RequestOptInResponse> {
    const r = RequestOptInRequest.fromPartial({ ...req, requestId: req.requestId || randomUUID() });
    this.check(r, validateRequestOptIn, opts);
    return this.unary(this.raw.requestOptIn, r, IDEMPOTENT, opts);
  }

  /** RecordOptIn (idempotent on the token); `kind` defaults to GRANT_KIND_ONE_TIME_NOTIFICATION. */
  recordOptIn(req: DeepPartial<RecordOptInRequest>, opts?: CallOptions): Promise<RecordOptInResponse> {
    const r = RecordOptInRequest.fromPartial({ ...req, kind: req.kind ?? GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION });
    return this.unary(this.raw.recordOptIn, r, IDEMPOTENT, opts);
  }

  /** One page of ListEligible. */
  listEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): Promise<ListEligibleResponse> {
    return this.unary(this.raw.listEligible, ListEligibleRequest.fromPartial(req), IDEMPOTENT, opts);
  }

  /** Every page of ListEligible, in order (follows nextPageToken). */
  async *listEligiblePages(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions) {
    let pageToken = req.pageToken ?? "";
    for (;;) {
      const page = await this.listEligible({ ...req, pageToken }, opts);
      yield page;
      if (!page.nextPageToken) return;
      pageToken = page.nextPageToken;
    }
  }

  /** Every EligibleRecipient of every page. */
  async *iterEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): AsyncGenerator<EligibleRecipient> {
    for await (const page of this.listEligiblePages(req, opts)) yield* page.recipients;
  }

  recordInteraction(req: DeepPartial<RecordInteractionRequest>, opts?: CallOptions): Promise<RecordInteractionResponse> {
    return this.unary(this.raw.recordInteraction, RecordInteractionRequest.fromPartial(req), NOT_IDEMPOTENT, opts);
  }

  updateRecipient(req: DeepPartial<UpdateRecipientRequest>, opts?: CallOptions): Promise<UpdateRecipientResponse> {
    return this.unary(this.raw.updateRecipient, UpdateRecipientRequest.fromPartial(req), NOT_IDEMPOTENT, opts);
  }

  revokeGrant(req: DeepPartial<RevokeGrantRequest>, opts?: CallOptions): Promise<RevokeGrantResponse> {
    return this.unary(this.raw.revokeGrant, RevokeGrantRequest.fromPartial(req), NOT_IDEMPOTENT, opts);
  }

  forgetRecipient(req: DeepPartial<ForgetRecipientRequest>, opts?: CallOptions): Promise<ForgetRecipientResponse> {
    return this.unary(this.raw.forgetRecipient, ForgetRecipientRequest.fromPartial(req), NOT_IDEMPOTENT, opts);
  }

  // -- sending --------------------------------------------------------------------------------

  /** SendNotification: validated; `requestId` defaults to a UUID v4, kept across retries. */
  async sendNotification(
    req: DeepPartial<SendNotificationRequest>,
    opts?: CallOptions,
  ): Promise<SendNotificationResponse> {
    const r = SendNotificationRequest.fromPartial({ ...req, requestId: req.requestId || randomUUID() });
    this.check(r, validateSendNotification, opts);
    return this.unary(this.raw.sendNotification, r, IDEMPOTENT, opts);
  }

  getNotification(req: DeepPartial<GetNotificationRequest>, opts?: CallOptions): Promise<GetNotificationResponse> {
    return this.unary(this.raw.getNotification, GetNotificationRequest.fromPartial(req), IDEMPOTENT, opts);
  }

  cancelNotification(
    req: DeepPartial<CancelNotificationRequest>,
    opts?: CallOptions,
  ): Promise<CancelNotificationResponse> {
    return this.unary(this.raw.cancelNotification, CancelNotificationRequest.fromPartial(req), NOT_IDEMPOTENT, opts);
  }

  /**
   * StreamDeliveryEvents (filters: pageId, topicKey, notificationId, afterSequence, fromNow) as
   * a {@link DeliveryEventStream} that reconnects and resumes after the last event it yielded.
   * With `fromNow` it has no position until its first event: events that happen while it
   * reconnects before then are not replayed (use `afterSequence` where that matters).
   */
  streamDeliveryEvents(
    req: DeepPartial<StreamDeliveryEventsRequest> = {},
    opts: StreamOptions & { metadata?: Record<string, string> } = {},
  ): DeliveryEventStream {
    const open = (r: StreamDeliveryEventsRequest, deadline: Date | undefined) =>
      this.raw.streamDeliveryEvents(r, this.metadata(opts.metadata), deadline ? { deadline } : {});
    return new DeliveryEventStream(open, StreamDeliveryEventsRequest.fromPartial(req), opts, this.reconnect);
  }
}
