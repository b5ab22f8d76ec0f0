// The wasm thread pool's faults in headless Chromium (see pool_faults_page.ts):
// a browser has no exit handlers and its main thread cannot block, so a
// worker that ends mid-job is noticed by the pool's watchdog worker through
// the Web Lock the dead worker held (watchdog.ts); the call then fails at
// once with a BackendError naming the worker, not at the stall limit (600 s
// here, beyond this test's timeout), and the worker is replaced. A worker
// terminated from outside while idle is replaced too (it lets its event loop
// run between blocking slices, so Chromium ends it and frees its lock within
// about a slice instead of its 2 s forced termination; the time is printed),
// and a worker that has not woken up never holds up a call. A second pool,
// with navigator.locks hidden (no watchdog), replaces a worker terminated
// while idle once its heartbeat word stops moving (pool.ts checkHeartbeats).
//
// Needs /usr/bin/chromium (Debian: apt-get install -y chromium); without it
// the test fails rather than skips.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolFaultsReport } from "./pool_faults_page";
import { startServer, type TestServer } from "./serve";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe("wasm thread pool faults in headless Chromium", () => {
  let server: TestServer | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let report: PoolFaultsReport;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium)`);
    server = await startServer({ entry: "pool_faults_page.ts" });
    userDataDir = mkdtempSync(join(tmpdir(), "tinyflow-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const page = await context.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    try {
      await page.waitForFunction(() => (window as any).__results !== undefined || (window as any).__error !== undefined, null, { timeout: 50_000 });
    } catch (e) {
      throw new Error(`the page produced no results: ${(e as Error).message}\n${logs.join("\n")}`);
    }
    const out = await page.evaluate(() => ({ error: (window as any).__error as string | undefined, results: (window as any).__results }));
    if (out.error !== undefined) throw new Error(`the page failed: ${out.error}\n${logs.join("\n")}`);
    report = out.results as PoolFaultsReport;
    console.log(
      `[browser pool faults] crash noticed after ${report.crash.ms.toFixed(0)} ms; terminated worker replaced after ${report.msToReplaceTerminated.toFixed(0)} ms; ` +
        `calls meanwhile ${report.terminated.map((t) => (t.ok !== undefined ? `ok ${t.ms.toFixed(0)} ms` : `error ${t.ms.toFixed(0)} ms`)).join(", ")}; ` +
        `stalled-worker call ${report.stalled.ms.toFixed(0)} ms, ${report.takenOver} part(s) taken over; ` +
        `without Web Locks, terminated idle worker replaced after ${report.noLocks.msToReplaceTerminated.toFixed(0)} ms`,
    );
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("starts every worker, with a watchdog (navigator.locks)", () => {
    expect(report.watchdog).toBe(true);
    expect(report.readyThreads).toBe(3);
    expect(report.before).toBe(true);
  });

  it("a worker that ends mid-job fails the call with a BackendError naming it, and is replaced", () => {
    expect(report.crash.ok).toBeUndefined();
    expect(report.crash.error).toMatch(/^BackendError: thread pool: worker thread 2 died \(exit code none: ended from outside\) while computing its part of a matrix product; this call's result is lost/);
    expect(report.replacedAfterCrash).toBe(1);
    expect(report.readyAfterCrash).toBe(3);
    expect(report.afterCrash).toEqual([true, true]);
  });

  it("a worker terminated from outside: calls fail at once naming it or run without it, and it is replaced", () => {
    for (const t of report.terminated) {
      if (t.error !== undefined) expect(t.error).toMatch(/worker thread 1 died \(exit code none: ended from outside\)/);
      else expect(t.ok).toBe(true);
    }
    expect(report.replacedAfterTerminate).toBe(2);
  });

  it("without Web Locks, a worker terminated while idle holds up no call and is replaced once its heartbeat stops", () => {
    expect(report.noLocks.readyThreads).toBe(2);
    expect(report.noLocks.meanwhile).toEqual([true, true]);
    expect(report.noLocks.replaced).toBe(1);
    expect(report.noLocks.msToReplaceTerminated).toBeGreaterThan(0);
    expect(report.noLocks.after).toEqual([true, true]);
  });

  it("a worker that has not woken up does not hold up a call", () => {
    expect(report.stalled.ok).toBe(true);
    expect(report.takenOver).toBeGreaterThanOrEqual(1);
    expect(report.final).toEqual([true, true, true]);
    expect(report.readyWorkers).toBe(2);
  });
});
