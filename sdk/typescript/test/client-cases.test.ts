// Every case of sdk/client-cases.json (shared with the Python client's suite) through this
// client's own decisions: whether a failed attempt is retried and after how long, how a code is
// classified, whether the event stream reconnects and after how long, the text of an error, the
// "did you mean" suggestion. Also: the generated client-rules module is sdk/client-rules.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import {
  DEFAULT_RECONNECT_POLICY,
  DEFAULT_RETRY_POLICY,
  IDEMPOTENT_METHODS,
  OtnError,
  classify,
  clientRules,
  closestField,
  fields,
  isReconnectable,
  nextDelayMs,
  reconnectDelayMs,
  retryPolicy,
  rpc,
  type ErrorDetail,
} from "@otn/client";
import { repoRoot } from "./server";

type Case = Record<string, any>;
const CASES = JSON.parse(readFileSync(join(repoRoot(), "sdk", "client-cases.json"), "utf8")) as Record<string, Case[]>;
const RULES = JSON.parse(readFileSync(join(repoRoot(), "sdk", "client-rules.json"), "utf8")) as unknown;

const code = (name: string): status => status[name as keyof typeof status] as status;

function error(c: Case): OtnError {
  const details: ErrorDetail[] = [];
  if (c.reason) details.push({ type: "ErrorInfo", value: { reason: c.reason, domain: "otn.v1", metadata: {} } });
  if (c.violations) {
    const fieldViolations = (c.violations as [string, string][]).map(([field, description]) => rpc.BadRequest_FieldViolation.fromPartial({ field, description }));
    details.push({ type: "BadRequest", value: { fieldViolations } });
  }
  if (c.retry_info_ms !== undefined) {
    const s = Math.floor(c.retry_info_ms / 1000);
    details.push({ type: "RetryInfo", value: { retryDelay: { seconds: s, nanos: (c.retry_info_ms - s * 1000) * 1e6 } } });
  }
  return new OtnError({ code: code(c.code), details: c.message ?? "", decodedDetails: details });
}

/** The default policy with a case's overrides (snake_case ms, null = none). */
function policy(overrides: Record<string, number | null> = {}) {
  const names: Record<string, string> = {
    deadline_ms: "deadlineMs",
    max_attempts: "maxAttempts",
    initial_backoff_ms: "initialBackoffMs",
    max_backoff_ms: "maxBackoffMs",
    multiplier: "multiplier",
    max_retry_info_delay_ms: "maxServerDelayMs",
  };
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(overrides)) o[names[k]!] = v === null ? Infinity : v;
  return retryPolicy(o);
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

describe("client-cases.json (shared with the Python client)", () => {
  it("the generated rules are the table", () => {
    assert.deepEqual(clientRules.CLIENT_RULES, RULES);
    assert.equal(DEFAULT_RETRY_POLICY.deadlineMs, clientRules.RETRY_DEADLINE_MS);
    assert.equal(DEFAULT_RECONNECT_POLICY.maxBackoffMs, clientRules.STREAM_MAX_BACKOFF_MS);
  });

  for (const c of CASES.retry!) {
    it(`retry: ${c.name}`, () => {
      const delay = nextDelayMs(policy(c.policy), IDEMPOTENT_METHODS.has(c.method), c.attempt, error(c), c.elapsed_ms ?? 0, () => c.random);
      if (c.expect.retry === false) assert.equal(delay, undefined);
      else assert.ok(delay !== undefined && Math.abs(delay - c.expect.delay_ms) < 1e-6, `waited ${delay}`);
    });
  }

  for (const c of CASES.classify!) {
    it(`classify: ${c.name}`, () => {
      assert.equal(status[classify(code(c.code), c.deadline_passed, c.caller_cancelled)], c.expect);
    });
  }

  for (const c of CASES.stream!) {
    it(`stream: ${c.name}`, () => {
      const err = c.end === "clean" ? undefined : error(c);
      assert.equal(isReconnectable(err, c.own_deadline_passed ?? false), c.expect.reconnect);
      if (c.expect.reconnect) {
        const delay = reconnectDelayMs(DEFAULT_RECONNECT_POLICY, c.failures, err, () => c.random);
        assert.ok(Math.abs(delay - c.expect.delay_ms) < 1e-6, `waited ${delay}`);
      }
    });
  }

  for (const c of CASES.error_text!) {
    it(`error text: ${c.name}`, () => {
      const e = error(c).setAttempts(c.attempts ?? 1, c.retry_deadline_ms);
      assert.equal(e.message, c.expect);
    });
  }

  for (const c of CASES.did_you_mean!) {
    it(`did you mean: ${c.message}.${c.given}`, () => {
      const names = Object.values(fields.MESSAGES[c.message]!).map((f) => f.name);
      assert.equal(closestField(c.given, names) ?? null, c.expect);
      // What a caller sees: the camelCase name, in the violation's description.
      if (c.expect !== null) assert.ok(camel(c.expect) in fields.MESSAGES[c.message]!);
    });
  }
});
