// The wasm backend in a browser page: headless Chromium (driven by
// playwright-core) loads a page bundled from test/browser/page.ts and served,
// cross-origin isolated, by test/browser/serve.ts, with the kernels .wasm next
// to the bundle. The page never calls loadWasmBackend: the backend fetches its
// kernels by itself and the page awaits ready(), waits for the worker threads
// and runs test/browser/compute.ts. The results must match the same
// computations run here in Node on the interpreter (the reference backend),
// and the page must have run them on wasm, cross-origin isolated, with its
// worker threads. A second page, served without the .wasm, must fail with the
// fetch's 404 named.
//
// Needs /usr/bin/chromium (Debian: apt-get install -y chromium); without it
// the test fails rather than skips.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setDefaultBackend } from "../../src/index";
import { compute, type ComputeResults } from "./compute";
import { startServer, type TestServer } from "./serve";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface PageReport {
  backend: string;
  crossOriginIsolated: boolean;
  sharedMemory: boolean;
  hardwareConcurrency: number;
  threads: number;
  readyThreads: number;
  failedWorkers: number;
  splitJobs: number;
  beforeReady: string;
  ms: { load: number; compute: number };
  results: ComputeResults;
}

/** Every number in `got` is within atol + rtol·|want| of `want` (same structure). */
function expectClose(got: unknown, want: unknown, path: string, atol: number, rtol: number): void {
  if (typeof want === "number") {
    expect(typeof got, path).toBe("number");
    const err = Math.abs((got as number) - want);
    if (!(err <= atol + rtol * Math.abs(want))) expect.fail(`${path}: browser ${String(got)} vs interpreter ${want} (|diff| ${err})`);
    return;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got), path).toBe(true);
    expect((got as unknown[]).length, `${path}.length`).toBe(want.length);
    want.forEach((w, i) => expectClose((got as unknown[])[i], w, `${path}[${i}]`, atol, rtol));
    return;
  }
  if (want !== null && typeof want === "object") {
    expect(Object.keys(got as object).sort(), path).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) expectClose((got as Record<string, unknown>)[k], w, `${path}.${k}`, atol, rtol);
    return;
  }
  expect(got, path).toEqual(want);
}

/** Opens the server's page and waits for it to publish its results or its error (with the page's console and requests on failure). */
async function runPage(context: BrowserContext, server: TestServer): Promise<{ error?: string; results?: unknown }> {
  const page = await context.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(server.url);
  try {
    await page.waitForFunction(() => (window as any).__results !== undefined || (window as any).__error !== undefined, null, { timeout: 45_000 });
  } catch (e) {
    throw new Error(`the page produced no results: ${(e as Error).message}\n${logs.join("\n")}\nrequests: ${server.requests.join(", ")}`);
  }
  const out = await page.evaluate(() => ({ error: (window as any).__error as string | undefined, results: (window as any).__results }));
  await page.close();
  return out.error === undefined ? out : { error: `${out.error}\n${logs.join("\n")}\nrequests: ${server.requests.join(", ")}` };
}

describe("wasm backend in headless Chromium", () => {
  let server: TestServer | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let report: PageReport;
  let reference: ComputeResults;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium)`);
    }
    const t0 = performance.now();
    server = await startServer();
    userDataDir = mkdtempSync(join(tmpdir(), "tinyflow-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const out = await runPage(context, server);
    if (out.error !== undefined) throw new Error(`the page failed: ${out.error}`);
    report = out.results as PageReport;
    const tPage = performance.now();
    setDefaultBackend("interpreter");
    reference = compute();
    const tRef = performance.now();
    console.log(
      `[browser] backend=${report.backend} crossOriginIsolated=${report.crossOriginIsolated} threads=${report.threads} ` +
        `(ready ${report.readyThreads}, failed ${report.failedWorkers}, hardwareConcurrency ${report.hardwareConcurrency}) splitJobs=${report.splitJobs}; ` +
        `page load ${report.ms.load.toFixed(0)} ms, compute ${report.ms.compute.toFixed(0)} ms; ` +
        `server+launch+page ${(tPage - t0).toFixed(0)} ms, interpreter reference ${(tRef - tPage).toFixed(0)} ms`,
    );
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("runs on the wasm backend, cross-origin isolated, on shared memory", () => {
    expect(report.backend).toBe("wasm");
    expect(report.crossOriginIsolated).toBe(true);
    expect(report.sharedMemory).toBe(true);
  });

  it("loads itself: an operation before `await ready()` says to await it", () => {
    expect(report.beforeReady).toMatch(/^BackendError: the wasm backend is still loading its kernels from http:\/\/127\.0\.0\.1:\d+\/tinyflow_kernels\.wasm: `await ready\(\)`/);
  });

  it("a missing .wasm fails ready() with the fetch's 404, not as a broken module", async () => {
    const bare = await startServer({ serveKernels: false });
    try {
      const out = await runPage(context!, bare);
      expect(out.error).toMatch(/^BackendError: could not fetch the kernels from http:\/\/127\.0\.0\.1:\d+\/tinyflow_kernels\.wasm: 404 Not Found/);
    } finally {
      await bare.close();
    }
  }, 60_000);

  it("uses its worker threads for the large matmul and elementwise ops", () => {
    expect(report.failedWorkers).toBe(0);
    expect(report.readyThreads).toBe(report.threads);
    // Single-core runners get a 1-thread pool: nothing to split there.
    if (report.threads > 1) expect(report.splitJobs).toBeGreaterThanOrEqual(3);
  });

  it("eager numpy ops match the interpreter", () => {
    expectClose(report.results.eager, reference.eager, "eager", 1e-5, 1e-5);
  });

  it("jit(grad) of an MLP loss matches the interpreter", () => {
    expectClose(report.results.mlpLoss, reference.mlpLoss, "mlpLoss", 1e-5, 1e-5);
    expectClose(report.results.mlpGrad, reference.mlpGrad, "mlpGrad", 1e-5, 1e-4);
  });

  it("a 512x512 matmul matches the interpreter", () => {
    const got = report.results.bigMatmul;
    const want = reference.bigMatmul;
    expect(got.shape).toEqual([512, 512]);
    expectClose(got.sample, want.sample, "bigMatmul.sample", 1e-4, 1e-4);
    expectClose(got.sumSq, want.sumSq, "bigMatmul.sumSq", 0, 1e-5);
    expectClose(got.sum, want.sum, "bigMatmul.sum", 1e-5 * Math.sqrt(want.sumSq), 1e-5);
  });

  it("an elementwise op on 1e5 elements matches the interpreter (eager and jitted)", () => {
    for (const k of ["bigElementwise", "bigElementwiseJit"] as const) {
      const got = report.results[k];
      const want = reference[k];
      expect(got.shape).toEqual([100_000]);
      expectClose(got.sample, want.sample, `${k}.sample`, 1e-5, 1e-5);
      expectClose(got.sumSq, want.sumSq, `${k}.sumSq`, 0, 1e-5);
      expectClose(got.sum, want.sum, `${k}.sum`, 1e-5 * Math.sqrt(want.sumSq), 1e-5);
    }
  });
});
