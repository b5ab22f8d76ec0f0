// bench/control_flow.ts — jitted programs that contain control flow (scan,
// whileLoop, cond): how long one call takes and how many operations it runs
// outside any compiled program (op by op).
//
// Cases, each a jitted function called on the same inputs:
//   lstm step    the examples/lstm_charlm.ts training step at its full sizes
//                (embedding 32, LSTM 128, 64 characters, batch 32, Adam with
//                global-norm clipping; loss read back each step);
//   scan cumsum  a length-256 recurrence h = tanh(h·0.9 + x_t) over [256, 1024];
//   while newton Newton's iteration for sqrt on 4096 values until converged;
//   cond mlp     a 784-256-10 MLP whose hidden activation is chosen by lax.cond;
//   scan rnn     a plain lax.scan RNN h = tanh(x_t·W + h·U + b) at the LSTM's
//                sizes (B32 T64 E32 H128), forward only and its gradient.
// Per case: min and median wall ms and CPU ms per call (CPU time of the whole
// process, worker threads included), over interleaved repetitions, and the
// count of eager (op-by-op) operations per call.
//
// --profile: then, for each case, the split of a call into kernel time and
// driver overhead. The cases are built again with TINYFLOW_PROFILE=1 (the wasm
// programs then time each step, and scan steps their loops); the profile the
// jitted function's lower().profile() prints is parsed: per top-level segment
// and per scan (per iteration), kernel µs, kernel count, bytes moved by pure
// copies (window copies: dynamic_slice, concatenate, pad, gather...; copy
// kernels; a scan's ys that the driver copies into their rows of the stacked
// ys) and fills, GEMM GFLOP and the GEMMs' rate; the driver's share is
// the scan loop's time less its kernels' (per iteration), and for the whole
// call the profiled calls' mean wall time less all their kernel time. The floor is the
// call's GEMM FLOPs at FLOOR_GFLOPS (this machine's WASM SIMD peak per thread,
// bench/peak.ts), and the slowest step other than a GEMM is named. The
// figures cover the calls after as many warm-up calls (steadyParts: a kernel's
// first calls compile it and run before V8 tiers it up). Timing each step adds
// two performance.now() calls to it, which the driver figures include.
// Run: npx tsx bench/control_flow.ts [reps] [--profile]

import os from "node:os";
import { np, nn, lax, jit, valueAndGrad, optim, random, type Array } from "../src/index";
import { onEagerOperation } from "../src/core/eval_trace";
import { getMobyDick } from "../src/datasets";
import { median } from "./harness";

const args = process.argv.slice(2);
const profileMode = args.includes("--profile");
const reps = Number(args.find((a) => !a.startsWith("--")) ?? 10);
/** GFLOPS of one thread's WASM SIMD GEMM peak on this machine (bench/peak.ts; ~31 plain, ~38 relaxed). */
const FLOOR_GFLOPS = 30;

interface Case {
  name: string;
  /** One call, its result read back. */
  run(): number;
  /** lower(...).profile() of the jitted function on the case's current arguments. */
  profile(): string;
}

function lstmStep(): Case {
  const corpus = getMobyDick({ maxChars: 200_000 });
  const seqLen = 64, embedDim = 32, hidden = 128, batch = 32;
  const embedding = nn.Embedding(corpus.vocab.size, embedDim);
  const lstm = nn.LSTM(embedDim, hidden);
  const readout = nn.Linear(hidden, corpus.vocab.size);
  const [k1, k2, k3] = random.split(random.key(0), 3);
  type P = { embedding: unknown; lstm: unknown; readout: unknown };
  let params: P = { embedding: embedding.init(k1).params, lstm: lstm.init(k2).params, readout: readout.init(k3).params };
  const logits = (p: P, ids: Array) => readout.apply(p.readout as never, lstm.apply(p.lstm as never, embedding.apply(p.embedding as never, ids)));
  const loss = (p: P, x: Array, y: Array) => np.mean(nn.softmaxCrossEntropyWithIntegerLabels(logits(p, x), y));
  const optimizer = optim.chain(optim.clipByGlobalNorm(1), optim.adam(3e-3));
  let state = optimizer.init(params);
  const step = jit(
    (p: P, s: typeof state, x: Array, y: Array) => {
      const [value, grads] = valueAndGrad((q: P) => loss(q, x, y))(p);
      const [updates, s2] = optimizer.update(grads, s, p);
      return [optim.applyUpdates(p, updates), s2, value] as const;
    },
    { donateArgnums: [0, 1] },
  );
  const [x, y] = corpus.randomBatch(random.key(1), batch, seqLen);
  return {
    name: "lstm step (B32 T64 E32 H128)",
    run: () => {
      let value: Array;
      [params, state, value] = step(params, state, x, y);
      return Number(value.item());
    },
    profile: () => step.lower(params, state, x, y).profile(),
  };
}

function scanCumulative(): Case {
  const xs = random.normal(random.key(2), [256, 1024]);
  const h0 = np.zeros([1024]);
  const f = jit((h: Array, xs: Array) => lax.scan((c: Array, x: Array) => {
    const n = np.tanh(c.mul(0.9).add(x));
    return [n, n.sum()];
  }, h, xs));
  return { name: "scan recurrence (256 x 1024)", run: () => Number((f(h0, xs)[1] as Array).sum().item()), profile: () => f.lower(h0, xs).profile() };
}

function whileNewton(): Case {
  const a = random.uniform(random.key(3), [4096], { minval: 1, maxval: 100 });
  const f = jit((a: Array) => {
    const [, x] = lax.whileLoop(
      ([i, x]: [Array, Array]) => np.logicalAnd(i.lt(50), np.max(np.abs(x.mul(x).sub(a))).gt(1e-3)),
      ([i, x]: [Array, Array]) => [i.add(1), x.add(a.div(x)).mul(0.5)] as [Array, Array],
      [np.array(0, { dtype: "int32" }), a] as [Array, Array],
    );
    return x;
  });
  return { name: "while newton sqrt (4096)", run: () => Number(f(a).sum().item()), profile: () => f.lower(a).profile() };
}

function condMlp(): Case {
  const [k1, k2, k3] = random.split(random.key(4), 3);
  const w1 = random.normal(k1, [784, 256]).mul(0.05), w2 = random.normal(k2, [256, 10]).mul(0.05);
  const x = random.uniform(k3, [128, 784]);
  const useRelu = np.array(1, { dtype: "int32" });
  const f = jit((w1: Array, w2: Array, x: Array, flag: Array) => {
    const h = np.dot(x, w1);
    const act = lax.cond(flag.gt(0), (v: Array) => nn.relu(v), (v: Array) => np.tanh(v), h);
    return np.mean(nn.logSoftmax(np.dot(act, w2)));
  });
  return { name: "cond mlp (128x784-256-10)", run: () => Number(f(w1, w2, x, useRelu).item()), profile: () => f.lower(w1, w2, x, useRelu).profile() };
}

/** The plain RNN of the LSTM's sizes: h_t = tanh(x_t·W + h_{t-1}·U + b) over [T, B, E] inputs, the loss the mean of the hs. */
function scanRnn(withGrad: boolean): Case {
  const T = 64, B = 32, E = 32, H = 128;
  const [k1, k2, k3] = random.split(random.key(5), 3);
  const params = { w: random.normal(k1, [E, H]).mul(0.1), u: random.normal(k2, [H, H]).mul(0.1), b: np.zeros([H]) };
  const xs = random.normal(k3, [T, B, E]);
  const loss = (p: typeof params, xs: Array) => {
    const [, hs] = lax.scan((h: Array, x: Array) => {
      const n = np.tanh(np.dot(x, p.w).add(np.dot(h, p.u)).add(p.b));
      return [n, n];
    }, np.zeros([B, H]), xs);
    return np.mean(hs as Array);
  };
  if (!withGrad) {
    const f = jit(loss);
    return { name: "scan rnn fwd (B32 T64 E32 H128)", run: () => Number(f(params, xs).item()), profile: () => f.lower(params, xs).profile() };
  }
  const g = jit(valueAndGrad(loss));
  return {
    name: "scan rnn grad (B32 T64 E32 H128)",
    run: () => Number((g(params, xs)[0] as Array).item()),
    profile: () => g.lower(params, xs).profile(),
  };
}

const buildCases = (): Case[] => [lstmStep(), scanCumulative(), whileNewton(), condMlp(), scanRnn(false), scanRnn(true)];
const cases = buildCases();
const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const eagerOps = new Map<string, number>();
for (let r = -2; r < reps; r++) {
  for (const c of cases) {
    let ops = 0;
    onEagerOperation(() => ops++);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    c.run();
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    onEagerOperation(null);
    eagerOps.set(c.name, ops);
    if (r >= 0) {
      wall.get(c.name)!.push(ms);
      cpu.get(c.name)!.push((used.user + used.system) / 1000);
    }
  }
}
console.log(`control flow under jit, ${reps} reps interleaved; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const c of cases) {
  const w = wall.get(c.name)!, u = cpu.get(c.name)!;
  console.log(
    `${c.name.padEnd(30)} wall min ${Math.min(...w).toFixed(1).padStart(8)} med ${median(w).toFixed(1).padStart(8)} ms   ` +
      `cpu min ${Math.min(...u).toFixed(1).padStart(8)} med ${median(u).toFixed(1).padStart(8)} ms   eager ops/call ${eagerOps.get(c.name)}`,
  );
}

/** One top-level part of a profile: a compiled segment, or a scan's iteration or stacking. */
interface Part {
  label: string;
  /** Runs per call: the scan length for an iteration, else 1. */
  per: number;
  kernelUs: number;
  kernels: number;
  copyBytes: number;
  fillBytes: number;
  gemmFlops: number;
  gemmUs: number;
  /** A scan's loop µs per iteration (kernels and driver), where the profile says it. */
  loopUs?: number;
  /** Each step's µs and description, in the profile's order. */
  steps: { us: number; what: string }[];
}

function elements(dims: string): number {
  return dims.split(",").filter(Boolean).reduce((n, d) => n * Number(d), 1);
}

/** Parses lower().profile() text into parts: steps at a section's own depth only (a nested scan's steps are its outer iteration's). */
function parseProfile(text: string): Part[] {
  const parts: Part[] = [];
  let part: Part | null = null;
  let depth = -1;
  let scanLength = 1;
  let loopUs: number | undefined;
  let rowCopyBytes = 0;
  for (const line of text.split("\n")) {
    const head = /^# (.*)$/.exec(line);
    if (head) {
      scanLength = Number(/scan length=(\d+)/.exec(head[1])?.[1] ?? 1);
      part = /scan /.test(head[1]) ? null : { label: head[1], per: 1, kernelUs: 0, kernels: 0, copyBytes: 0, fillBytes: 0, gemmFlops: 0, gemmUs: 0, steps: [] };
      if (part) parts.push(part);
      depth = 8;
      loopUs = undefined;
      rowCopyBytes = 0;
      continue;
    }
    const loop = /^ {4}\d+ iterations per run; loop ([\d.]+) µs/.exec(line);
    if (loop) loopUs = Number(loop[1]);
    // ys the iteration program did not write into their rows of the stacked ys, copied there by the driver.
    const rowCopies = /ys copied into their rows (\d+) bytes per run/.exec(line);
    if (rowCopies) rowCopyBytes = Number(rowCopies[1]);
    const sub = /^ {4}(iteration|stack):$/.exec(line);
    if (sub) {
      const iteration = sub[1] === "iteration";
      part = { label: `scan ${sub[1]} (length ${scanLength})`, per: iteration ? scanLength : 1, kernelUs: 0, kernels: 0, copyBytes: iteration ? rowCopyBytes / scanLength : 0, fillBytes: 0, gemmFlops: 0, gemmUs: 0, steps: [], ...(iteration ? { loopUs } : {}) };
      parts.push(part);
      depth = 12;
      continue;
    }
    const step = /^( *)([\d.]+) µs +\d+: (.*)$/.exec(line);
    if (!step || !part || step[1].length > depth + 4) continue;
    const us = Number(step[2]);
    const what = step[3];
    part.kernelUs += us;
    part.steps.push({ us, what });
    // A dynamic slice made a view (no copy, no kernel) still shows its step's time.
    if (!what.startsWith("dynamic_slice as a view")) part.kernels++;
    const gemm = /sgemm(?: A\^T)?(?: B\^T)? (\d+)x\[(\d+)x(\d+)\]·\[\d+x(\d+)\]/.exec(what);
    if (gemm) {
      const [, b, m, k, n] = gemm.map(Number);
      part.gemmFlops += 2 * b * m * k * n;
      part.gemmUs += us;
      continue;
    }
    const bytesOut = (elems: number) => elems * (/-> %\d+:bool/.test(what) ? 1 : 4);
    const window = /kernel: copy windows over \[([\d,]*)\]/.exec(what);
    if (window) {
      part.copyBytes += bytesOut(elements(window[1]));
      continue;
    }
    const copy = /^fused kernel over \[([\d,]*)\]: copy \((.*?)\) -> (.*)$/.exec(what);
    if (copy) {
      const outputs = copy[3].split(", %").length;
      const bytes = bytesOut(elements(copy[1])) * outputs;
      if (copy[2] === "") part.fillBytes += bytes;
      else part.copyBytes += bytes;
    }
  }
  return parts;
}

/**
 * The parts' times over the calls between two profiles of one program (`before` after
 * `callsBefore` calls, `after` after `callsAfter`): the profile's means cover every run since
 * the program was built, so the first calls -- each kernel's first run compiles it (V8 compiles
 * wasm functions lazily), and the next ones run baseline code until V8 tiers them up -- would
 * otherwise weigh in (measured on the LSTM cell kernel: ~3-10 ms for its first call, ~57 µs later).
 */
function steadyParts(before: Part[], after: Part[], callsBefore: number, callsAfter: number): Part[] {
  const diff = (a: number, b: number) => (b * callsAfter - a * callsBefore) / (callsAfter - callsBefore);
  return after.map((p, i) => {
    const q = before[i];
    return {
      ...p,
      kernelUs: diff(q.kernelUs, p.kernelUs),
      gemmUs: diff(q.gemmUs, p.gemmUs),
      ...(p.loopUs !== undefined && q.loopUs !== undefined ? { loopUs: diff(q.loopUs, p.loopUs) } : {}),
      steps: p.steps.map((st, j) => ({ ...st, us: diff(q.steps[j].us, st.us) })),
    };
  });
}

function profileCases(): void {
  process.env.TINYFLOW_PROFILE = "1";
  const profiled = buildCases();
  // Wall time of the profiled calls themselves, so kernels and driver are split within the same calls.
  const profiledWall = new Map<string, number[]>(profiled.map((c) => [c.name, []]));
  const calls = Math.max(3, reps);
  for (let r = 0; r < calls; r++) for (const c of profiled) c.run();
  const warm = new Map(profiled.map((c) => [c.name, parseProfile(c.profile())]));
  for (let r = 0; r < calls; r++) {
    for (const c of profiled) {
      const t0 = performance.now();
      c.run();
      profiledWall.get(c.name)!.push(performance.now() - t0);
    }
  }
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  console.log(
    `\nprofile (TINYFLOW_PROFILE=1, ${calls} calls each after ${calls} warm-up calls; µs are means per run of each part over those calls; floor = GEMM FLOPs at ${FLOOR_GFLOPS} GFLOPS); ` +
      `load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  for (const c of profiled) {
    const parts = steadyParts(warm.get(c.name)!, parseProfile(c.profile()), calls, 2 * calls);
    const perCall = (f: (p: Part) => number) => parts.reduce((s, p) => s + f(p) * p.per, 0);
    const kernelMs = perCall((p) => p.kernelUs) / 1000;
    const flops = perCall((p) => p.gemmFlops);
    const wallMs = profiledWall.get(c.name)!.reduce((a, b) => a + b, 0) / profiledWall.get(c.name)!.length;
    console.log(
      `${c.name}: ${wallMs.toFixed(1)} ms per profiled call (mean) = kernels ${kernelMs.toFixed(1)} ms + driver ${(wallMs - kernelMs).toFixed(1)} ms; ` +
        `${perCall((p) => p.kernels)} kernels, copies ${kb(perCall((p) => p.copyBytes))}, fills ${kb(perCall((p) => p.fillBytes))}; ` +
        `GEMMs ${(flops / 1e9).toFixed(3)} GFLOP in ${(perCall((p) => p.gemmUs) / 1000).toFixed(1)} ms -> floor ${(flops / FLOOR_GFLOPS / 1e6).toFixed(1)} ms`,
    );
    for (const p of parts) {
      const loop = p.loopUs !== undefined ? `, loop ${p.loopUs.toFixed(1)} µs -> driver ${(p.loopUs - p.kernelUs).toFixed(1)} µs` : "";
      const rate = p.gemmUs > 0 ? ` at ${(p.gemmFlops / p.gemmUs / 1e3).toFixed(1)} GFLOPS` : "";
      console.log(
        `    ${p.label.padEnd(44)} ${p.per > 1 ? `per iteration (x${p.per})` : "per call".padEnd(18)} kernels ${p.kernelUs.toFixed(1).padStart(8)} µs (${p.kernels})${loop}; ` +
          `copies ${kb(p.copyBytes)}, fills ${kb(p.fillBytes)}; GEMM ${(p.gemmFlops / 1e6).toFixed(2)} MFLOP in ${p.gemmUs.toFixed(1)} µs${rate}`,
      );
      const others = p.steps.filter((st) => !st.what.startsWith("sgemm"));
      const slowest = others.reduce<Part["steps"][number] | null>((a, b) => (a && a.us >= b.us ? a : b), null);
      if (slowest) console.log(`        slowest other step: ${slowest.us.toFixed(1)} µs ${slowest.what.slice(0, 110)}`);
    }
  }
}

if (profileMode) profileCases();
