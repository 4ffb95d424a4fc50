// A grpc-js client interceptor that records every attempt a client makes (method, request_id,
// status code, start and end), to see the client's retries from the wire side against the real
// server. It observes only: `new Client(target, { channelOptions: { interceptors: [rec.interceptor] } })`.
import { performance } from "node:perf_hooks";
import { InterceptingCall, ListenerBuilder, RequesterBuilder, status, type Interceptor } from "@grpc/grpc-js";

export interface Attempt {
  /** "RequestOptIn" */
  method: string;
  requestId?: string;
  code: status;
  /** performance.now() */
  start: number;
  end: number;
}

export class Recorder {
  readonly attempts: Attempt[] = [];

  readonly interceptor: Interceptor = (options, nextCall) => {
    const method = options.method_definition.path.split("/").pop() ?? "";
    const start = performance.now();
    let requestId: string | undefined;
    const requester = new RequesterBuilder()
      .withSendMessage((message: { requestId?: string }, next) => {
        requestId = message?.requestId;
        next(message);
      })
      .withStart((metadata, listener, next) => {
        next(
          metadata,
          new ListenerBuilder()
            .withOnReceiveStatus((st, nextStatus) => {
              this.attempts.push({ method, requestId, code: st.code, start, end: performance.now() });
              nextStatus(st);
            })
            .build(),
        );
      })
      .build();
    return new InterceptingCall(nextCall(options), requester);
  };

  of(method: string): Attempt[] {
    return this.attempts.filter((a) => a.method === method);
  }

  /** The status names of a method's attempts, in order ("UNAVAILABLE", …, "OK"). */
  codes(method: string): string[] {
    return this.of(method).map((a) => status[a.code]);
  }

  /** The time between the end of each attempt and the start of the next one, in ms. */
  waits(method: string): number[] {
    const a = this.of(method);
    return a.slice(1).map((b, i) => b.start - a[i].end);
  }
}
