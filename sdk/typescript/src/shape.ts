// The shape of a request, checked before it is encoded: a field the message does not have, or a
// value of the wrong type (from JavaScript, `any`, or JSON), is reported with the contract's field
// path — never left to the encoder (which throws TypeErrors, turns numbers into strings, or fails
// as INTERNAL "serialization failure") nor dropped silently. The fields and enums come from the
// generated src/gen/fields.ts.
import type { FieldViolation } from "./errors";
import { BadRequest_FieldViolation } from "./gen/google/rpc/error_details";
import { ERRORS_DID_YOU_MEAN_LENGTH_DIVISOR, ERRORS_DID_YOU_MEAN_MIN_DISTANCE } from "./gen/client-rules";
import { ENUMS, MESSAGES, type FieldShape } from "./gen/fields";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** "string \"abc\"", "number 1.5", "an array", "null", "a Date", … for an error message. */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a Date";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  if (typeof v === "object") return `an object (${Object.getPrototypeOf(v)?.constructor?.name ?? "null prototype"})`;
  return typeof v;
}

/** Levenshtein distance, ASCII case ignored. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * The contract (snake_case) name closest to `name` or to its snake_case form (`pageIdd` ->
 * `page_idd`), within max(2, len/3) edits; the first of equals (sdk/client-rules.json `errors`,
 * the Python client's rule too). Undefined when none is close.
 */
export function closestField(name: string, choices: readonly string[]): string | undefined {
  const snake = name.replace(/(?<=[a-z0-9])[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const limit = Math.max(ERRORS_DID_YOU_MEAN_MIN_DISTANCE, Math.floor(name.length / ERRORS_DID_YOU_MEAN_LENGTH_DIVISOR));
  let best: [string, number] | undefined;
  for (const c of choices) {
    const d = Math.min(distance(name, c), distance(snake, c));
    if (!best || d < best[1]) best = [c, d];
  }
  return best && best[1] <= limit ? best[0] : undefined;
}

function add(out: FieldViolation[], field: string, description: string): void {
  out.push(BadRequest_FieldViolation.fromPartial({ field, description }));
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/**
 * The violations of `value` as a `DeepPartial` of the otn.v1 message `typeName` (for example
 * `"otn.v1.SendNotificationRequest"`): fields it does not have (with a suggestion) and values of
 * the wrong type, each with its field path as the server names it
 * (`content.button_template.buttons[0].title`). `undefined` and `null` mean "not set". Empty when
 * the request can be encoded as given.
 */
export function shapeViolations(typeName: string, value: unknown): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (value === undefined) return out;
  checkMessage(typeName, value, "", out);
  return out;
}

function checkMessage(typeName: string, value: unknown, path: string, out: FieldViolation[]): void {
  const fields = MESSAGES[typeName];
  if (!fields) throw new Error(`no message ${typeName} in the generated fields module`);
  if (!isRecord(value)) {
    add(out, path || "request", `must be an object with the fields of ${typeName}, got ${describe(value)}`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const shape = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
    if (!shape) {
      const shapes = Object.entries(fields);
      const hint = closestField(key, shapes.map(([, f]) => f.name));
      const camel = shapes.find(([, f]) => f.name === hint)?.[0];
      const suggestion = camel ? `; did you mean '${camel}'?` : "";
      add(out, join(path, key), `${typeName} has no field ${JSON.stringify(key)}${suggestion}`);
      continue;
    }
    if (v === undefined || v === null) continue;
    const where = join(path, shape.name);
    if (shape.repeated) {
      if (!Array.isArray(v)) {
        add(out, where, `must be an array, got ${describe(v)}`);
        continue;
      }
      v.forEach((item, i) => checkValue(shape, item, `${where}[${i}]`, out));
    } else {
      checkValue(shape, v, where, out);
    }
  }
}

function checkValue(shape: FieldShape, v: unknown, where: string, out: FieldViolation[]): void {
  const bad = (expected: string) => add(out, where, `must be ${expected}, got ${describe(v)}`);
  switch (shape.kind) {
    case "string":
      if (typeof v !== "string") bad("a string");
      else if (LONE_SURROGATE.test(v)) add(out, where, "is not well-formed Unicode (a lone surrogate)");
      return;
    case "bool":
      if (typeof v !== "boolean") bad("a boolean");
      return;
    case "int32":
      if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) bad("a 32-bit integer");
      return;
    case "uint32":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 4294967295) bad("an unsigned 32-bit integer");
      return;
    case "int64":
      if (typeof v !== "number" || !Number.isSafeInteger(v)) bad("a safe integer (int64 fields are numbers)");
      return;
    case "timestamp":
      if (!(v instanceof Date) || Number.isNaN(v.getTime())) bad("a valid Date");
      return;
    case "enum": {
      const values = ENUMS[shape.type ?? ""] ?? {};
      if (typeof v === "number" && Number.isInteger(v) && values[v] !== undefined) return;
      const short = (shape.type ?? "").replace(/^otn\.v1\./, "");
      const named = typeof v === "string" ? Object.entries(values).find(([, n]) => n === v) : undefined;
      bad(named ? `a number (v1.${short}.${v} = ${named[0]})` : `a value of ${shape.type} (v1.${short}.…)`);
      return;
    }
    case "message":
      checkMessage(shape.type ?? "", v, where, out);
      return;
  }
}
