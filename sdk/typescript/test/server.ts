// Starts the real otn-server (release binary) on free loopback ports with a fresh SQLite database.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { Client, OtnError } from "../src";
import { status } from "@grpc/grpc-js";

// dist/test/server.js -> sdk/typescript/dist/test -> repository root is four levels up.
export const REPO_ROOT = resolve(__dirname, "..", "..", "..", "..");

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export class Server {
  log = "";
  simulatorUrl?: string;
  private constructor(
    readonly target: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<Server> {
    const env = process.env.OTN_SERVER_BIN ?? join(REPO_ROOT, "target", "release", "otn-server");
    const bin = isAbsolute(env) ? env : resolve(REPO_ROOT, env);
    if (!existsSync(bin)) {
      throw new Error(
        `otn-server binary not found at ${bin}: build it with ` +
          "`cargo build --release -p otn-server --bin otn-server`, or set OTN_SERVER_BIN",
      );
    }
    const dir = mkdtempSync(join(tmpdir(), "otn-ts-e2e-"));
    const target = `127.0.0.1:${await freePort()}`;
    const childEnv: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTN_")) childEnv[k] = v;
    Object.assign(childEnv, {
      OTN_GRPC_ADDR: target,
      OTN_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
      OTN_DATABASE_URL: `sqlite://${dir}/otn.db?mode=rwc`,
      OTN_LOG_FORMAT: "json",
      NO_COLOR: "1",
    });
    const proc = spawn(bin, [], { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    const server = new Server(target, proc, dir);
    const onData = (b: Buffer) => {
      server.log += b.toString();
      const m = /simulator"?\s*[=:]\s*"?(http:\/\/[^\s",\x1b]+)/.exec(server.log);
      if (m) server.simulatorUrl = m[1];
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    await server.waitServing();
    return server;
  }

  /** Polls a cheap RPC until the server answers (anything but UNAVAILABLE / DEADLINE_EXCEEDED). */
  private async waitServing(deadlineMs = 60_000): Promise<void> {
    const client = new Client(this.target, { timeoutMs: 1000 });
    const until = Date.now() + deadlineMs;
    let last = "not tried";
    try {
      while (Date.now() < until) {
        if (this.proc.exitCode !== null) {
          throw new Error(`otn-server exited with ${this.proc.exitCode} on start:\n${this.tail()}`);
        }
        try {
          await client.listEligible({ pageId: "sandbox-page", topicKey: "health:probe", pageSize: 1 });
          return;
        } catch (e) {
          const err = e as OtnError;
          if (err.code !== status.UNAVAILABLE && err.code !== status.DEADLINE_EXCEEDED) return;
          last = err.message;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`otn-server not serving after ${deadlineMs} ms (${last}):\n${this.tail()}`);
    } finally {
      client.close();
    }
  }

  tail(n = 40): string {
    return this.log.split("\n").slice(-n).join("\n");
  }

  /** A token minted by the sandbox's Messenger simulator (so a real send can spend it). */
  async issueOtnToken(pageId: string, psid: string): Promise<string | undefined> {
    if (!this.simulatorUrl) return undefined;
    const r = await fetch(`${this.simulatorUrl}/_sim/issue_otn`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ page_id: pageId, psid }),
    });
    if (!r.ok) throw new Error(`simulator issue_otn: HTTP ${r.status}`);
    return ((await r.json()) as { token: string }).token;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((r) => this.proc.once("exit", () => r()));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
