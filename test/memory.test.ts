// Memory of the wasm backend: training loops written naturally (an MLP's
// params as a pytree, fresh batch arrays every step, no dispose() calls) keep
// the bytes allocated in wasm linear memory bounded — jitted, eager, and with
// the params donated — when the garbage collector runs and the event loop
// turns between checkpoints (arrays are freed by a FinalizationRegistry, whose
// callbacks run as tasks of the event loop). Also: dispose() frees at once,
// and a buffer shared by two arrays (an output that is an input) lives until
// both are gone.
//
// The collector is reached through v8.setFlagsFromString("--expose-gc") and a
// fresh vm context, so no runner flag is needed.

import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { Array as TfArray, getBackend, grad, jit, memoryStats, np, setMemoryLimit, tree } from "../src/index";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const wasm = getBackend("wasm") as unknown as { liveBytes(): number };
const live = (): number => wasm.liveBytes();

/** Collect garbage and let the FinalizationRegistry callbacks (event-loop tasks) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

let seed = 12345;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};
const randn = (shape: number[], scale = 1): TfArray =>
  TfArray.fromTyped(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rnd() - 0.5) * scale), shape, "float32", { backend: "wasm" });

// --- the model: a two-layer MLP regressing a fixed random linear map --------------------------

interface Params {
  w1: TfArray;
  b1: TfArray;
  w2: TfArray;
  b2: TfArray;
}
const IN = 32;
const HIDDEN = 64;
const OUT = 10;
const BATCH = 16;
const target = randn([IN, OUT]);

const initParams = (): Params => ({ w1: randn([IN, HIDDEN], 0.5), b1: randn([HIDDEN], 0.1), w2: randn([HIDDEN, OUT], 0.5), b2: randn([OUT], 0.1) });

function loss(p: Params, x: TfArray, y: TfArray) {
  const h = np.tanh(np.add(np.matmul(x, p.w1), p.b1));
  const out = np.add(np.matmul(h, p.w2), p.b2);
  return np.mean(np.square(np.subtract(out, y)));
}

function sgdStep(p: Params, x: TfArray, y: TfArray): Params {
  const g = grad(loss)(p, x, y) as Params;
  return tree.map((w: TfArray, dw: TfArray) => np.subtract(w, np.multiply(0.05, dw)), p, g) as Params;
}

function batch(): [TfArray, TfArray] {
  const x = randn([BATCH, IN]);
  return [x, np.matmul(x, target) as TfArray];
}

const evalLoss = (p: Params): number => {
  const s = seed;
  seed = 999;
  const [x, y] = batch();
  seed = s;
  return (loss(p, x, y) as TfArray).item() as number;
};

/**
 * Run `steps` steps of `step`, settling every `every` steps, and return the live bytes at
 * each checkpoint (the first after `warmup` steps, once every program and cache exists).
 */
async function trainAndMeasure(step: (p: Params, x: TfArray, y: TfArray) => Params, steps: number, every: number, warmup: number) {
  let p = initParams();
  const before = evalLoss(p);
  const checkpoints: number[] = [];
  for (let i = 1; i <= steps; i++) {
    const [x, y] = batch();
    p = step(p, x, y);
    if (i >= warmup && (i - warmup) % every === 0) {
      await settle();
      checkpoints.push(live());
    }
  }
  return { checkpoints, before, after: evalLoss(p), params: p };
}

/** Per-step garbage of this model: the params (a new set each step) and one batch. */
const PER_STEP_BYTES = 4 * (IN * HIDDEN + HIDDEN + HIDDEN * OUT + OUT + BATCH * (IN + OUT));

function expectBounded(checkpoints: number[], what: string): void {
  const base = checkpoints[0];
  const growth = Math.max(...checkpoints) - base;
  // Steady state allocates nothing new; a leak of one small array per step would show.
  expect(growth, `${what}: live bytes at checkpoints ${checkpoints.join(", ")}`).toBeLessThanOrEqual(4096);
  // The live set is a few steps' worth at most, not the whole loop's.
  expect(base, `${what}: live bytes ${base}`).toBeLessThan(20 * PER_STEP_BYTES + 4 * 1024 * 1024);
}

// --- tests ---------------------------------------------------------------------------

describe("wasm memory stays bounded in training loops written naturally", () => {
  it("a jitted SGD loop (300 steps)", async () => {
    const r = await trainAndMeasure(jit(sgdStep), 300, 50, 20);
    expectBounded(r.checkpoints, "jit");
    expect(r.after).toBeLessThan(r.before * 0.8);
  });

  it("an eager (un-jitted) SGD loop (100 steps)", async () => {
    const r = await trainAndMeasure(sgdStep, 100, 20, 20);
    expectBounded(r.checkpoints, "eager");
    expect(r.after).toBeLessThan(r.before);
  });

  it("a jitted SGD loop with the params donated (300 steps)", async () => {
    const step = jit(sgdStep, { donateArgnums: [0] });
    let p = initParams();
    const [x, y] = batch();
    const old = p;
    p = step(p, x, y);
    // Donated arrays are given up by the call, like in JAX.
    expect(old.w1.isDisposed).toBe(true);
    expect(old.b2.isDisposed).toBe(true);
    expect(x.isDisposed).toBe(false);
    expect(p.w1.isDisposed).toBe(false);
    const r = await trainAndMeasure(step, 300, 50, 20);
    expectBounded(r.checkpoints, "jit with donateArgnums [0]");
    expect(r.after).toBeLessThan(r.before * 0.8);
  });

  it("the live set returns to where it was once the loop's arrays are unreachable", async () => {
    const step = jit(sgdStep);
    await trainAndMeasure(step, 10, 10, 10); // compile once
    await settle();
    const start = live();
    await trainAndMeasure(step, 60, 60, 60);
    await settle();
    // (the jit cache and its workspace stay; every array of the loop is gone)
    expect(live() - start).toBeLessThanOrEqual(PER_STEP_BYTES);
  });
});

describe("explicit release", () => {
  it("dispose() frees the buffer immediately and only once", () => {
    const before = live();
    const x = TfArray.fromTyped(new Float32Array(1 << 16), [1 << 16], "float32", { backend: "wasm" });
    expect(live() - before).toBe(4 << 16);
    x.dispose();
    expect(live()).toBe(before);
    x.dispose(); // idempotent
    expect(live()).toBe(before);
    expect(() => x.dataSync()).toThrow(/disposed/);
  });

  it("dispose() of op and jit results frees them immediately", () => {
    const x = randn([100, 50]);
    const before = live();
    const y = np.exp(x) as TfArray;
    const z = jit((a: TfArray) => [np.sin(a), np.sum(a, 0)])(x) as TfArray[];
    expect(live()).toBeGreaterThanOrEqual(before + 2 * 5000 * 4 + 50 * 4);
    y.dispose();
    z[0].dispose();
    z[1].dispose();
    expect(live()).toBeLessThanOrEqual(before + 4096); // the jit program's workspace may remain
  });

  it("a buffer shared by an input and an output lives until both arrays are disposed", () => {
    const x = randn([256]);
    const before = live();
    const [same] = jit((a: TfArray) => [a])(x) as TfArray[];
    expect(live()).toBe(before); // no copy
    x.dispose();
    expect(Array.from(same.dataSync()).length).toBe(256);
    const afterFirst = live();
    same.dispose();
    expect(live()).toBe(afterFirst - 256 * 4);
  });
});

describe("synchronous loops", () => {
  // A synchronous loop never yields to the event loop, so FinalizationRegistry callbacks
  // never run inside it. The residency manager (src/core/residency.ts) bounds wasm memory
  // anyway: past the limit, the least recently used buffers are spilled to the JS heap,
  // where dead ones are collected by ordinary GC.
  it("a synchronous jitted loop (no await between steps) keeps memory bounded", () => {
    const limit = 2 * 2 ** 20;
    setMemoryLimit(limit);
    try {
      const step = jit(sgdStep);
      let p = initParams();
      for (let i = 0; i < 20; i++) p = step(p, ...batch());
      const base = live();
      for (let i = 0; i < 300; i++) p = step(p, ...batch());
      // Without spilling this grows by ~300 steps' worth of params and batches.
      expect(live() - base).toBeLessThan(limit + 20 * PER_STEP_BYTES);
      expect(memoryStats().spilled).toBeGreaterThan(0);
      // Spilled live arrays come back when used: training continues correctly.
      const q = step(p, ...batch());
      expect(Number.isFinite(Number(q.w1.sum().item()))).toBe(true);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });

  it("an operation whose inputs exceed the limit still reads all of them", () => {
    setMemoryLimit(16 * 1024);
    try {
      // Each input is 12 KB: uploading the second for the call would spill the first,
      // whose buffer the call is about to read (and whose memory its output may reuse).
      const a = np.arange(3072).astype(np.float32);
      const b = np.ones([3072]);
      const f = jit((x: any, y: any) => y.add(np.flip(x)));
      for (let round = 0; round < 3; round++) {
        const c = f(a, b);
        expect(c.slice(0).item()).toBe(3072);
        expect(c.slice(3071).item()).toBe(1);
        expect(c.sum().item()).toBe((3071 * 3072) / 2 + 3072);
      }
      expect(memoryStats().spilled).toBeGreaterThan(0);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });

  it("a spilled array keeps its value and is uploaded again on use", () => {
    setMemoryLimit(64 * 1024);
    try {
      const a = np.arange(1000).astype(np.float32);
      const others = globalThis.Array.from({ length: 40 }, () => np.ones([1000]));
      expect(memoryStats().spilled).toBeGreaterThan(0);
      expect(a.add(1).slice(999).item()).toBe(1000);
      expect(others.length).toBe(40);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });
});
