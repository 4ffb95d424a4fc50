// The TypeScript snippets of docs/clients.md and sdk/typescript/README.md compile against the
// installed package under the defaults of `tsc --init` (strict, exactOptionalPropertyTypes,
// noUncheckedIndexedAccess, module nodenext, verbatimModuleSyntax), as an ES module (the package's
// `import` entry) — and a CommonJS consumer compiles against its `require` entry. Each document's
// ```ts blocks are one module, in order (their imports merged at the top), so a block may use what
// an earlier one declared. Run from check.sh's clean install, where `@otn/client` is the tarball.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "./server";

const TS_DIR = join(repoRoot(), "sdk", "typescript");
const TSC = join(TS_DIR, "node_modules", "typescript", "bin", "tsc");
const DOCS = [join(repoRoot(), "docs", "clients.md"), join(TS_DIR, "README.md")];

/** The ```ts blocks of a Markdown file, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The blocks as one module: every `import { a, b } from "m";` merged at the top, the rest in order. */
export function asModule(blocks: string[]): string {
  const imports = new Map<string, Set<string>>();
  const body: string[] = [];
  for (const block of blocks) {
    for (const line of block.split("\n")) {
      const m = /^import \{([^}]+)\} from "([^"]+)";$/.exec(line.trim());
      if (!m) {
        body.push(line);
        continue;
      }
      const names = imports.get(m[2]!) ?? new Set<string>();
      for (const n of m[1]!.split(",")) if (n.trim()) names.add(n.trim());
      imports.set(m[2]!, names);
    }
    body.push("");
  }
  const head = [...imports].map(([from, names]) => `import { ${[...names].join(", ")} } from "${from}";`);
  return [...head, "", ...body].join("\n");
}

function tsc(dir: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [TSC, ...args], { cwd: dir, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("the docs' TypeScript compiles under tsc --init defaults", { timeout: 120_000 }, () => {
  let dir: string;

  before(() => {
    // Inside the clean install (the cwd), so that @otn/client resolves to the installed tarball.
    dir = mkdtempSync(join(process.cwd(), "snippets-"));
    mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
    symlinkSync(join(TS_DIR, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    assert.equal(tsc(dir, "--init").status, 0);
    // The one change tsc --init's own comment asks of a Node project: its types.
    const config = readFileSync(join(dir, "tsconfig.json"), "utf8");
    assert.match(config, /"types": \[\]/);
    assert.match(config, /"exactOptionalPropertyTypes": true/);
    writeFileSync(join(dir, "tsconfig.json"), config.replace(/"types": \[\]/, '"types": ["node"]'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("finds the snippets", () => {
    for (const doc of DOCS) assert.ok(tsBlocks(readFileSync(doc, "utf8")).length >= 2, `${doc} has fewer than 2 ts blocks`);
  });

  it("compiles every document's snippets (ESM) and a CommonJS consumer", () => {
    DOCS.forEach((doc, i) => writeFileSync(join(dir, `doc${i}.ts`), asModule(tsBlocks(readFileSync(doc, "utf8")))));
    writeFileSync(
      join(dir, "consumer.cts"),
      [
        'import otn = require("@otn/client");',
        "const c = new otn.Client(process.env.OTN_URL, { apiKey: process.env.OTN_API_KEY, retry: { deadlineMs: undefined } });",
        "const pending: Promise<otn.v1.GetNotificationResponse> = c.getNotification({ notificationId: process.env.N });",
        "void pending;",
      ].join("\n"),
    );
    const r = tsc(dir, "-p", ".", "--noEmit");
    assert.equal(r.status, 0, `tsc failed:\n${r.out}\n${readFileSync(join(dir, "doc0.ts"), "utf8")}`);
  });

  it("would catch a type error (the check is real)", () => {
    writeFileSync(join(dir, "doc0.ts"), 'import { Client } from "@otn/client";\nnew Client("t", { apiKey: 42 });\n');
    writeFileSync(join(dir, "doc1.ts"), "export {};\n");
    const r = tsc(dir, "-p", ".", "--noEmit");
    assert.notEqual(r.status, 0);
    assert.match(r.out, /doc0\.ts.*TS2322/);
  });
});
