// `npm run check:package` (and .ci/run): the package as a user gets it.
// Packs the tarball (`npm pack`, whose prepack step runs the build), checks
// what it ships, installs it into a fresh project in a temp folder (tinyflow
// from the tarball, its dependencies from the npm cache or registry), and
// there, with the consumer programs of test/consumers/:
//   1. runs plain Node ESM (node/index.mjs);
//   2. compiles index.ts strict with skipLibCheck: false under NodeNext, then
//      runs the output; under Bundler resolution; with the tsconfig a
//      newcomer's `tsc --init` writes; and entry_points.ts, which imports every
//      entry point of package.json "exports", in a Node project without the
//      DOM lib (lib es2022, @types/node, skipLibCheck: false);
//   3. bundles browser/app.ts with esbuild for the browser (the kernels .wasm
//      copied next to the bundle) and builds it with Vite (which must ship the
//      .wasm by itself), serves each cross-origin isolated and runs it in
//      headless Chromium (/usr/bin/chromium via playwright-core): the page
//      must compute on the wasm backend with its worker threads and without
//      calling loadWasmBackend.
// Every step prints a labelled line; any failure exits non-zero.

import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { build as viteBuild } from "vite";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(root, "test", "consumers");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const CHROMIUM = "/usr/bin/chromium";
const keep = process.argv.includes("--keep");

const work = mkdtempSync(join(tmpdir(), "tinyflow-consumer-"));
const app = join(work, "app");
const t0 = performance.now();
const secs = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

function run(cmd, args, cwd, label) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (e) {
    throw new Error(`${label} failed (${cmd} ${args.join(" ")} in ${cwd}):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

function step(label, out) {
  const body = out.trim().split("\n").map((l) => `    ${l}`).join("\n");
  console.log(`[package] ${label} (${secs()})${body ? `\n${body}` : ""}`);
}

/** The tarball holds the build and nothing of the repository's development files. */
function checkTarball(files) {
  const names = files.map((f) => f.path);
  const need = ["package.json", "README.md", "LICENSE", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/backends/wasm/tinyflow_kernels.wasm"];
  const missing = need.filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`the tarball lacks ${missing.join(", ")}`);
  const stray = names.filter((n) => !(n.startsWith("dist/") || ["package.json", "README.md", "LICENSE"].includes(n)) || (/\.ts$/.test(n) && !n.endsWith(".d.ts")));
  if (stray.length) throw new Error(`the tarball ships files users do not need: ${stray.slice(0, 10).join(", ")}${stray.length > 10 ? ", ..." : ""}`);
}

async function serveAndRun(site) {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(site, path === "/" ? "index.html" : path.slice(1));
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    if (!existsSync(file) || path.includes("..")) {
      res.statusCode = 404;
      res.end("not found");
      return;
    }
    res.setHeader("Content-Type", types[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream");
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const userDataDir = mkdtempSync(join(tmpdir(), "tinyflow-consumer-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await context.newPage();
    const logs = [];
    page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.__result !== undefined || window.__error !== undefined, null, { timeout: 60_000 }).catch((e) => {
      throw new Error(`the page produced no result: ${e.message}\n${logs.join("\n")}`);
    });
    const out = await page.evaluate(() => ({ result: window.__result, error: window.__error, cores: navigator.hardwareConcurrency }));
    if (out.error) throw new Error(`the page failed: ${out.error}\n${logs.join("\n")}`);
    return { ...out, workers: page.workers().length };
  } finally {
    await context.close();
    server.closeAllConnections();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** Runs the built app in Chromium: it must compute right, on wasm, with its worker threads. */
async function checkInBrowser(label, site) {
  const page = await serveAndRun(site);
  const r = page.result;
  const problems = [];
  if (r.backend !== "wasm") problems.push(`backend ${r.backend}, not wasm`);
  if (!r.crossOriginIsolated) problems.push("the page is not cross-origin isolated");
  if (!close(r.grad, [-14.666667, -18.666667], 1e-4)) problems.push(`jit(grad) gave ${JSON.stringify(r.grad)}`);
  if (r.bigSum !== 256 ** 3) problems.push(`the 256x256 matmul summed to ${r.bigSum}, not ${256 ** 3}`);
  if (page.cores > 1 && page.workers === 0) problems.push(`no worker threads started (hardwareConcurrency ${page.cores})`);
  if (problems.length) throw new Error(`${label}: ${problems.join("; ")}`);
  step(
    label,
    `backend=${r.backend} crossOriginIsolated=${r.crossOriginIsolated} workers=${page.workers} (hardwareConcurrency ${page.cores})\n` +
      `jit(grad(loss)) = ${JSON.stringify(r.grad)}; sum(ones(256,256) @ ones(256,256)) = ${r.bigSum}`,
  );
}

/** The fixture must import every subpath of package.json "exports" that has types, so a new entry point is checked too. */
function checkImportsEveryEntryPoint(fixture) {
  const { name, exports } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const source = readFileSync(fixture, "utf8");
  const typed = Object.entries(exports).filter(([, target]) => typeof target === "object" && target.types !== undefined);
  const specifiers = typed.map(([subpath]) => (subpath === "." ? name : `${name}/${subpath.slice(2)}`));
  const missing = specifiers.filter((spec) => !source.includes(`from "${spec}"`));
  if (missing.length) throw new Error(`${fixture} does not import ${missing.join(", ")}: add the entry point to it`);
  return specifiers;
}

function close(a, b, tol) {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

try {
  // The tarball, as `npm pack` makes it (prepack runs `npm run build`).
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root, "npm pack").replace(/^[^[]*/s, ""))[0];
  checkTarball(packed.files);
  const tarball = join(work, packed.filename);
  step(`npm pack: ${packed.filename}, ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`, "");

  // A fresh project that installs it.
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "tinyflow-consumer", private: true, type: "module" }, null, 2));
  for (const dir of ["node", "ts", "browser"]) cpSync(join(fixtures, dir), app, { recursive: true });
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], app, "npm install <tarball>");
  step("npm install <tarball> into a fresh project", "");

  step("node index.mjs (plain Node ESM)", run(process.execPath, ["index.mjs"], app, "node index.mjs"));

  run(process.execPath, [tsc, "-p", "tsconfig.nodenext.json"], app, "tsc (NodeNext, strict, skipLibCheck: false)");
  step("tsc -p tsconfig.nodenext.json (NodeNext, strict, skipLibCheck: false), then node out/index.js", run(process.execPath, ["out/index.js"], app, "node out/index.js"));
  run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], app, "tsc (Bundler, strict, skipLibCheck: false)");
  step("tsc -p tsconfig.bundler.json (Bundler resolution, strict, skipLibCheck: false, the default libs with DOM; index.ts and entry_points.ts)", "");
  // What a newcomer's `tsc --init` writes, with the library's .d.ts checked too.
  const init = join(app, "init");
  mkdirSync(init);
  copyFileSync(join(app, "index.ts"), join(init, "index.ts"));
  run(process.execPath, [tsc, "--init"], init, "tsc --init");
  run(process.execPath, [tsc, "-p", ".", "--noEmit", "--skipLibCheck", "false"], init, "tsc with tsc --init's defaults");
  step("tsc with `tsc --init` defaults and skipLibCheck: false", "");
  // A Node-only project: no DOM lib, so the declarations must not name WebAssembly's or
  // WebGPU's types. @types/node at the version this repository develops with (after the
  // `tsc --init` step, whose defaults would pick it up too).
  const entryPoints = checkImportsEveryEntryPoint(join(fixtures, "ts", "entry_points.ts"));
  const typesNode = JSON.parse(readFileSync(join(root, "node_modules", "@types", "node", "package.json"), "utf8")).version;
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-dev", `@types/node@${typesNode}`], app, "npm install @types/node");
  run(process.execPath, [tsc, "-p", "tsconfig.node-no-dom.json"], app, "tsc (Node without the DOM lib, skipLibCheck: false)");
  step(`tsc -p tsconfig.node-no-dom.json (lib es2022, @types/node ${typesNode}, no DOM, skipLibCheck: false): ${entryPoints.join(", ")}`, "");

  // The browser: an esbuild bundle with the .wasm copied next to it, as the README says,
  // and a Vite build, which ships the .wasm by itself.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser check needs Debian's Chromium (apt-get install -y chromium)`);
  const esbuildSite = join(app, "site-esbuild");
  mkdirSync(esbuildSite);
  await build({ entryPoints: [join(app, "app.ts")], bundle: true, format: "esm", platform: "browser", target: "es2022", outfile: join(esbuildSite, "app.js"), logLevel: "warning", absWorkingDir: app });
  copyFileSync(join(app, "node_modules", "tinyflow", "dist", "src", "backends", "wasm", "tinyflow_kernels.wasm"), join(esbuildSite, "tinyflow_kernels.wasm"));
  writeFileSync(join(esbuildSite, "index.html"), `<!doctype html><meta charset="utf-8"><title>tinyflow consumer</title><script type="module" src="/app.js"></script>`);
  await checkInBrowser("esbuild browser bundle + the .wasm copied next to it, in headless Chromium (no loadWasmBackend call)", esbuildSite);

  writeFileSync(join(app, "index.html"), `<!doctype html><meta charset="utf-8"><title>tinyflow consumer</title><script type="module" src="/app.ts"></script>`);
  const viteSite = join(app, "site-vite");
  // The app uses a top-level await, which Vite's default browser targets do not allow.
  await viteBuild({ root: app, logLevel: "warn", configFile: false, build: { outDir: viteSite, target: "esnext" } });
  const shipped = readdirSync(join(viteSite, "assets")).filter((f) => f.endsWith(".wasm"));
  if (shipped.length !== 1) throw new Error(`the Vite build should ship the kernels .wasm as an asset; its assets: ${readdirSync(join(viteSite, "assets")).join(", ")}`);
  await checkInBrowser(`Vite build (it shipped assets/${shipped[0]} by itself), in headless Chromium`, viteSite);
  console.log(`[package] all consumer checks passed (${secs()})`);
} catch (e) {
  console.error(`[package] FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`[package] kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
