// `npm run graph -- examples/x.ts [--out file.svg|.png|.dot] [--summary] [--lr] [--params]`:
// draws an example's step with tinyflow/viz and writes the picture to a file
// (default: examples/out/<example>.svg).
//
// An example exposes its step by exporting `step`:
//   - a jitted function and `exampleArgs()` giving its arguments: drawn as
//     traced and after the IR passes, with the compiled kernels as clusters;
//   - a plain function and `exampleArgs()`: its jaxpr, or, if it returns eager
//     tensors, their autograd tape;
//   - a TF1 fetch (a tensor or operation, or a list): the subgraph it needs.
// Examples run their own work only when executed as the program, so importing
// one here only builds its step.

import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { makeJaxpr } from "../src/index";
import { Tensor as EagerTensor } from "../src/frontends/eager";
import { toDot, toPng, toSvg, type DotOptions, type GraphSource } from "../src/viz";

const usage = "usage: npm run graph -- examples/x.ts [--out file.svg|file.png|file.dot] [--summary] [--lr] [--params]";

function parseArgs(argv: string[]) {
  let file: string | null = null;
  let out: string | null = null;
  const opts: DotOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out" || a === "-o") out = argv[++i] ?? null;
    else if (a === "--summary") opts.summary = true;
    else if (a === "--lr") opts.rankdir = "LR";
    else if (a === "--params") opts.params = true;
    else if (a.startsWith("-")) throw new Error(`unknown flag ${a}\n${usage}`);
    else file = a;
  }
  if (file === null) throw new Error(usage);
  return { file: resolve(file), out, opts };
}

type Step = ((...args: unknown[]) => unknown) & { lower?: (...args: unknown[]) => GraphSource };

const isEagerResult = (x: unknown): boolean => x instanceof EagerTensor || (Array.isArray(x) && x.length > 0 && x.every((t) => t instanceof EagerTensor));

function sourceOf(file: string, mod: Record<string, unknown>): GraphSource {
  if (!("step" in mod)) {
    throw new Error(
      `${file} exports no \`step\`: export the step to draw (a jitted function or a function with \`exampleArgs()\`, or a TF1 fetch), ` +
        "and run the example's own work only when it is the program",
    );
  }
  const step = mod.step;
  if (typeof step !== "function") return step as GraphSource;
  const args = typeof mod.exampleArgs === "function" ? (mod.exampleArgs() as unknown[]) : [];
  const fn = step as Step;
  if (typeof fn.lower === "function") return fn.lower(...args);
  const out = fn(...args);
  if (isEagerResult(out)) return out as GraphSource;
  return makeJaxpr(fn)(...args);
}

const { file, out, opts } = parseArgs(process.argv.slice(2));
const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
const source = sourceOf(file, mod);
const target = resolve(out ?? `examples/out/${basename(file, extname(file))}.svg`);
mkdirSync(dirname(target), { recursive: true });
const format = extname(target).slice(1);
if (format === "dot") writeFileSync(target, toDot(source, opts));
else if (format === "png") writeFileSync(target, await toPng(source, opts));
else if (format === "svg") writeFileSync(target, await toSvg(source, opts));
else throw new Error(`--out ${target}: write .svg, .png or .dot`);
console.log(`wrote ${target}`);
