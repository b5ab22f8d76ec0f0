// The rendered report of an example, checked in headless Chromium (driven by
// playwright-core with the system's /usr/bin/chromium, as test/browser does):
// the GCN example's fast mode writes its HTML page, the browser opens it from
// disk with the network off, and the page must show its prose, code and
// outputs — every chart and graph drawn at a readable size, every image
// decoded, nothing wider than the window — and a full-page screenshot is taken
// (kept next to the report as <name>.png for a person to look at).
//
// Needs /usr/bin/chromium (Debian: apt-get install -y chromium).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe("an example's HTML report in Chromium", { timeout: 600_000 }, () => {
  it("gcn_miserables renders its prose, code, charts and graph", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "tinyflow-report-"));
    const run = spawnSync(process.execPath, ["--import", "tsx", join("examples", "gcn_miserables.ts")], {
      env: { ...process.env, FAST: "1", OUT_DIR: outDir },
      encoding: "utf8",
      timeout: 600_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const htmlPath = join(outDir, "gcn_miserables.html");
    expect(readFileSync(htmlPath, "utf8")).not.toMatch(/https?:\/\/(?!www\.w3\.org)[^"\s]*\.(js|css|png|svg)/); // nothing to fetch

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, offline: true });
      const page = await context.newPage();
      const failed: string[] = [];
      page.on("requestfailed", (r) => failed.push(r.url()));
      await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
      const report = await page.evaluate(() => ({
        title: document.title,
        headings: Array.from(document.querySelectorAll("h1, h2")).map((h) => h.textContent ?? ""),
        codeCells: document.querySelectorAll("section.code").length,
        outputs: Array.from(document.querySelectorAll(".out pre")).map((p) => p.textContent ?? ""),
        svgSizes: Array.from(document.querySelectorAll(".out > svg")).map((s) => {
          const r = s.getBoundingClientRect();
          return [Math.round(r.width), Math.round(r.height)];
        }),
        svgMarks: Array.from(document.querySelectorAll(".out > svg")).map((s) => s.querySelectorAll("path, circle, ellipse, polygon, text").length),
        overflow: document.documentElement.scrollWidth - window.innerWidth,
      }));
      expect(report.title).toBe("A graph convolutional network on Les Misérables");
      expect(report.headings[0]).toBe("Node classification with a graph convolutional network");
      expect(report.headings).toContain("Training");
      expect(report.codeCells).toBeGreaterThanOrEqual(5);
      expect(report.outputs.some((o) => /accuracy train \d+%, validation \d+%, test \d+%/.test(o))).toBe(true);
      // the loss chart, the embedding scatter and the Graphviz drawing of the graph
      expect(report.svgSizes.length).toBe(3);
      for (const [w, h] of report.svgSizes) {
        expect(w).toBeGreaterThan(300);
        expect(h).toBeGreaterThan(150);
      }
      for (const marks of report.svgMarks) expect(marks).toBeGreaterThan(20);
      expect(report.overflow).toBeLessThanOrEqual(0);
      expect(failed).toEqual([]);
      const shot = await page.screenshot({ fullPage: true });
      expect(shot.length).toBeGreaterThan(50_000); // a page of text and pictures, not a blank
      writeFileSync(join(outDir, "gcn_miserables.png"), shot);
    } finally {
      await browser.close();
    }
  });
});
