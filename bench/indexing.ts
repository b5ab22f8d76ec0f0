// Benchmark of the wasm lowering of indexing primitives: the same jitted
// function run as a program whose gather / scatter_add are generated window
// kernels (today's lowering) and as one where they are host fallback steps
// (copy out, the interpreter's rule, copy back in — the lowering before
// plan/indexing.ts), interleaved in one process. Workloads:
//   take:        np.take of 1e4 rows from a 1e5 x 64 float32 table
//   segmentSum:  1e5 rows x 16 float32 into 1000 segments (random ids)
// Prints the min and median ms per call of each variant and their ratio, with
// the thread count and load average.
//
//   npx tsx bench/indexing.ts [reps=15]

import os from "node:os";
import { ArrayImpl as TfArray, makeJaxpr, np, type Tracer } from "../src/index";
import { wasmBackend } from "../src/backends/wasm";
import { Planner } from "../src/backends/plan/planner";
import { WASM_TARGET, type LoweredProgram } from "../src/backends/plan/lowered_program";
import { WasmProgram } from "../src/backends/wasm/program";
import { getThreadPool } from "../src/backends/wasm/threads";
import type { ClosedJaxpr } from "../src/core/ir";
import type { WasmBuffer } from "../src/backends/wasm/buffer";

const reps = Number(process.argv[2] ?? 15);
/** The plan as it was before the indexing kernels: gather/scatter (and the other window primitives) become host steps. */
function lowerWithHostIndexing(closed: ClosedJaxpr): LoweredProgram {
  return Planner.plan(closed, { ...WASM_TARGET, windowKernels: false });
}

function rand(shape: number[], dtype: "float32" | "int32", hi = 1): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float32" ? Float32Array.from({ length: n }, () => Math.random() - 0.5) : Int32Array.from({ length: n }, () => Math.floor(Math.random() * hi));
  return TfArray.fromTyped(data, shape, dtype, { backend: "wasm" });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(name: string, f: (...xs: Tracer[]) => Tracer, args: TfArray[]): void {
  const backend = wasmBackend();
  const closed = makeJaxpr(f)(...args);
  const variants = [
    { label: "window kernels", program: new WasmProgram(Planner.plan(closed, WASM_TARGET), backend.mem, backend.mem.kernels) },
    { label: "host fallback", program: new WasmProgram(lowerWithHostIndexing(closed), backend.mem, backend.mem.kernels) },
  ];
  const inputs = args.map((a) => a.buffer as WasmBuffer);
  const times = variants.map(() => [] as number[]);
  const once = (k: number) => {
    const t0 = performance.now();
    const outs = variants[k].program.run(inputs, []);
    const dt = performance.now() - t0;
    outs.forEach((b) => backend.mem.free(b));
    return dt;
  };
  for (let k = 0; k < variants.length; k++) once(k), once(k); // warm-up
  for (let r = 0; r < reps; r++) for (let k = 0; k < variants.length; k++) times[k].push(once(k));
  const [fast, slow] = times.map((t) => ({ min: Math.min(...t), med: median(t) }));
  console.log(
    `${name.padEnd(46)} kernels min ${fast.min.toFixed(2)} / med ${fast.med.toFixed(2)} ms   ` +
      `host min ${slow.min.toFixed(2)} / med ${slow.med.toFixed(2)} ms   speedup (median) ${(slow.med / fast.med).toFixed(1)}x`,
  );
  variants.forEach((v) => v.program.dispose());
}

const pool = getThreadPool(wasmBackend().mem.kernels);
console.log(`threads ${pool.threads}, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}, ${reps} reps interleaved`);
bench("take 1e4 rows of a 1e5 x 64 table", (t, i) => np.take(t, i, 0), [rand([100_000, 64], "float32"), rand([10_000], "int32", 100_000)]);
bench("segmentSum 1e5 x 16 rows into 1000 segments", (d, i) => np.segmentSum(d, i, 1000), [rand([100_000, 16], "float32"), rand([100_000], "int32", 1000)]);
console.log(`load after: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
