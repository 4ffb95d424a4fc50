// A fake otn.v1.NotificationService on grpc-js, scripted per test: each unary method answers
// from a queue of outcomes (fail with a status and google.rpc details, stall, or succeed), and
// records every attempt it received. Like the real server, it answers the caller's x-request-id
// back (prefixed `fake-`, so a test can tell the answer from the request).
import { performance } from "node:perf_hooks";
import {
  Metadata,
  Server as GrpcServer,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerErrorResponse,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { RpcStatus, STATUS_DETAILS_KEY, rpc, v1 } from "@otn/client";

/** A refusal, with the details the real server would attach. */
export interface Failure {
  code: status;
  details?: string;
  /** ErrorInfo reason (without the ERROR_REASON_ prefix), domain otn.v1. */
  reason?: string;
  metadata?: Record<string, string>;
  /** BadRequest field paths. */
  violations?: string[];
  /** RetryInfo retry_delay. */
  retryDelayMs?: number;
}

/** What one attempt gets: a failure, a success (optionally built from the request), or a stall. */
export type Outcome =
  | { fail: Failure }
  | { ok: (request: any) => unknown }
  | { stallMs: number; then?: Outcome };

export interface Attempt {
  method: string;
  request: any;
  metadata: Metadata;
  /** performance.now() when the attempt arrived. */
  at: number;
}

function any(typeName: string, value: Uint8Array) {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

/** The grpc-js error of a Failure: code, message and `grpc-status-details-bin`. */
export function statusError(f: Failure): ServerErrorResponse {
  const message = f.details ?? status[f.code];
  const details = [];
  if (f.reason !== undefined) {
    const info = rpc.ErrorInfo.fromPartial({ reason: f.reason, domain: "otn.v1", metadata: f.metadata ?? {} });
    details.push(any("google.rpc.ErrorInfo", rpc.ErrorInfo.encode(info).finish()));
  }
  if (f.violations) {
    const br = rpc.BadRequest.fromPartial({
      fieldViolations: f.violations.map((field) => ({ field, description: `${field} is bad` })),
    });
    details.push(any("google.rpc.BadRequest", rpc.BadRequest.encode(br).finish()));
  }
  if (f.retryDelayMs !== undefined) {
    const seconds = Math.floor(f.retryDelayMs / 1000);
    const nanos = Math.round((f.retryDelayMs - seconds * 1000) * 1e6);
    const ri = rpc.RetryInfo.fromPartial({ retryDelay: { seconds, nanos } });
    details.push(any("google.rpc.RetryInfo", rpc.RetryInfo.encode(ri).finish()));
  }
  const md = new Metadata();
  const st = RpcStatus.encode(RpcStatus.fromPartial({ code: f.code, message, details })).finish();
  md.set(STATUS_DETAILS_KEY, Buffer.from(st));
  return { code: f.code, details: message, metadata: md, name: "FakeError", message };
}

export const ok: Outcome = { ok: () => ({}) };
export const fail = (code: status, more: Omit<Failure, "code"> = {}): Outcome => ({ fail: { code, ...more } });
export const unavailable = (retryDelayMs?: number): Outcome =>
  fail(status.UNAVAILABLE, { reason: "SHUTTING_DOWN", retryDelayMs });

type StreamHandler = (call: ServerWritableStream<v1.StreamDeliveryEventsRequest, v1.StreamDeliveryEventsResponse>, connection: number) => void;

export class FakeServer {
  readonly attempts: Attempt[] = [];
  /** Outcomes per method name (camelCase, as in the generated service); empty queue: success. */
  script: Record<string, Outcome[]> = {};
  /** Serves StreamDeliveryEvents; `connection` counts from 1. */
  onStream: StreamHandler = (call) => call.end();
  private streams = 0;

  private server: GrpcServer;
  readonly target: string;

  private constructor(port: number, server: GrpcServer) {
    this.server = server;
    this.target = `127.0.0.1:${port}`;
  }

  private static async serve(fake: () => FakeServer, port: number): Promise<[GrpcServer, number]> {
    const server = new GrpcServer();
    const impl: UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(v1.NotificationServiceService)) {
      impl[name] = def.responseStream
        ? (call: ServerWritableStream<any, any>) => fake().stream(name, call)
        : (call: ServerUnaryCall<any, any>, cb: sendUnaryData<any>) => fake().unary(name, def, call, cb);
    }
    server.addService(v1.NotificationServiceService, impl);
    const bound = await new Promise<number>((ok, bad) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? bad(e) : ok(p))),
    );
    return [server, bound];
  }

  static async start(): Promise<FakeServer> {
    let fake: FakeServer | undefined;
    const [server, port] = await FakeServer.serve(() => fake!, 0);
    fake = new FakeServer(port, server);
    return fake;
  }

  /** Drops every connection (a crash: no goodbye) and serves again on the same port. */
  async restart(): Promise<void> {
    this.server.forceShutdown();
    const port = Number(this.target.split(":")[1]);
    [this.server] = await FakeServer.serve(() => this, port);
  }

  /** Forgets the attempts and the script. */
  reset(): void {
    this.attempts.length = 0;
    this.script = {};
    this.streams = 0;
    this.onStream = (call) => call.end();
  }

  /** The attempts one method received, in order. */
  of(method: string): Attempt[] {
    return this.attempts.filter((a) => a.method === method);
  }

  private unary(name: string, def: { responseDeserialize(b: Buffer): any }, call: ServerUnaryCall<any, any>, cb: sendUnaryData<any>): void {
    this.attempts.push({ method: name, request: call.request, metadata: call.metadata, at: performance.now() });
    const sent = call.metadata.get("x-request-id")[0];
    const echo = typeof sent === "string" ? `fake-${sent}` : undefined;
    const answer = (o: Outcome | undefined): void => {
      if (o === undefined || "ok" in o) {
        if (echo) {
          const md = new Metadata();
          md.set("x-request-id", echo);
          call.sendMetadata(md);
        }
        const base = def.responseDeserialize(Buffer.alloc(0));
        return cb(null, o === undefined ? base : { ...base, ...(o.ok(call.request) as object) });
      }
      if ("fail" in o) {
        const err = statusError(o.fail);
        if (echo) err.metadata!.set("x-request-id", echo);
        return cb(err);
      }
      const timer = setTimeout(() => answer(o.then), o.stallMs);
      call.once("cancelled", () => clearTimeout(timer));
    };
    answer(this.script[name]?.shift());
  }

  private stream(name: string, call: ServerWritableStream<any, any>): void {
    this.attempts.push({ method: name, request: call.request, metadata: call.metadata, at: performance.now() });
    this.onStream(call, ++this.streams);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** A DeliveryEvent message with this sequence (an opt-in on the fake page). */
export function event(sequence: number): v1.StreamDeliveryEventsResponse {
  return v1.StreamDeliveryEventsResponse.fromPartial({
    event: { sequence, type: v1.DeliveryEventType.DELIVERY_EVENT_TYPE_OPT_IN_RECORDED, pageId: "fake-page", psid: `p-${sequence}` },
  });
}
