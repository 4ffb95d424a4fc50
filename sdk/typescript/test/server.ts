// Starts the real otn-server (release binary) on loopback ports with a fresh SQLite database,
// and can kill and restart it on the same database and ports.
//
// What depends on the server's command line and log is ONE function each:
// - the binary:                serverBinary()
// - API keys:                  createApiKey() / obtainApiKey() (every client the tests make gets
//                              the key with every scope)
// - the sandbox control API:   simulatorUrl(); Server.sim() calls it (`/_sim/...` on the HTTP
//                              listener: people messaging the page, "Notify Me", Graph API faults)
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { Client, GrpcStatus, OtnError, type ClientOptions } from "@otn/client";

/**
 * The repository root: $OTN_REPO_ROOT (check.sh sets it, the tests then run from a clean
 * install elsewhere), else four levels above dist/test.
 */
export function repoRoot(): string {
  return process.env.OTN_REPO_ROOT ?? resolve(__dirname, "..", "..", "..", "..");
}

/** The otn-server binary: $OTN_SERVER_BIN, else target/release/otn-server. */
export function serverBinary(): string {
  const env = process.env.OTN_SERVER_BIN ?? join("target", "release", "otn-server");
  const bin = isAbsolute(env) ? env : resolve(repoRoot(), env);
  if (!existsSync(bin)) {
    throw new Error(
      `otn-server binary not found at ${bin}: build it with ` +
        "`cargo build --release -p otn-server --bin otn-server`, or set OTN_SERVER_BIN",
    );
  }
  return bin;
}

export const ALL_SCOPES = ["read", "consent", "send", "erase"] as const;

/**
 * A new API key with these scopes (and only these pages, when given), made by the server binary
 * on the server's database (`otn-server --database-url URL api-key create --name N --scope S…
 * [--page P…]`; the key is the last line of standard output).
 */
export function createApiKey(
  bin: string,
  databaseUrl: string,
  name: string,
  scopes: readonly string[],
  pages: readonly string[] = [],
): string {
  const args = ["--database-url", databaseUrl, "api-key", "create", "--name", name];
  for (const scope of scopes) args.push("--scope", scope);
  for (const page of pages) args.push("--page", page);
  const r = spawnSync(bin, args, { encoding: "utf8", env: serverEnv({}) });
  const key = r.stdout?.trim().split("\n").pop()?.trim();
  if (r.status !== 0 || !key || key.includes(" ")) {
    throw new Error(`api-key create failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return key;
}

/** The API key every client of the tests sends: one with every scope. */
export function obtainApiKey(bin: string, databaseUrl: string): string {
  return createApiKey(bin, databaseUrl, "ts-tests", ALL_SCOPES);
}

/**
 * The base URL of the sandbox's simulator control API (`{url}/_sim/...`): the server's HTTP
 * listener, as its SANDBOX log line says (`control=http://<http_addr>/_sim/`).
 */
export function simulatorUrl(log: string, httpAddr: string): string {
  const m = /"control"\s*:\s*"(http:\/\/[^"]+?)\/_sim\/?"|control=(http:\/\/\S+?)\/_sim\/?(?:\s|$)/.exec(log);
  return m ? (m[1] ?? m[2]) : `http://${httpAddr}`;
}

/** A Graph API fault of the simulator (simulator/src/control.rs): `{ kind: "server_error" }`, … */
export interface Fault {
  kind: string;
  ms?: number;
  code?: number;
}

/** The child environment: ours without OTN_*, plus `extra`. */
function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTN_")) env[k] = v;
  return { ...env, NO_COLOR: "1", OTN_LOG_FORMAT: "json", ...extra };
}

/** Polls `check` every `everyMs` until it returns a value, or fails after `deadlineMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, deadlineMs = 30_000, everyMs = 50): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class Server {
  log = "";
  apiKey?: string;
  /** 127.0.0.1:port of gRPC and of the webhook HTTP server (known once serving). */
  grpcAddr = "";
  httpAddr = "";
  private proc?: ChildProcess;
  private readonly bin = serverBinary();
  private readonly dir = mkdtempSync(join(tmpdir(), "otn-ts-e2e-"));
  readonly databaseUrl = `sqlite://${this.dir}/otn.db?mode=rwc`;

  private constructor() {}

  /** A server on free ports (the OS picks them; the log says which) with a fresh database. */
  static async start(): Promise<Server> {
    const server = new Server();
    try {
      await server.spawn("127.0.0.1:0", "127.0.0.1:0");
      server.apiKey = obtainApiKey(server.bin, server.databaseUrl);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  get target(): string {
    return this.grpcAddr;
  }

  /** A client of this server with the tests' API key; `options` override the defaults. */
  client(options: ClientOptions = {}): Client {
    return new Client(this.target, { apiKey: this.apiKey, timeoutMs: 10_000, ...options });
  }

  private async spawn(grpcAddr: string, httpAddr: string): Promise<void> {
    this.log = "";
    const proc = spawn(this.bin, [], {
      cwd: this.dir,
      env: serverEnv({
        OTN_GRPC_ADDR: grpcAddr,
        OTN_HTTP_ADDR: httpAddr,
        OTN_DATABASE_URL: this.databaseUrl,
        OTN_SANDBOX: "1",
        OTN_ADMIN_ADDR: "127.0.0.1:0",
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    const onData = (b: Buffer) => (this.log += b.toString());
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    const addrs = await waitFor("the server's `otn serving` log line", () => {
      if (!this.running()) {
        throw new Error(`otn-server exited (${proc.exitCode ?? proc.signalCode}) on start:\n${this.tail()}`);
      }
      const g = /"grpc_addr"\s*:\s*"([^"]+)"|grpc_addr=(\S+)/.exec(this.log);
      const h = /"http_addr"\s*:\s*"([^"]+)"|http_addr=(\S+)/.exec(this.log);
      return g && h ? [g[1] ?? g[2], h[1] ?? h[2]] : undefined;
    }, 60_000);
    [this.grpcAddr, this.httpAddr] = addrs;
    await this.waitServing();
  }

  /** Polls a cheap RPC until the server answers (anything but UNAVAILABLE / DEADLINE_EXCEEDED). */
  private async waitServing(deadlineMs = 60_000): Promise<void> {
    const client = new Client(this.target, { apiKey: this.apiKey, timeoutMs: 1000, retry: { maxAttempts: 1 } });
    let last = "not tried";
    try {
      await waitFor(`otn-server serving on ${this.target}`, async () => {
        if (!this.running()) throw new Error(`otn-server exited on start:\n${this.tail()}`);
        try {
          await client.listEligible({ pageId: "sandbox-page", topicKey: "health:probe", pageSize: 1 });
          return true;
        } catch (e) {
          const err = e as OtnError;
          if (err.code !== GrpcStatus.UNAVAILABLE && err.code !== GrpcStatus.DEADLINE_EXCEEDED) return true;
          last = err.message;
          return undefined;
        }
      }, deadlineMs, 100);
    } catch (e) {
      throw new Error(`${(e as Error).message} (${last}):\n${this.tail()}`);
    } finally {
      client.close();
    }
  }

  private running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** What the server (since its last start) wrote to stdout and stderr: its JSON log. */
  logText(): string {
    return this.log;
  }

  tail(n = 40): string {
    return this.log.split("\n").slice(-n).join("\n");
  }

  /** The base URL of the sandbox control API (the HTTP listener). */
  get sandboxUrl(): string {
    return simulatorUrl(this.log, this.httpAddr);
  }

  /** A new API key with these scopes (and pages) on this server's database. */
  createApiKey(name: string, scopes: readonly string[], pages: readonly string[] = []): string {
    return createApiKey(this.bin, this.databaseUrl, name, scopes, pages);
  }

  /**
   * Calls the sandbox's simulator control API: POSTs `body` as JSON (GET without one) to
   * `{sandboxUrl}/_sim/{path}`; resolves to the decoded JSON answer, rejects on an HTTP error.
   */
  async sim<T = any>(path: string, body?: unknown): Promise<T> {
    const url = `${this.sandboxUrl}/_sim/${path.replace(/^\//, "")}`;
    const r = await fetch(url, body === undefined ? {} : {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`sandbox control ${body === undefined ? "GET" : "POST"} ${url}: HTTP ${r.status}: ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** A token minted by the sandbox's Messenger simulator (so a real send can spend it). */
  async issueOtnToken(pageId: string, psid: string): Promise<string> {
    return (await this.sim<{ token: string }>("issue_otn", { page_id: pageId, psid })).token;
  }

  /**
   * Queues Graph API faults (each later Graph call of the server consumes one), clearing what
   * was queued; resolves to how many are queued.
   */
  async injectFaults(...faults: Fault[]): Promise<number> {
    return (await this.sim<{ queued: number }>("faults", { clear: true, queue: faults })).queued;
  }

  async queuedFaults(): Promise<number> {
    return (await this.sim<{ queued: number }>("faults", {})).queued;
  }

  /** SIGKILL: no shutdown, no goodbye to the clients (a crash). */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** Starts the server again (after kill()) on the same database and the same ports. */
  async startAgain(): Promise<void> {
    if (this.running()) throw new Error("the server is running");
    await this.spawn(this.grpcAddr, this.httpAddr);
  }

  /**
   * Stops the server (SIGKILL, or SIGTERM with `graceful`) and starts it again on the same
   * database and the same ports.
   */
  async restart(graceful = false): Promise<void> {
    await this.signal(graceful ? "SIGTERM" : "SIGKILL");
    await this.spawn(this.grpcAddr, this.httpAddr);
  }

  private async signal(sig: NodeJS.Signals, graceMs = 15_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running()) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
