// examples/back-in-stock.ts, compiled, run as a program against the real server: it must send to
// two people and see both deliveries through to SENT.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Server, simulatorUrl } from "./server";

// dist/test/example.test.js -> dist/examples/back-in-stock.js (also in check.sh's clean install)
const EXAMPLE = join(__dirname, "..", "examples", "back-in-stock.js");

describe("examples/back-in-stock", { timeout: 120_000 }, () => {
  let server: Server;
  before(async () => {
    server = await Server.start();
  });
  after(async () => {
    await server?.stop();
  });

  it("sends a back-in-stock alert to two people and streams both SENT events", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, OTN_SIMULATOR_URL: simulatorUrl(server.log, server.httpAddr) };
    if (server.apiKey) env.OTN_API_KEY = server.apiKey;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [EXAMPLE, server.target], { env, timeout: 90_000 });
    assert.equal(stderr, "");
    const lines = stdout.trim().split("\n");
    assert.match(lines[0], /^notification \S+ to 2 people$/, stdout);
    const sent = lines.filter((l) => / DELIVERY_EVENT_TYPE_SENT shopper-\d /.test(`${l} `));
    assert.equal(sent.length, 2, stdout);
  });
});
