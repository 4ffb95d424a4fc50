// Starts the real otn-server (release binary) on loopback ports with a fresh SQLite database,
// and can kill and restart it on the same database and ports.
//
// The server's coming changes each touch ONE function here:
// - the binary:                serverBinary()
// - API keys:                  obtainApiKey() (every client the tests make gets its key)
// - the simulator's control:   simulatorUrl()
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

/**
 * The API key every client of the tests sends. A server with the `api-key` command gets a key
 * with every scope (`api-key create`, the key is the last line of stdout); the v1 server has no
 * keys and a sandbox accepts unauthenticated calls: undefined.
 */
export function obtainApiKey(bin: string, databaseUrl: string): string | undefined {
  const probe = spawnSync(bin, ["api-key", "--help"], { encoding: "utf8", env: serverEnv({}) });
  if (probe.status !== 0) return undefined; // "unexpected argument 'api-key'": no keys yet
  const args = ["--database-url", databaseUrl, "api-key", "create", "--name", "ts-tests"];
  for (const scope of ["read", "consent", "send", "erase"]) args.push("--scope", scope);
  const r = spawnSync(bin, args, { encoding: "utf8", env: serverEnv({}) });
  if (r.status !== 0) throw new Error(`api-key create failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const key = r.stdout.trim().split("\n").pop()?.trim();
  if (!key) throw new Error(`api-key create printed no key:\n${r.stdout}`);
  return key;
}

/**
 * The base URL of the sandbox's Messenger simulator control API (`{url}/_sim/...`): the URL the
 * v1 server logs in its SANDBOX warning, else the webhook HTTP address (where it moves).
 */
export function simulatorUrl(log: string, httpAddr: string): string {
  const m = /"simulator"\s*:\s*"(http:\/\/[^"]+)"|simulator=(http:\/\/\S+)/.exec(log);
  return m ? (m[1] ?? m[2]) : `http://${httpAddr}`;
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

  tail(n = 40): string {
    return this.log.split("\n").slice(-n).join("\n");
  }

  /** A token minted by the sandbox's Messenger simulator (so a real send can spend it). */
  async issueOtnToken(pageId: string, psid: string): Promise<string> {
    const r = await fetch(`${simulatorUrl(this.log, this.httpAddr)}/_sim/issue_otn`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ page_id: pageId, psid }),
    });
    if (!r.ok) throw new Error(`simulator issue_otn: HTTP ${r.status}`);
    return ((await r.json()) as { token: string }).token;
  }

  /** SIGKILL: no shutdown, no goodbye to the clients (a crash). */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** Kills the server and starts it again on the same database and the same ports. */
  async restart(): Promise<void> {
    await this.kill();
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
