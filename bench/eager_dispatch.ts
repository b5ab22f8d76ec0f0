// bench/eager_dispatch.ts — the cost of one un-jitted op on small arrays.
//
// Times eager add, mul and matmul on 100- and 10,000-element float32 arrays
// (matmul: 10x10 and 100x100) in tinyflow (default wasm backend) and in
// @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm, each peer in its own
// child process, the children alternating over several rounds. Every op is
// warmed up before any is timed (so the first op measured does not pay the
// engines' tier-up), and the samples visit the ops in turn (so a burst of load
// from other processes lands on all of them alike). A sample is the mean time
// per op over a batch of calls; the per-peer figure is the median over samples
// and rounds. Both peers dispose each result at once, as tfjs code must;
// tinyflow is also timed, in processes of its own, as its README teaches
// (results left to the garbage collector, an event-loop turn after each batch
// so its finalizers can run, timed with the batch). CPU time is the process's:
// it includes V8's helper threads (concurrent marking and sweeping), which
// collect the taught loop's garbage.
// Also times tinyflow's eager W2 (tanh(x*2+1)*x over 1e6 elements) against
// its jit. Prints µs per op (CPU time and wall time) and the ratios tinyflow / tfjs.
// Run: npx tsx bench/eager_dispatch.ts [rounds]

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { median } from "./harness";

/** µs per op: wall-clock median and min over the samples, and the median of the process's CPU time (user + system). */
type Row = { op: string; size: number; us: number; minUs: number; cpuUs: number };
type ChildResult = { peer: string; rows: Row[] };

const OPS = ["add", "mul", "matmul"] as const;
const SIZES = [100, 10_000];
const SAMPLES = 7;

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One op to time: a name for the table and the call (which disposes its result, or not). */
type Case = { op: string; size: number; fn: () => void };

const WARMUP_MS = 400;
const SAMPLE_MS = 10;

/** Calls per batch so that one batch of `fn` takes about SAMPLE_MS, after warming it up for WARMUP_MS. */
function warmAndSize(fn: () => void): number {
  const end = performance.now() + WARMUP_MS;
  while (performance.now() < end) for (let i = 0; i < 20; i++) fn();
  let batch = 16;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t0 > SAMPLE_MS || batch > 1e6) return batch;
    batch *= 2;
  }
}

/** Per-op figures of every case: all warmed up first, then SAMPLES rounds that visit the cases in turn. */
async function timeCases(cases: Case[]): Promise<Row[]> {
  const batches = cases.map((c) => warmAndSize(c.fn));
  const wall: number[][] = cases.map(() => []);
  const cpu: number[][] = cases.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    for (let k = 0; k < cases.length; k++) {
      const { fn } = cases[k];
      const batch = batches[k];
      const t0 = performance.now();
      const c0 = cpuNow();
      for (let i = 0; i < batch; i++) fn();
      // A turn of the event loop, so results left to the garbage collector can
      // be finalized. It is timed with the batch: the collection that a batch's
      // garbage started often finishes in that turn ("finalize incremental
      // marking via task"), and the finalizer callbacks that release its
      // arrays run there -- work the batch caused, which an untimed turn hid
      // (taught add of 10,000 elements: 8.2-9.7 µs per op timed without the
      // turns, 10.1-11.9 with them, in a loop of 2,000-op batches).
      await new Promise((resolve) => setImmediate(resolve));
      cpu[k].push(((cpuNow() - c0) / batch) * 1000);
      wall[k].push(((performance.now() - t0) / batch) * 1000);
    }
  }
  return cases.map((c, k) => ({ op: c.op, size: c.size, us: median(wall[k]), minUs: Math.min(...wall[k]), cpuUs: median(cpu[k]) }));
}

const sideOf = (size: number) => Math.round(Math.sqrt(size));
const filled = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

/** tinyflow's ops, each result disposed (`taught`: left to the garbage collector instead), and W2 with the disposed run. */
async function runTinyflow(taught: boolean): Promise<Row[]> {
  const { np, jit, Array: TfArray } = await import("../src/index");
  const cases: Case[] = [];
  for (const size of SIZES) {
    const side = sideOf(size);
    const a = TfArray.fromTyped(filled(size, 1), [size], "float32");
    const b = TfArray.fromTyped(filled(size, 2), [size], "float32");
    const m1 = TfArray.fromTyped(filled(size, 3), [side, side], "float32");
    const m2 = TfArray.fromTyped(filled(size, 4), [side, side], "float32");
    const calls: Record<(typeof OPS)[number], () => InstanceType<typeof TfArray>> = {
      add: () => np.add(a, b) as InstanceType<typeof TfArray>,
      mul: () => np.multiply(a, b) as InstanceType<typeof TfArray>,
      matmul: () => np.matmul(m1, m2) as InstanceType<typeof TfArray>,
    };
    for (const op of OPS) {
      const call = calls[op];
      cases.push({ op, size, fn: taught ? () => void call() : () => call().dispose() });
    }
  }
  const rows = await timeCases(cases);
  if (taught) return rows;
  // W2 as bench/workloads.md has it: tanh(x*2+1)*x over 1e6 elements plus the
  // readback, eager against jit, written as a user would (intermediates left to
  // the garbage collector), one call per task as in the harness's async loop.
  const n = 1_000_000;
  const x = TfArray.fromTyped(filled(n, 5), [n], "float32");
  const w2 = (v: any) => np.tanh(v.mul(2).add(1)).mul(v);
  const w2jit = jit(w2);
  const eager: [number[], number[]] = [[], []];
  const jitted: [number[], number[]] = [[], []];
  const once = async (fn: (v: any) => any, into: [number[], number[]] | null) => {
    const t0 = performance.now();
    const c0 = cpuNow();
    const out = fn(x) as InstanceType<typeof TfArray>;
    await out.data();
    into?.[0].push((performance.now() - t0) * 1000);
    into?.[1].push((cpuNow() - c0) * 1000);
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
  const w2Row = (op: string, [wall, cpu]: [number[], number[]]): Row => ({ op, size: n, us: median(wall), minUs: Math.min(...wall), cpuUs: median(cpu) });
  rows.push(w2Row("W2 eager", eager), w2Row("W2 jit", jitted));
  return rows;
}

async function runTfjs(): Promise<Row[]> {
  const tf = await import("@tensorflow/tfjs");
  await import("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: setBackend('wasm') failed");
  await tf.ready();
  const cases: Case[] = [];
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
    for (const op of OPS) cases.push({ op, size, fn: calls[op] });
  }
  return timeCases(cases);
}

async function child(peer: string): Promise<void> {
  const rows = peer === "tfjs" ? await runTfjs() : await runTinyflow(peer === "tinyflow-taught");
  console.log(JSON.stringify({ peer, rows } satisfies ChildResult));
}

function parent(rounds: number): void {
  const self = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const peer of ["tinyflow", "tinyflow-taught", "tfjs"]) {
      const p = spawnSync(process.execPath, ["--import", "tsx", self, "--child", peer], { encoding: "utf8", env: { ...process.env } });
      const line = p.stdout.trim().split("\n").pop() ?? "";
      if (p.status !== 0 || !line.startsWith("{")) {
        console.log(`${peer}: child failed (${p.status})\n${p.stderr.slice(-2000)}`);
        continue;
      }
      results.push(JSON.parse(line) as ChildResult);
    }
  }
  const pick = (peer: string, op: string, size: number, field: "us" | "minUs" | "cpuUs") =>
    median(results.filter((c) => c.peer === peer).flatMap((c) => c.rows.filter((x) => x.op === op && x.size === size).map((x) => x[field])));
  console.log(`eager dispatch, ${rounds} rounds x ${SAMPLES} samples per peer; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log("µs per op; cpu = the process's CPU time (robust to other load on the machine), wall = median (min)");
  console.log("both peers dispose every result; \"taught\" = tinyflow's results left to the garbage collector, as its README teaches");
  console.log("op       elements  tinyflow cpu  tfjs cpu  cpu ratio   tinyflow wall       tfjs wall       wall ratio   taught cpu  taught/tfjs");
  const fmt = (x: number) => x.toFixed(2);
  for (const size of SIZES) {
    for (const op of OPS) {
      const [tc, fc] = [pick("tinyflow", op, size, "cpuUs"), pick("tfjs", op, size, "cpuUs")];
      const [tw, fw] = [pick("tinyflow", op, size, "us"), pick("tfjs", op, size, "us")];
      const [tm, fm] = [pick("tinyflow", op, size, "minUs"), pick("tfjs", op, size, "minUs")];
      const taught = pick("tinyflow-taught", op, size, "cpuUs");
      console.log(
        `${op.padEnd(8)} ${String(size).padStart(8)}  ${fmt(tc).padStart(12)}  ${fmt(fc).padStart(8)}  ${fmt(tc / fc).padStart(9)}   ` +
          `${`${fmt(tw)} (${fmt(tm)})`.padStart(15)}  ${`${fmt(fw)} (${fmt(fm)})`.padStart(15)}  ${fmt(tw / fw).padStart(9)}   ` +
          `${fmt(taught).padStart(10)}  ${fmt(taught / fc).padStart(11)}`,
      );
    }
  }
  const [ew, jw] = [pick("tinyflow", "W2 eager", 1_000_000, "us"), pick("tinyflow", "W2 jit", 1_000_000, "us")];
  const [em, jm] = [pick("tinyflow", "W2 eager", 1_000_000, "minUs"), pick("tinyflow", "W2 jit", 1_000_000, "minUs")];
  console.log(
    `W2 (tanh(x*2+1)*x, 1e6, with readback): eager ${fmt(ew / 1000)} ms (min ${fmt(em / 1000)}), jit ${fmt(jw / 1000)} ms (min ${fmt(jm / 1000)}); ` +
      `eager/jit ${fmt(ew / jw)} (min ${fmt(em / jm)}) — wall time: both may use the worker threads`,
  );
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await child(process.argv[childAt + 1]);
else parent(Number(process.argv[2] ?? 3));
