// `npm run build`: compiles src/ and transforms/ into dist/ (ESM JavaScript,
// .d.ts declarations, source maps with the TypeScript inlined) and puts the
// kernels .wasm next to the module that loads it.
//
// The sources use extensionless relative imports ("./array"), which bundlers
// and tsx accept but Node's ESM loader and `moduleResolution: "NodeNext"`
// consumers do not. Rather than rewrite every source file, this script fixes
// the emitted files: each module specifier in dist/**/*.js and *.d.ts is
// resolved against dist/ and given its real file name ("./array.js",
// "./core/index.js"); a package subpath into a package without an "exports"
// map (e.g. "fp-ts/lib/Either") gets its ".js" too. An import that resolves
// to nothing fails the build, so a broken dist/ is never packed.
//
// Files are emitted one per source file (no bundling), so every entry point
// shares the same module instances of the core (one trace state, one backend
// registry).

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
/** The kernel-loading module's folder in dist/: the .wasm must sit beside it (see KERNELS_URL in src/backends/wasm/kernel_binary.ts). */
const kernelsDir = join(dist, "src", "backends", "wasm");
const KERNELS_FILE = "tinyflow_kernels.wasm";

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const isFile = (p) => existsSync(p) && statSync(p).isFile();

/** The specifier with the file name Node's ESM resolver needs, or undefined when it is fine as written. */
function fixSpecifier(spec, fromFile, isDeclaration) {
  const probe = isDeclaration ? ".d.ts" : ".js";
  if (spec.startsWith("./") || spec.startsWith("../")) {
    const base = resolve(dirname(fromFile), spec);
    if (/\.(m?js|json|wasm)$/.test(spec) && (isFile(base) || isFile(base.replace(/\.m?js$/, probe)))) return undefined;
    if (isFile(base + probe)) return `${spec}.js`;
    if (isFile(join(base, `index${probe}`))) return `${spec}/index.js`;
    throw new Error(`${relative(root, fromFile)}: cannot resolve the import "${spec}" inside dist/`);
  }
  // A subpath into a package without an "exports" map is resolved by file name, which ESM needs in full.
  const m = /^((?:@[^/]+\/)?[^/@][^/]*)\/(.+)$/.exec(spec);
  if (!m || spec.startsWith("node:") || /\.(m?js|cjs|json)$/.test(spec)) return undefined;
  const [, pkgName, sub] = m;
  let pkgJson;
  try {
    pkgJson = createRequire(fromFile).resolve(`${pkgName}/package.json`);
  } catch {
    return undefined; // exports that hide package.json: the package defines its own subpaths
  }
  const pkg = JSON.parse(readFileSync(pkgJson, "utf8"));
  if (pkg.exports !== undefined) return undefined;
  const pkgDir = dirname(pkgJson);
  if (isFile(join(pkgDir, `${sub}.js`))) return `${spec}.js`;
  if (isFile(join(pkgDir, sub, "index.js"))) return `${spec}/index.js`;
  throw new Error(`${relative(root, fromFile)}: cannot resolve the import "${spec}" in the package ${pkgName}`);
}

/** String literals that name modules: import/export ... from "x", import("x"), import("x").T in types, import "x". */
function moduleSpecifiers(sf) {
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function rewriteFile(file) {
  const isDeclaration = file.endsWith(".d.ts");
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, isDeclaration ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const edits = [];
  for (const lit of moduleSpecifiers(sf)) {
    const fixed = fixSpecifier(lit.text, file, isDeclaration);
    if (fixed !== undefined) edits.push({ start: lit.getStart(sf) + 1, end: lit.getEnd() - 1, text: fixed });
  }
  if (edits.length === 0) return 0;
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  writeFileSync(file, out);
  return edits.length;
}

const t0 = performance.now();
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
let rewritten = 0;
const files = walk(dist).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"));
for (const f of files) rewritten += rewriteFile(f);
copyFileSync(join(root, "wasm", KERNELS_FILE), join(kernelsDir, KERNELS_FILE));
console.log(`build: ${files.length} files in dist/ (${rewritten} import specifiers given file names), ${KERNELS_FILE} copied; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
