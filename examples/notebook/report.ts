// Notebook-style reports for the examples. An example is a plain TypeScript
// file in the "percent" cell format (as jupytext writes it): `// %% [markdown]`
// starts a prose cell whose `//` comment lines are Markdown, `// %%` starts a
// code cell. The example runs top to bottom with tsx; what it shows through the
// notebook (text, tables, vega-lite charts, images, graphs) is attached to the
// cell whose top-level statement produced it — found from the call stack,
// which tsx's source maps give in the example's own line numbers. `save()`
// writes one self-contained HTML page (charts as inline SVG, images as inline
// PNG, no scripts, nothing fetched) and a JSON file of the run's metrics, which
// the tests read.
//
// Why HTML and not .ipynb: a Jupyter kernel for TypeScript cannot load
// tinyflow here (tslab) or needs its own import rules (deno); nbconvert blanks
// SVG outputs. A script that writes its own page runs with the same command
// as any example and needs no kernel.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { Resvg } from "@resvg/resvg-js";
import { instance as vizInstance } from "@viz-js/viz";
import * as vega from "vega";
import * as vl from "vega-lite";
import { escapeHtml, markdownToHtml } from "./markdown";

type Output = { kind: "text"; text: string } | { kind: "html"; html: string };

interface Cell {
  kind: "markdown" | "code";
  /** 1-based line numbers of the cell in the example's source, inclusive. */
  firstLine: number;
  lastLine: number;
  source: string;
  outputs: Output[];
}

/** A vega-lite specification (the JSON object vega-lite's compile() takes). */
export type VegaLiteSpec = vl.TopLevelSpec;

/** Splits percent-format source into cells; lines before the first marker form a code cell (the imports). */
export function parseCells(source: string): Cell[] {
  const lines = source.split("\n");
  const cells: Cell[] = [];
  let current: Cell = { kind: "code", firstLine: 1, lastLine: 0, source: "", outputs: [] };
  const body: string[] = [];
  const close = (endLine: number) => {
    current.lastLine = endLine;
    const text = (current.kind === "markdown" ? body.map((l) => l.replace(/^\s*\/\/ ?/, "")) : body).join("\n");
    current.source = text.replace(/^\s*\n/, "").trimEnd();
    if (current.source.trim() !== "") cells.push(current);
    body.length = 0;
  };
  lines.forEach((line, i) => {
    const marker = /^\s*\/\/\s*%%(.*)$/.exec(line);
    if (marker) {
      close(i);
      current = { kind: /\[markdown\]/.test(marker[1]) ? "markdown" : "code", firstLine: i + 1, lastLine: 0, source: "", outputs: [] };
    } else {
      body.push(line);
    }
  });
  close(lines.length);
  return cells;
}

const STYLE = `
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 920px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.9em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.code pre { background: #f5f6f8; border-left: 3px solid #4b7bec; padding: .7em 1em; font: 13px/1.45 ui-monospace, Menlo, Consolas, monospace; }
.out { margin: .3em 0 1.2em 0; padding-left: 1em; border-left: 3px solid #ccc; }
.out pre { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; color: #333; }
.out svg, .out img { max-width: 100%; height: auto; display: block; margin: .4em 0; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
code { background: #f0f0f3; padding: 0 .2em; border-radius: 3px; }
footer { margin-top: 3em; color: #777; font-size: 13px; }
`;

/** The notebook of one example: create it at the top with `new Notebook(import.meta.url, "title")`. */
export class Notebook {
  /** FAST=1 in the environment: few steps on little data (the tests' mode). */
  readonly fast: boolean;
  readonly name: string;
  readonly #sourcePath: string;
  readonly #cells: Cell[];
  readonly #metrics: Record<string, unknown> = {};
  #lastCell: Cell;
  readonly #started = Date.now();

  /** The report's file name without extension: the example's name, plus `_variant` when one is given. */
  readonly reportName: string;

  /** `variant` names a mode of the example (e.g. "fashion") so its report does not overwrite the default one. */
  constructor(
    moduleUrl: string,
    readonly title: string,
    variant?: string,
  ) {
    this.#sourcePath = fileURLToPath(moduleUrl);
    this.name = this.#sourcePath.replace(/^.*[\\/]/, "").replace(/\.[cm]?[jt]s$/, "");
    this.reportName = variant ? `${this.name}_${variant}` : this.name;
    this.#cells = parseCells(readFileSync(this.#sourcePath, "utf8"));
    this.#lastCell = this.#cells[0];
    this.fast = process.env.FAST === "1";
  }

  /** The code cell holding the outermost frame of the current stack that lies in the example's file, else the last one used. */
  #cellOfCaller(): Cell {
    const frames = (new Error().stack ?? "").split("\n");
    let line = -1;
    for (const f of frames) {
      const at = f.lastIndexOf(this.#sourcePath + ":");
      if (at >= 0) line = Number(f.slice(at + this.#sourcePath.length + 1).split(":")[0]);
    }
    const cell = this.#cells.find((c) => c.kind === "code" && line >= c.firstLine && line <= c.lastLine);
    if (cell) this.#lastCell = cell;
    return this.#lastCell;
  }

  /** Prints like console.log and records the text under the current cell. */
  print(...values: unknown[]): void {
    const text = values.map((v) => (typeof v === "string" ? v : inspect(v, { depth: 4, colors: false }))).join(" ");
    console.log(text);
    this.#cellOfCaller().outputs.push({ kind: "text", text });
  }

  /** A table of rows (first row: header) into the report (and as text on the console). */
  table(rows: (string | number)[][]): void {
    const cell = this.#cellOfCaller();
    console.log(rows.map((r) => r.map((v) => String(v).padStart(6)).join(" ")).join("\n"));
    const [head, ...rest] = rows;
    const html = `<table><tr>${head.map((h) => `<th>${escapeHtml(String(h))}</th>`).join("")}</tr>${rest
      .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(String(v))}</td>`).join("")}</tr>`)
      .join("")}</table>`;
    cell.outputs.push({ kind: "html", html });
  }

  /** A vega-lite chart, rendered headless to inline SVG. */
  async chart(spec: VegaLiteSpec): Promise<void> {
    const cell = this.#cellOfCaller();
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
    cell.outputs.push({ kind: "html", html: await view.toSVG() });
    view.finalize();
  }

  /** A Graphviz DOT graph laid out by @viz-js/viz (engine "neato" by default), as inline SVG. */
  async graph(dot: string, engine: "dot" | "neato" | "fdp" | "sfdp" | "circo" = "neato"): Promise<void> {
    const cell = this.#cellOfCaller();
    const viz = await vizInstance();
    cell.outputs.push({ kind: "html", html: viz.renderString(dot, { format: "svg", engine }).replace(/^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?/, "") });
  }

  /** An SVG picture rasterised to an inline PNG (for pictures with many small shapes, e.g. digits). */
  png(svg: string, alt: string): void {
    const cell = this.#cellOfCaller();
    const png = new Resvg(svg).render().asPng();
    cell.outputs.push({ kind: "html", html: `<img alt="${escapeHtml(alt)}" src="data:image/png;base64,${Buffer.from(png).toString("base64")}">` });
  }

  /** Records a number or value of the run into `<name>.json` (what the tests check). */
  metric(name: string, value: unknown): void {
    this.#metrics[name] = value;
  }

  /** Where reports go: $OUT_DIR, else examples/out. */
  get outDir(): string {
    return resolve(process.env.OUT_DIR ?? join(dirname(this.#sourcePath), "out"));
  }

  /** Writes `<outDir>/<reportName>.html` and `<outDir>/<reportName>.json`; returns the HTML path. */
  save(): string {
    const seconds = (Date.now() - this.#started) / 1000;
    const body = this.#cells
      .map((cell) => {
        if (cell.kind === "markdown") return `<section class="md">${markdownToHtml(cell.source)}</section>`;
        const outputs = cell.outputs.map((o) => (o.kind === "text" ? `<pre>${escapeHtml(o.text)}</pre>` : o.html)).join("\n");
        return `<section class="code"><pre><code>${escapeHtml(cell.source)}</code></pre></section>${outputs ? `<div class="out">${outputs}</div>` : ""}`;
      })
      .join("\n");
    const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(this.title)}</title><style>${STYLE}</style></head>
<body>
${body}
<footer>Generated by <code>examples/${escapeHtml(this.name)}.ts</code>${this.fast ? " in fast mode (FAST=1: few steps, little data)" : ""} in ${seconds.toFixed(0)} s on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.</footer>
</body></html>
`;
    mkdirSync(this.outDir, { recursive: true });
    const htmlPath = join(this.outDir, `${this.reportName}.html`);
    writeFileSync(htmlPath, html);
    writeFileSync(join(this.outDir, `${this.reportName}.json`), JSON.stringify({ name: this.reportName, fast: this.fast, seconds, ...this.#metrics }, null, 2));
    console.log(`report: ${htmlPath}`);
    return htmlPath;
  }
}
