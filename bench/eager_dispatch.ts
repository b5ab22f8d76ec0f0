// bench/eager_dispatch.ts — the cost of one un-jitted op on small arrays.
//
// Times eager add, mul and matmul on 100- and 10,000-element float32 arrays
// (matmul: 10x10 and 100x100) in tinyflow (default wasm backend) and in
// @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm, each peer in its own
// child process, the children alternating over several rounds. A sample is
// the mean time per op over a batch of calls (each result disposed at once);
// the per-peer figure is the median over samples and rounds. Also times
// tinyflow's eager W2 (tanh(x*2+1)*x over 1e6 elements) against its jit.
// Prints µs per op and the ratio tinyflow / tfjs.
// Run: npx tsx bench/eager_dispatch.ts [rounds]

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { median } from "./harness";

type Row = { op: string; size: number; us: number };
type ChildResult = { peer: string; rows: Row[] };

const OPS = ["add", "mul", "matmul"] as const;
const SIZES = [100, 10_000];
const SAMPLES = 7;

/** Mean µs per call of `fn` over batches sized to take ~20 ms; `SAMPLES` batches after a warmup. */
function timePerCall(fn: () => void): number[] {
  for (let i = 0; i < 200; i++) fn();
  let batch = 50;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t0 > 10 || batch > 1e6) break;
    batch *= 2;
  }
  const out: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    out.push(((performance.now() - t0) / batch) * 1000);
  }
  return out;
}

const sideOf = (size: number) => Math.round(Math.sqrt(size));
const filled = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

async function runTinyflow(): Promise<Row[]> {
  const { np, jit, Array: TfArray } = await import("../src/index");
  const rows: Row[] = [];
  for (const size of SIZES) {
    const side = sideOf(size);
    const a = TfArray.fromTyped(filled(size, 1), [size], "float32");
    const b = TfArray.fromTyped(filled(size, 2), [size], "float32");
    const m1 = TfArray.fromTyped(filled(size, 3), [side, side], "float32");
    const m2 = TfArray.fromTyped(filled(size, 4), [side, side], "float32");
    const calls: Record<(typeof OPS)[number], () => void> = {
      add: () => (np.add(a, b) as InstanceType<typeof TfArray>).dispose(),
      mul: () => (np.multiply(a, b) as InstanceType<typeof TfArray>).dispose(),
      matmul: () => (np.matmul(m1, m2) as InstanceType<typeof TfArray>).dispose(),
    };
    for (const op of OPS) rows.push({ op, size, us: median(timePerCall(calls[op])) });
  }
  // W2 as bench/workloads.md has it: tanh(x*2+1)*x over 1e6 elements plus the
  // readback, eager against jit, written as a user would (intermediates left to
  // the garbage collector), one call per task as in the harness's async loop.
  const n = 1_000_000;
  const x = TfArray.fromTyped(filled(n, 5), [n], "float32");
  const w2 = (v: any) => np.tanh(v.mul(2).add(1)).mul(v);
  const w2jit = jit(w2);
  const eager: number[] = [];
  const jitted: number[] = [];
  const once = async (fn: (v: any) => any, into: number[] | null) => {
    const t0 = performance.now();
    const out = fn(x) as InstanceType<typeof TfArray>;
    await out.data();
    into?.push((performance.now() - t0) * 1000);
    out.dispose();
    await new Promise((resolve) => setImmediate(resolve));
  };
  for (let i = 0; i < 2; i++) {
    await once(w2, null);
    await once(w2jit, null);
  }
  for (let i = 0; i < 15; i++) {
    await once(w2, eager);
    await once(w2jit, jitted);
  }
  rows.push({ op: "W2 eager", size: n, us: median(eager) }, { op: "W2 jit", size: n, us: median(jitted) });
  return rows;
}

async function runTfjs(): Promise<Row[]> {
  const tf = await import("@tensorflow/tfjs");
  await import("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: setBackend('wasm') failed");
  await tf.ready();
  const rows: Row[] = [];
  for (const size of SIZES) {
    const side = sideOf(size);
    const a = tf.tensor1d(filled(size, 1));
    const b = tf.tensor1d(filled(size, 2));
    const m1 = tf.tensor2d(filled(size, 3), [side, side]);
    const m2 = tf.tensor2d(filled(size, 4), [side, side]);
    const calls: Record<(typeof OPS)[number], () => void> = {
      add: () => tf.add(a, b).dispose(),
      mul: () => tf.mul(a, b).dispose(),
      matmul: () => tf.matMul(m1, m2).dispose(),
    };
    for (const op of OPS) rows.push({ op, size, us: median(timePerCall(calls[op])) });
  }
  return rows;
}

async function child(peer: string): Promise<void> {
  const rows = peer === "tinyflow" ? await runTinyflow() : await runTfjs();
  console.log(JSON.stringify({ peer, rows } satisfies ChildResult));
}

function parent(rounds: number): void {
  const self = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const peer of ["tinyflow", "tfjs"]) {
      const p = spawnSync(process.execPath, ["--import", "tsx", self, "--child", peer], { encoding: "utf8", env: { ...process.env } });
      const line = p.stdout.trim().split("\n").pop() ?? "";
      if (p.status !== 0 || !line.startsWith("{")) {
        console.log(`${peer}: child failed (${p.status})\n${p.stderr.slice(-2000)}`);
        continue;
      }
      results.push(JSON.parse(line) as ChildResult);
    }
  }
  const pick = (peer: string, op: string, size: number) =>
    median(results.filter((c) => c.peer === peer).flatMap((c) => c.rows.filter((x) => x.op === op && x.size === size).map((x) => x.us)));
  console.log(`eager dispatch, ${rounds} rounds x ${SAMPLES} samples per peer; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log("op       elements  tinyflow µs/op  tfjs-wasm µs/op  tinyflow/tfjs");
  for (const size of SIZES) {
    for (const op of OPS) {
      const t = pick("tinyflow", op, size);
      const f = pick("tfjs", op, size);
      console.log(`${op.padEnd(8)} ${String(size).padStart(8)}  ${t.toFixed(2).padStart(14)}  ${f.toFixed(2).padStart(15)}  ${(t / f).toFixed(2).padStart(13)}`);
    }
  }
  const eager = pick("tinyflow", "W2 eager", 1_000_000);
  const jitted = pick("tinyflow", "W2 jit", 1_000_000);
  console.log(`W2 (tanh(x*2+1)*x, 1e6): eager ${(eager / 1000).toFixed(2)} ms, jit ${(jitted / 1000).toFixed(2)} ms, eager/jit ${(eager / jitted).toFixed(2)}`);
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await child(process.argv[childAt + 1]);
else parent(Number(process.argv[2] ?? 3));
