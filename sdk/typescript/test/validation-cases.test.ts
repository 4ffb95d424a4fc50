// Every case of proto/otn/v1/validation-cases.json through the local validator: exactly the
// expected BadRequest field paths (none for the cases the server accepts), fast even for a list
// of 200,000 entries (its count is checked first).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { performance } from "node:perf_hooks";
import {
  limits,
  v1,
  validateListEligible,
  validateRequestOptIn,
  validateSendNotification,
  type DeepPartial,
  type FieldViolation,
} from "@otn/client";
import { repoRoot } from "./server";

type Value = string | number | { repeat: string; times: number } | { list: string; times: number } | { count: number };
interface Case {
  name: string;
  rpc: string;
  set: string;
  value: Value;
  violations: string[] | { each: string; count: number };
}

/** The expected field paths: a list, or {each: P, count: N} (P with `{i}` as 0..N-1). */
function expected(v: Case["violations"]): string[] {
  if (Array.isArray(v)) return v;
  return Array.from({ length: v.count }, (_, i) => v.each.replace("{i}", String(i)));
}

const FILE = join(repoRoot(), "proto", "otn", "v1", "validation-cases.json");
const CASES = (JSON.parse(readFileSync(FILE, "utf8")) as { cases: Case[] }).cases;

const BUTTON = { title: "Buy", webUrl: "https://shop.example/sku-1" };

function sendBase(set: string): Record<string, unknown> {
  const content = set.startsWith("content.button_template")
    ? { buttonTemplate: { text: "Back in stock", buttons: [{ ...BUTTON }] } }
    : { text: "Back in stock" };
  return { requestId: "case-1", pageId: "case-page", topicKey: "back-in-stock:sku-1", content };
}

function optInBase(): Record<string, unknown> {
  return {
    requestId: "case-1",
    pageId: "case-page",
    psid: "case-psid",
    topicKey: "back-in-stock:sku-1",
    title: "Tell me when it is back",
    payload: "",
  };
}

const sendRequest = (r: Record<string, unknown>) =>
  v1.SendNotificationRequest.fromPartial(r as DeepPartial<v1.SendNotificationRequest>);
const optInRequest = (r: Record<string, unknown>) =>
  v1.RequestOptInRequest.fromPartial(r as DeepPartial<v1.RequestOptInRequest>);
const listRequest = (r: Record<string, unknown>) =>
  v1.ListEligibleRequest.fromPartial(r as DeepPartial<v1.ListEligibleRequest>);
const listBase = (): Record<string, unknown> => ({ pageId: "case-page", topicKey: "back-in-stock:sku-1" });

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The members of each oneof, by the parent path (indexes dropped): setting one clears the others. */
const ONEOFS: Record<string, string[]> = {
  content: ["text", "buttonTemplate"],
  "content.buttonTemplate.buttons": ["webUrl", "postbackPayload"],
  audience: ["allEligible", "tagFilter", "recipients"],
};

function valueOf(v: Value, set: string): unknown {
  if (typeof v === "string" || typeof v === "number") return v;
  if ("repeat" in v) return v.repeat.repeat(v.times);
  if ("list" in v) return Array.from({ length: v.times }, () => v.list);
  if (set !== "content.button_template.buttons") throw new Error(`{count} is only for buttons, not ${set}`);
  return Array.from({ length: v.count }, () => ({ ...BUTTON }));
}

/** Sets `path` (snake_case, with `[i]` indexes) in a ts-proto partial object. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".").map((p) => {
    const m = /^([a-z_]+)(?:\[(\d+)\])?$/.exec(p);
    if (!m) throw new Error(`bad path segment ${p} in ${path}`);
    return { key: camel(m[1]), index: m[2] === undefined ? undefined : Number(m[2]) };
  });
  let cur: Record<string, unknown> = obj;
  const parents: string[] = [];
  parts.forEach(({ key, index }, i) => {
    const last = i === parts.length - 1;
    if (last && index === undefined) {
      const oneof = ONEOFS[parents.join(".")] ?? [];
      if (oneof.includes(key)) for (const sibling of oneof) if (sibling !== key) delete cur[sibling];
      cur[key] = value;
      return;
    }
    let next = cur[key] as Record<string, unknown> | Record<string, unknown>[] | undefined;
    if (next === undefined) next = cur[key] = index === undefined ? {} : [];
    if (index !== undefined) {
      const list = next as Record<string, unknown>[];
      if (last) list[index] = value as Record<string, unknown>;
      else cur = list[index] ??= {};
    } else {
      cur = next as Record<string, unknown>;
    }
    parents.push(key);
  });
}

function violationsOf(c: Case): FieldViolation[] {
  const value = valueOf(c.value, c.set);
  switch (c.rpc) {
    case "SendNotification": {
      const req = sendBase(c.set);
      setPath(req, c.set, value);
      return validateSendNotification(sendRequest(req));
    }
    case "RequestOptIn": {
      const req = optInBase();
      setPath(req, c.set, value);
      return validateRequestOptIn(optInRequest(req));
    }
    case "ListEligible": {
      const req = listBase();
      setPath(req, c.set, value);
      return validateListEligible(listRequest(req));
    }
    default:
      throw new Error(`case "${c.name}": no validator for rpc ${c.rpc}`);
  }
}

describe("validation-cases.json", () => {
  it("has cases for every validated RPC", () => {
    assert.ok(CASES.length >= 40, `only ${CASES.length} cases in ${FILE}`);
    assert.deepEqual([...new Set(CASES.map((c) => c.rpc))].sort(), ["ListEligible", "RequestOptIn", "SendNotification"]);
  });

  it("the base requests are valid", () => {
    assert.deepEqual(validateSendNotification(sendRequest(sendBase("content.text"))), []);
    assert.deepEqual(validateSendNotification(sendRequest(sendBase("content.button_template"))), []);
    assert.deepEqual(validateRequestOptIn(optInRequest(optInBase())), []);
    assert.deepEqual(validateListEligible(listRequest(listBase())), []);
  });

  for (const c of CASES) {
    const want = expected(c.violations);
    it(`${c.rpc}: ${c.name} → [${want.length > 3 ? `${want.length} violations` : want.join(", ")}]`, () => {
      const started = performance.now();
      const got = violationsOf(c);
      const took = performance.now() - started;
      assert.deepEqual(got.map((v) => v.field), want);
      for (const v of got) assert.ok(v.description, `${v.field} has no description`);
      assert.ok(got.length <= limits.VIOLATIONS_MAX);
      assert.ok(took < 1000, `${c.name}: ${took.toFixed(0)} ms (a list's count is checked first)`);
    });
  }

  it("words the list rules and the page size as the server does", () => {
    const got = validateListEligible(
      listRequest({ pageId: "p", topicKey: "t", regions: Array(65).fill("DE"), pageSize: 1001, tagFilter: { allOf: Array(51).fill("vip") } }),
    );
    assert.deepEqual(
      got.map((v) => [v.field, v.description]),
      [
        ["tag_filter.all_of", "must hold at most 50 entries (got 51)"],
        ["regions", "must hold at most 64 entries (got 65)"],
        ["page_size", "must be between 0 (default 100) and 1000"],
      ],
    );
    const send = sendRequest({ ...sendBase("content.button_template"), content: { buttonTemplate: { text: "x", buttons: [] } } });
    assert.deepEqual(validateSendNotification(send).map((v) => [v.field, v.description]), [
      ["content.button_template.buttons", "must hold 1 to 3 entries (got 0)"],
    ]);
  });

  it("reads its numbers from the generated limits table", () => {
    assert.equal(limits.LIMITS_SOURCE, "proto/otn/v1/limits.json");
    const table = JSON.parse(readFileSync(join(repoRoot(), limits.LIMITS_SOURCE), "utf8")) as {
      limits: { name: string; value: number }[];
      alphabets: { name: string; extra: string }[];
    };
    assert.deepEqual(Object.entries(limits.LIMITS), table.limits.map((l) => [l.name, l.value]));
    assert.deepEqual(Object.entries(limits.ALPHABETS), table.alphabets.map((a) => [a.name, a.extra]));
  });
});
