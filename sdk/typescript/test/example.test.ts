// examples/back-in-stock.ts, compiled, run as a program twice in a row against a fresh sandbox
// server of its own: it makes its own opt-ins through the sandbox control API, and both runs send
// to every shopper.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Server } from "./server";

// dist/test/example.test.js -> dist/examples/back-in-stock.mjs (also in check.sh's clean install)
const EXAMPLE = join(__dirname, "..", "examples", "back-in-stock.mjs");
const SHOPPERS = ["shopper-1", "shopper-2", "shopper-3"];

describe("examples/back-in-stock", { timeout: 180_000 }, () => {
  let server: Server;
  before(async () => {
    server = await Server.start();
  });
  after(async () => {
    await server?.stop();
  });

  async function runExample(): Promise<string[]> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTN_")) env[k] = v;
    env.OTN_SANDBOX_URL = `http://${server.httpAddr}`;
    env.OTN_API_KEY = server.apiKey;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [EXAMPLE, server.target], {
      env,
      timeout: 90_000,
    });
    assert.equal(stderr, "");
    return stdout.trim().split("\n");
  }

  it("runs twice on a fresh sandbox, each run sending to every shopper", async () => {
    const notifications: string[] = [];
    for (const run of [1, 2]) {
      const lines = await runExample(); // rejects when the example exits non-zero
      const text = `run ${run}:\n${lines.join("\n")}`;
      assert.equal(lines[0], `opted in: ${SHOPPERS.join(" ")}`, text);
      const m = /^notification (\S+) to 3 people$/.exec(lines[1]);
      assert.ok(m, text);
      notifications.push(m[1]);
      const sent = lines.filter((l) => / DELIVERY_EVENT_TYPE_SENT /.test(`${l} `)).map((l) => l.split(" ")[2]);
      assert.deepEqual(sent.sort(), SHOPPERS, text);
      assert.ok(!lines.some((l) => l.includes("DELIVERY_EVENT_TYPE_FAILED")), text);
      assert.match(lines[lines.length - 1], /^state NOTIFICATION_STATE_COMPLETED sent 3 failed 0$/, text);
    }
    assert.notEqual(notifications[0], notifications[1]);
    // The simulated Meta accepted six alerts, two per shopper, each spending a token it issued
    // (the example recorded no grant of its own making).
    type Accepted = { recipient_psid: string; token: string | null; token_kind: string | null; message: any };
    const alerts = (await server.sim<Accepted[]>("messages")).filter(
      (m) => m.message?.attachment?.payload?.text === "Sneaker X is back in stock!",
    );
    assert.deepEqual(alerts.map((m) => m.recipient_psid).sort(), [...SHOPPERS, ...SHOPPERS].sort());
    assert.ok(alerts.every((m) => m.token && m.token_kind === "one_time_notification"), JSON.stringify(alerts));
    assert.equal(new Set(alerts.map((m) => m.token)).size, 6, "a token was spent twice");
  });
});
