// The WebGPU backend in a browser page: headless Chromium with
// --enable-unsafe-webgpu (SwiftShader where there is no GPU) loads the page
// bundled from webgpu_page.ts, which starts the backend on navigator.gpu and
// runs webgpu_compute.ts jitted on it; every result must match the same
// computations on the interpreter here in Node, and a synchronous read in the
// page must be refused with the error naming `await x.data()`. A Chromium
// without a WebGPU adapter makes the page report it, and the test fails with
// that message (this CI has SwiftShader, so no adapter is a defect here).

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { computeOn, type WebGpuResults } from "./webgpu_compute";
import { startServer } from "./serve";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface WebGpuReport {
  adapter: string;
  syncRead: string;
  ms: { start: number; compute: number };
  results: WebGpuResults;
}

describe("WebGPU backend in headless Chromium", () => {
  it("computes what the interpreter computes, and refuses synchronous reads", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium)`);
    const server = await startServer({ entry: "webgpu_page.ts" });
    const userDataDir = mkdtempSync(join(tmpdir(), "tinyflow-chromium-webgpu-"));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    let report: WebGpuReport;
    try {
      const page = await context.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(server.url);
      await page.waitForFunction(() => (window as any).__results !== undefined || (window as any).__error !== undefined, null, { timeout: 90_000 });
      const out = await page.evaluate(() => ({ error: (window as any).__error as string | undefined, results: (window as any).__results }));
      if (out.error !== undefined) throw new Error(`the page failed: ${out.error}\n${logs.join("\n")}`);
      report = out.results as WebGpuReport;
    } finally {
      await context.close();
      await server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
    console.log(`[browser webgpu] adapter=${report.adapter}; start ${report.ms.start.toFixed(0)} ms, compute ${report.ms.compute.toFixed(0)} ms`);
    expect(report.syncRead).toMatch(/BackendError: .*await x\.data\(\)/);
    const want = await computeOn("interpreter");
    expect(Object.keys(report.results).sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const g = report.results[name];
      expect(g.length, name).toBe(w.length);
      const scale = Math.max(1, ...w.map(Math.abs));
      // float16 results are rounded to half: f32 on the GPU and the interpreter may land a half ulp apart.
      const [rtol, atol] = name === "float16" ? [2e-3, 1e-3] : [1e-4, 1e-5];
      w.forEach((v, i) => {
        if (!(Math.abs(g[i] - v) <= rtol * Math.abs(v) + atol * scale)) expect.fail(`${name}[${i}]: browser ${g[i]} vs interpreter ${v}`);
      });
    }
  }, 180_000);
});
