// A thin, promise-based client of otn.v1.NotificationService over @grpc/grpc-js.
import { randomUUID } from "node:crypto";
import {
  credentials as grpcCredentials,
  Metadata,
  status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ClientOptions as GrpcClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { GrantKind } from "./gen/otn/v1/resources";
import type { DeliveryEvent } from "./gen/otn/v1/sending";
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
  type StreamDeliveryEventsResponse,
  UpdateRecipientRequest,
  type UpdateRecipientResponse,
} from "./gen/otn/v1/service";
import { OtnError } from "./errors";

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
  /** Default deadline of unary calls in milliseconds (10 s); streams have none unless given. */
  timeoutMs?: number;
  /** TLS credentials; plaintext when omitted. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options. */
  channelOptions?: GrpcClientOptions;
  /** Extra metadata sent on every call. */
  metadata?: Record<string, string>;
}

export interface CallOptions {
  /** Deadline of this call in milliseconds (overrides the client's). */
  timeoutMs?: number;
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

/**
 * The events of StreamDeliveryEvents, as an async iterable of DeliveryEvent. The stream is live
 * and does not end by itself: `break` out of the loop or call `cancel()`. `lastSequence` is what
 * to resume from (`afterSequence`).
 */
export class DeliveryEventStream implements AsyncIterable<DeliveryEvent> {
  lastSequence = 0;
  private cancelled = false;

  constructor(private readonly call: ClientReadableStream<StreamDeliveryEventsResponse>) {
    call.on("error", () => {}); // errors reach the iterator; never an unhandled 'error' event
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DeliveryEvent> {
    try {
      for await (const msg of this.call as AsyncIterable<StreamDeliveryEventsResponse>) {
        if (!msg.event) continue;
        this.lastSequence = msg.event.sequence;
        yield msg.event;
      }
    } catch (e) {
      if (this.cancelled && (e as ServiceError).code === status.CANCELLED) return;
      throw OtnError.fromServiceError(e as Error);
    } finally {
      this.cancel();
    }
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.call.cancel();
  }
}

/**
 * `new Client("127.0.0.1:50051", { apiKey, timeoutMs })`. Every method takes the request's
 * fields (any subset, camelCase) and resolves to the response message of the contract; failures
 * reject with {@link OtnError}.
 */
export class Client {
  /** The generated grpc-js client, for anything the wrapper does not cover. */
  readonly raw: NotificationServiceClient;
  readonly timeoutMs: number;
  private readonly md: Record<string, string>;

  constructor(target: string = DEFAULT_TARGET, options: ClientOptions = {}) {
    this.raw = new NotificationServiceClient(
      target,
      options.credentials ?? grpcCredentials.createInsecure(),
      options.channelOptions,
    );
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.md = { ...(options.metadata ?? {}) };
    if (options.apiKey) this.md["authorization"] = `Bearer ${options.apiKey}`;
  }

  close(): void {
    this.raw.close();
  }

  private metadata(): Metadata {
    const md = new Metadata();
    for (const [k, v] of Object.entries(this.md)) md.set(k, v);
    return md;
  }

  private unary<Req, Res>(fn: UnaryFn<Req, Res>, fns: FromPartial<Req>, partial: unknown, opts?: CallOptions) {
    const req = fns.fromPartial(partial ?? {});
    const deadline = new Date(Date.now() + (opts?.timeoutMs ?? this.timeoutMs));
    return new Promise<Res>((resolve, reject) => {
      fn.call(this.raw, req, this.metadata(), { deadline }, (err, res) => {
        if (err) reject(OtnError.fromServiceError(err));
        else resolve(res);
      });
    });
  }

  // -- consent ledger -----------------------------------------------------------------------

  /** RequestOptIn; `requestId` defaults to a fresh UUID. */
  requestOptIn(req: DeepPartial<RequestOptInRequest>, opts?: CallOptions): Promise<RequestOptInResponse> {
    const r = { ...req, requestId: req.requestId || randomUUID() };
    return this.unary(this.raw.requestOptIn, RequestOptInRequest, r, opts);
  }

  /** RecordOptIn; `kind` defaults to GRANT_KIND_ONE_TIME_NOTIFICATION. */
  recordOptIn(req: DeepPartial<RecordOptInRequest>, opts?: CallOptions): Promise<RecordOptInResponse> {
    const r = { ...req, kind: req.kind ?? GrantKind.GRANT_KIND_ONE_TIME_NOTIFICATION };
    return this.unary(this.raw.recordOptIn, RecordOptInRequest, r, opts);
  }

  /** One page of ListEligible. */
  listEligible(req: DeepPartial<ListEligibleRequest>, opts?: CallOptions): Promise<ListEligibleResponse> {
    return this.unary(this.raw.listEligible, ListEligibleRequest, req, opts);
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

  recordInteraction(
    req: DeepPartial<RecordInteractionRequest>,
    opts?: CallOptions,
  ): Promise<RecordInteractionResponse> {
    return this.unary(this.raw.recordInteraction, RecordInteractionRequest, req, opts);
  }

  updateRecipient(req: DeepPartial<UpdateRecipientRequest>, opts?: CallOptions): Promise<UpdateRecipientResponse> {
    return this.unary(this.raw.updateRecipient, UpdateRecipientRequest, req, opts);
  }

  revokeGrant(req: DeepPartial<RevokeGrantRequest>, opts?: CallOptions): Promise<RevokeGrantResponse> {
    return this.unary(this.raw.revokeGrant, RevokeGrantRequest, req, opts);
  }

  forgetRecipient(req: DeepPartial<ForgetRecipientRequest>, opts?: CallOptions): Promise<ForgetRecipientResponse> {
    return this.unary(this.raw.forgetRecipient, ForgetRecipientRequest, req, opts);
  }

  // -- sending --------------------------------------------------------------------------------

  /** SendNotification; `requestId` defaults to a fresh UUID. */
  sendNotification(
    req: DeepPartial<SendNotificationRequest>,
    opts?: CallOptions,
  ): Promise<SendNotificationResponse> {
    const r = { ...req, requestId: req.requestId || randomUUID() };
    return this.unary(this.raw.sendNotification, SendNotificationRequest, r, opts);
  }

  getNotification(req: DeepPartial<GetNotificationRequest>, opts?: CallOptions): Promise<GetNotificationResponse> {
    return this.unary(this.raw.getNotification, GetNotificationRequest, req, opts);
  }

  cancelNotification(
    req: DeepPartial<CancelNotificationRequest>,
    opts?: CallOptions,
  ): Promise<CancelNotificationResponse> {
    return this.unary(this.raw.cancelNotification, CancelNotificationRequest, req, opts);
  }

  /**
   * StreamDeliveryEvents (filters: pageId, topicKey, notificationId, afterSequence, fromNow).
   * `timeoutMs` bounds the whole stream; none by default.
   */
  streamDeliveryEvents(req: DeepPartial<StreamDeliveryEventsRequest> = {}, opts?: CallOptions): DeliveryEventStream {
    const options: Partial<GrpcCallOptions> = {};
    if (opts?.timeoutMs !== undefined) options.deadline = new Date(Date.now() + opts.timeoutMs);
    const call = this.raw.streamDeliveryEvents(StreamDeliveryEventsRequest.fromPartial(req), this.metadata(), options);
    return new DeliveryEventStream(call);
  }
}
