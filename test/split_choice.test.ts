// The thread pool's choice between splitting a short job and running it on
// the calling thread (split_choice.ts), driven by made-up timings so every
// decision is known; then a pool's short conv taking both ways with the same
// bits, and a large one always splitting (pool.ts, "Short jobs").
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError } from "../src/core/errors";
import { conv2dShapes, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { instantiateWasmKernels, type WasmKernels } from "../src/backends/wasm/kernels";
import { SHORT_JOB_FACTOR } from "../src/backends/wasm/pool";
import { DEFAULT_SPLIT_CHOICE, SplitChoice, type SplitWay } from "../src/backends/wasm/split_choice";
import { ThreadPool } from "../src/backends/wasm/threads";
import { randomFloats } from "./float_bits";
import { rng } from "./rng";

/** Runs `jobs` decisions, each costing what `cost` says for its way; returns the ways taken. */
function drive(c: SplitChoice, jobs: number, cost: (way: SplitWay, job: number) => number): SplitWay[] {
  const ways: SplitWay[] = [];
  for (let j = 0; j < jobs; j++) {
    const way = c.next();
    ways.push(way);
    c.record(way, cost(way, j));
  }
  return ways;
}

const count = (ways: SplitWay[], way: SplitWay): number => ways.filter((w) => w === way).length;

describe("SplitChoice", () => {
  const cfg = DEFAULT_SPLIT_CHOICE; // window 7, warmup 3, probe gaps 8..64

  it("alternates the two ways, split first, until each has its warm-up samples", () => {
    const c = new SplitChoice();
    expect(drive(c, 6, () => 1)).toEqual(["split", "alone", "split", "alone", "split", "alone"]);
  });

  it("takes the faster way once warm: split on an idle machine, the calling thread on a busy one", () => {
    const idle = new SplitChoice();
    const ways = drive(idle, 200, (w) => (w === "split" ? 0.3 : 0.43));
    expect(count(ways.slice(6), "split")).toBeGreaterThan(190 - 12);
    const busy = new SplitChoice();
    const busyWays = drive(busy, 200, (w) => (w === "split" ? 0.6 : 0.43));
    expect(count(busyWays.slice(6), "alone")).toBeGreaterThan(190 - 12);
  });

  it("probes the way not taken after minProbeGap jobs, doubling the gap after each probe that loses, up to maxProbeGap", () => {
    const c = new SplitChoice();
    const ways = drive(c, 6 + 400, (w) => (w === "split" ? 0.6 : 0.4));
    const probes = ways.flatMap((w, j) => (j >= 6 && w === "split" ? [j] : []));
    const gaps = probes.slice(1).map((p, i) => p - probes[i]!);
    // Split last ran at job 4 (warm-up); each probe then follows 8, 16, 32, 64, 64, ... jobs on the calling thread.
    expect(probes[0]).toBe(4 + cfg.minProbeGap + 1);
    expect(gaps.slice(0, 5)).toEqual([16, 32, 64, 64, 64].map((g) => g + 1));
  });

  it("a tie, or a split less than minSplitGain faster, goes to the calling thread", () => {
    const c = new SplitChoice();
    drive(c, 6, () => 0.5);
    expect(c.best()).toBe("alone");
    expect(c.next()).toBe("alone");
    const close = new SplitChoice();
    drive(close, 6, (w) => (w === "split" ? 0.5 * (1 - cfg.minSplitGain / 2) : 0.5));
    expect(close.best()).toBe("alone");
    const clear = new SplitChoice();
    drive(clear, 6, (w) => (w === "split" ? 0.5 * (1 - 2 * cfg.minSplitGain) : 0.5));
    expect(clear.best()).toBe("split");
  });

  it("moves to the calling thread within a few jobs when splitting turns slow (the other core got busy)", () => {
    const c = new SplitChoice();
    drive(c, 100, (w) => (w === "split" ? 0.3 : 0.43));
    expect(c.best()).toBe("split");
    // Splitting now stalls: the median of the last 7 split jobs turns after 4 of them (one of
    // the 5 jobs may be a probe of the calling thread).
    const slow = (w: SplitWay): number => (w === "split" ? 0.9 : 0.43);
    expect(count(drive(c, 5, slow), "split")).toBeGreaterThanOrEqual(4);
    expect(c.best()).toBe("alone");
    expect(drive(c, 5, slow)).toEqual(["alone", "alone", "alone", "alone", "alone"]);
  });

  it("moves back to splitting within a few jobs of a probe that wins (the other core is free again)", () => {
    const c = new SplitChoice();
    let now = 0;
    // Split is slow for the first 300 jobs, then fast.
    const ways = drive(c, 600, (w, j) => {
      now = j;
      return w === "split" ? (j < 300 ? 0.9 : 0.3) : 0.43;
    });
    expect(now).toBe(599);
    const firstFastProbe = ways.findIndex((w, j) => j >= 300 && w === "split");
    expect(firstFastProbe).toBeGreaterThanOrEqual(300);
    expect(firstFastProbe).toBeLessThanOrEqual(300 + cfg.maxProbeGap + 1);
    // A probe that beats the calling thread is repeated at once, so the median turns within 4 jobs.
    expect(ways.slice(firstFastProbe, firstFastProbe + 4)).toEqual(["split", "split", "split", "split"]);
    expect(c.best()).toBe("split");
    expect(count(ways.slice(firstFastProbe + 4), "alone")).toBeLessThan(20);
  });

  it("keeps its choice through single outliers (a descheduled job) of the way taken", () => {
    const c = new SplitChoice();
    const ways = drive(c, 200, (w, j) => (w === "split" ? (j % 10 === 0 ? 5 : 0.3) : 0.43));
    expect(count(ways.slice(6), "alone")).toBeLessThan(12);
  });

  it("ignores costs that are not finite non-negative numbers", () => {
    const c = new SplitChoice();
    drive(c, 6, (w) => (w === "split" ? 0.3 : 0.4));
    c.record("alone", NaN);
    c.record("alone", -1);
    c.record("alone", Infinity);
    expect(c.best()).toBe("split");
  });

  it("rejects an inconsistent config with a BackendError naming it", () => {
    expect(() => new SplitChoice({ ...cfg, window: 3, warmup: 4 })).toThrow(BackendError);
    expect(() => new SplitChoice({ ...cfg, minProbeGap: 8, maxProbeGap: 4 })).toThrow(/SplitChoice: inconsistent config/);
    expect(() => new SplitChoice({ ...cfg, minSplitGain: 1 })).toThrow(/minSplitGain/);
  });
});

describe("a pool's short jobs", () => {
  const T_OUT = 60_000;
  // W5's conv: 7.2M multiply-adds, 3.4x the conv split threshold: short.
  const W5: Conv2dParams = { layout: "NHWC", n: 32, h: 28, w: 28, cin: 1, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
  let K: WasmKernels;
  let pool: ThreadPool;

  beforeAll(async () => {
    K = instantiateWasmKernels();
    pool = new ThreadPool(K, { threads: 2, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
    await pool.whenReady(15_000);
  }, T_OUT);
  afterAll(() => pool.close());

  it("a short conv takes both ways during warm-up, split first, with the same bits", () => {
    const s = conv2dShapes(W5);
    const next = rng(11);
    const x = K.putF32(randomFloats(next, s.xSize));
    const w = K.putF32(randomFloats(next, s.wSize));
    const y = K.allocF32(s.ySize);
    try {
      const work = s.ySize * 9;
      expect(pool.isShortJob(work, pool.minConvWork)).toBe(true);
      const results: Float32Array[] = [];
      const splits: number[] = [];
      for (let i = 0; i < 6; i++) {
        const before = pool.splitJobs;
        pool.conv({ params: W5, mode: "forward", a: x, b: w, out: y });
        splits.push(pool.splitJobs - before);
        results.push(K.readF32(y, s.ySize));
      }
      if (pool.activeThreads === 2) expect(splits).toEqual([1, 0, 1, 0, 1, 0]);
      // Bit for bit (Buffer.equals: an element-wise toEqual of 800K elements takes seconds).
      const bytes = (f: Float32Array): Buffer => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      for (const r of results.slice(1)) expect(bytes(r).equals(bytes(results[0]!))).toBe(true);
    } finally {
      K.freeF32(x, s.xSize);
      K.freeF32(w, s.wSize);
      K.freeF32(y, s.ySize);
    }
  }, T_OUT);

  it("a conv of SHORT_JOB_FACTOR times the threshold always splits, and none chooses with adaptiveSplit: false", () => {
    // 64×28×28×4 → 32, 3×3: 57.8M multiply-adds, over 16x the 2M threshold.
    const big: Conv2dParams = { layout: "NHWC", n: 64, h: 28, w: 28, cin: 4, cout: 32, kh: 3, kw: 3, padding: [[1, 1], [1, 1]] };
    const fixed = new ThreadPool(K, { threads: 2, adaptiveSplit: false, startTimeoutMs: 10_000, stallTimeoutMs: 10_000 });
    const cases: Array<[ThreadPool, Conv2dParams]> = [[pool, big], [fixed, W5]];
    for (const [p, params] of cases) {
      const s = conv2dShapes(params);
      expect(s.ySize * 9 * params.cin >= SHORT_JOB_FACTOR * pool.minConvWork || !p.adaptiveSplit).toBe(true);
      const next = rng(5);
      const x = K.putF32(randomFloats(next, s.xSize));
      const w = K.putF32(randomFloats(next, s.wSize));
      const y = K.allocF32(s.ySize);
      try {
        p.start();
        const before = p.splitJobs;
        for (let i = 0; i < 8; i++) p.conv({ params, mode: "forward", a: x, b: w, out: y });
        if (p.activeThreads === 2) expect(p.splitJobs - before).toBe(8);
      } finally {
        K.freeF32(x, s.xSize);
        K.freeF32(w, s.wSize);
        K.freeF32(y, s.ySize);
      }
    }
    fixed.close();
  }, T_OUT);
});
