// `npm run check:readme` (and .ci/run): the README's code works as written,
// against the built package (dist/, so run `npm run build` first).
//   - every ```ts block is compiled strict (NodeNext, skipLibCheck: false) as
//     its own module, importing "tinyflow" by name as a user would (the
//     package resolves to itself through its "exports");
//   - every ```js block is run with Node, and when it ends with comment lines
//     of expected output ("// label: value"), its output must be those lines.
// Snippets are named by the heading above them and their number under it.
// KNOWN_FAILING lists snippets expected to fail for a stated reason, with a
// pattern every one of their errors must match: they are reported but do not
// fail the check (an error of another kind does), and one that passes says
// so, so that the entry can be removed and the snippet enforced.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const KNOWN_FAILING = {};

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
// Inside the package folder, so that "tinyflow" resolves to this package's own exports (dist/).
const work = join(root, ".readme-check");

/** The fenced ts/js blocks of a markdown text, named "<heading> #<n>". */
function snippets(markdown) {
  const out = [];
  let heading = "(top)";
  const perHeading = new Map();
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (h) heading = h[1].trim();
    const open = /^```(ts|typescript|js|javascript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const body = [];
    const line = i + 1;
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const n = (perHeading.get(heading) ?? 0) + 1;
    perHeading.set(heading, n);
    out.push({ name: `${heading} #${n}`, lang: open[1].startsWith("t") ? "ts" : "js", line, code: body.join("\n") });
  }
  return out;
}

/** The "// label: value" comment lines that close a block: the output it promises. */
function expectedOutput(code) {
  const lines = code.trimEnd().split("\n");
  const tail = [];
  for (let i = lines.length - 1; i >= 0 && /^\/\/ \S[^:]*: /.test(lines[i]); i--) tail.unshift(lines[i].slice(3));
  return tail;
}

if (!existsSync(join(root, "dist", "src", "index.d.ts"))) {
  console.error("[readme] dist/ is not built: run `npm run build` first");
  process.exit(1);
}

const all = snippets(readFileSync(join(root, "README.md"), "utf8"));
rmSync(work, { recursive: true, force: true });
mkdirSync(work);
const results = new Map();
const file = (s, i) => `snippet${String(i).padStart(2, "0")}.${s.lang === "ts" ? "ts" : "mjs"}`;

// TypeScript: one compilation, diagnostics sorted back to their snippets.
const tsSnippets = all.map((s, i) => ({ s, f: file(s, i) })).filter(({ s }) => s.lang === "ts");
for (const { s, f } of tsSnippets) writeFileSync(join(work, f), `${s.code}\nexport {};\n`);
writeFileSync(
  join(work, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      lib: ["es2022", "esnext.disposable", "dom"],
      types: [],
      strict: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files: tsSnippets.map(({ f }) => f),
  }),
);
let diagnostics = "";
try {
  execFileSync(process.execPath, [tsc, "-p", work, "--pretty", "false"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
} catch (e) {
  diagnostics = `${e.stdout ?? ""}${e.stderr ?? ""}`;
}
const diagLines = diagnostics.split("\n").filter((l) => l.trim());
for (const { s, f } of tsSnippets) {
  const mine = diagLines.filter((l) => l.includes(`${f}(`));
  const errors = mine.filter((l) => /error TS/.test(l));
  const expected = KNOWN_FAILING[s.name] !== undefined && errors.every((l) => KNOWN_FAILING[s.name].errors.test(l));
  results.set(s.name, mine.length ? { ok: false, expected, why: mine.join("\n") } : { ok: true, why: "compiles strict" });
}
const stray = diagLines.filter((l) => !tsSnippets.some(({ f }) => l.includes(f)) && /error TS/.test(l));
if (stray.length) {
  console.error(`[readme] the compiler reported errors outside the snippets (in the package's .d.ts?):\n${stray.join("\n")}`);
  process.exitCode = 1;
}

// JavaScript: run each, compare with the output it promises.
for (const [i, s] of all.entries()) {
  if (s.lang !== "js") continue;
  const f = file(s, i);
  writeFileSync(join(work, f), s.code);
  let out;
  try {
    out = execFileSync(process.execPath, [join(work, f)], { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    results.set(s.name, { ok: false, why: `node exited with ${e.status}:\n${e.stdout ?? ""}${e.stderr ?? ""}` });
    continue;
  }
  const want = expectedOutput(s.code);
  const got = out.trimEnd().split("\n");
  const same = want.length === 0 || (want.length === got.length && want.every((w, k) => w === got[k]));
  results.set(s.name, same ? { ok: true, why: `runs${want.length ? ", prints what it says" : ""}` } : { ok: false, why: `printed:\n${got.join("\n")}\nthe README says:\n${want.join("\n")}` });
}

let failed = 0;
for (const s of all) {
  const r = results.get(s.name);
  const known = KNOWN_FAILING[s.name];
  const indent = (t) => t.split("\n").map((l) => `      ${l}`).join("\n");
  if (r.ok && known) console.log(`[readme] PASS  ${s.name} (${s.lang}, README line ${s.line}) — listed in KNOWN_FAILING but passes now: remove it there to enforce it`);
  else if (r.ok) console.log(`[readme] PASS  ${s.name} (${s.lang}, README line ${s.line}): ${r.why}`);
  else if (known && r.expected) console.log(`[readme] KNOWN FAILURE  ${s.name} (${s.lang}, README line ${s.line}): ${known.reason}\n${indent(r.why)}`);
  else {
    failed++;
    console.log(`[readme] FAIL  ${s.name} (${s.lang}, README line ${s.line})\n${indent(r.why)}`);
  }
}
console.log(`[readme] ${all.length} snippets: ${all.length - failed} pass or are known failures, ${failed} fail`);
rmSync(work, { recursive: true, force: true });
if (failed > 0) process.exitCode = 1;
