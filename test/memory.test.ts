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
import { ArgumentError, ArrayImpl as TfArray, DisposedArrayError, MemoryLimitError, getBackend, grad, jit, makeJaxpr, memoryStats, np, setMemoryLimit, tree, type Tracer } from "../src/index";
import { programFor, releasePrograms } from "../transforms/compiled_call";
import { buildProgram } from "../transforms/compiled_program";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const wasm = getBackend("wasm") as unknown as { liveBytes(): number };
const live = (): number => wasm.liveBytes();

/**
 * Collect garbage and let the FinalizationRegistry callbacks (event-loop tasks) run, until the
 * live bytes stop changing. A fixed 4 rounds were not always enough under load: a checkpoint
 * then still counted one step's garbage (the jitted SGD test once saw 13.7 KB over its 4 KB
 * bound -- exactly PER_STEP_BYTES, the params and batch of one step, not a growing leak).
 */
async function settle(): Promise<void> {
  let prev = -1;
  let stable = 0;
  // Three equal readings a few ms apart: under load a finalizer batch can land after two
  // back-to-back equal readings (seen: one step's params, 11 KB, finalized one checkpoint late).
  for (let i = 0; i < 100 && stable < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 2));
    const now = live();
    stable = now === prev ? stable + 1 : 0;
    prev = now;
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

  it("an operation whose inputs fit under the limit runs although uploading them spills others", () => {
    setMemoryLimit(40 * 1024);
    try {
      // Inputs and output are 12 KB each (36 KB together): uploading the second input
      // spills older buffers but never the first, which the call is about to read.
      const a = np.arange(3072).astype(np.float32);
      const b = np.ones([3072]);
      const filler = globalThis.Array.from({ length: 4 }, () => np.ones([3072]));
      const f = jit((x: any, y: any) => y.add(np.flip(x)));
      for (let round = 0; round < 3; round++) {
        const c = f(a, b);
        expect(c.slice(0).item()).toBe(3072);
        expect(c.slice(3071).item()).toBe(1);
        expect(c.sum().item()).toBe((3071 * 3072) / 2 + 3072);
      }
      expect(memoryStats().spilled).toBeGreaterThan(0);
      expect(filler.length).toBe(4);
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

describe("a compiled program's constants", () => {
  it("never spill while the program lives, and spill like any array once it is released", () => {
    // 8 KiB arrays: above the size at which small arrays leave for the host, so only a spill moves them.
    const k = np.arange(2048).astype(np.float32) as TfArray;
    const onHost = (a: TfArray) => a.reshapedOnHost(a.aval) !== null;
    const closed = makeJaxpr((v: Tracer) => v.add(k))(np.ones([2048]));
    expect(closed.consts).toContain(k);
    const program = programFor(closed, getBackend("wasm"));
    expect(program.optimized.consts).toContain(k);
    setMemoryLimit(64 * 1024);
    try {
      const spilledBefore = memoryStats().spilled;
      const pushers = globalThis.Array.from({ length: 16 }, () => np.ones([2048]));
      expect(memoryStats().spilled).toBeGreaterThan(spilledBefore);
      expect(onHost(k)).toBe(false);
      // jit's clearCache and its cache eviction release programs this way.
      releasePrograms(closed);
      const morePushers = globalThis.Array.from({ length: 16 }, () => np.ones([2048]));
      expect(onHost(k)).toBe(true);
      expect(k.slice(2047).item()).toBe(2047);
      expect(np.sum(k).item()).toBe((2047 * 2048) / 2);
      expect(pushers.length + morePushers.length).toBe(32);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });

  it("a constant two programs hold stays on the device until both are released", () => {
    const k = np.arange(2048).astype(np.float32) as TfArray;
    const onHost = (a: TfArray) => a.reshapedOnHost(a.aval) !== null;
    const first = makeJaxpr((v: Tracer) => v.add(k))(np.ones([2048]));
    const second = makeJaxpr((v: Tracer) => v.mul(k))(np.ones([2048]));
    programFor(first, getBackend("wasm"));
    programFor(second, getBackend("wasm"));
    setMemoryLimit(64 * 1024);
    try {
      releasePrograms(first);
      const pushers = globalThis.Array.from({ length: 16 }, () => np.ones([2048]));
      expect(onHost(k)).toBe(false);
      releasePrograms(second);
      const morePushers = globalThis.Array.from({ length: 16 }, () => np.ones([2048]));
      expect(onHost(k)).toBe(true);
      expect(k.slice(1000).item()).toBe(1000);
      expect(pushers.length + morePushers.length).toBe(32);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });
});

describe("buffers shared by several arrays", () => {
  it("are counted once, spilled once for all their arrays, and keep their value", () => {
    const x = np.arange(1024).astype(np.float32) as TfArray;
    const before = memoryStats().residentBytes;
    const [same] = jit((a: TfArray) => [a])(x) as TfArray[];
    expect(memoryStats().residentBytes).toBe(before); // one buffer, counted once
    setMemoryLimit(64 * 1024);
    try {
      const spilledBefore = memoryStats().spilled;
      const others = globalThis.Array.from({ length: 40 }, () => np.ones([1000]));
      expect(memoryStats().spilled).toBeGreaterThan(spilledBefore);
      expect(memoryStats().residentBytes).toBeLessThanOrEqual(64 * 1024);
      const expected = Array.from({ length: 1024 }, (_, i) => i);
      expect(Array.from(same.add(0).dataSync())).toEqual(expected); // uploaded again
      expect(Array.from(x.dataSync())).toEqual(expected);
      x.dispose();
      expect(same.slice(1023).item()).toBe(1023);
      expect(others.length).toBe(40);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
  });
});

describe("bad input", () => {
  it("an operation that cannot fit under the limit is refused before it runs, naming it and the bytes", () => {
    const a = np.ones([3072]);
    const b = np.ones([3072]);
    setMemoryLimit(16 * 1024);
    try {
      // 12 KB + 12 KB in, 12 KB out: 36,864 bytes at once.
      expect(() => np.add(a, b)).toThrow(MemoryLimitError);
      expect(() => np.add(a, b)).toThrow(/add: needs 36864 bytes of device memory at once \(inputs 24576 \+ outputs 12288\), more than the memory limit of 16384 bytes; raise it with setMemoryLimit\(65536\)/);
      const f = jit(function twice(x: any, y: any) {
        return x.add(y).mul(2);
      });
      expect(() => f(a, b)).toThrow(/jit\(twice\): needs 36864 bytes/);
    } finally {
      setMemoryLimit(512 * 2 ** 20);
    }
    // Refused before it ran: the inputs are intact and the operation works under a larger limit.
    expect(np.add(a, b).sum().item()).toBe(6144);
  });

  it("setMemoryLimit rejects what is not a positive, finite number of bytes", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "1e6" as unknown as number]) {
      expect(() => setMemoryLimit(bad)).toThrow(ArgumentError);
    }
    expect(() => setMemoryLimit(-5)).toThrow(/setMemoryLimit: expected a positive, finite number of bytes, got -5/);
    expect(memoryStats().limitBytes).toBe(512 * 2 ** 20);
  });

  it("every way of reading a disposed array throws DisposedArrayError naming the access", async () => {
    const x = np.array([1.5, 2, 3]) as TfArray;
    x.dispose();
    expect(x.isDisposed).toBe(true);
    const disposed = "was disposed (by dispose() or a `using` scope) and cannot be used; keep it and dispose it only after its last use";
    expect(() => x.dataSync()).toThrow(DisposedArrayError);
    expect(() => x.dataSync()).toThrow(`dataSync(): this Array (f32[3]) ${disposed}`);
    await expect(x.data()).rejects.toThrow(DisposedArrayError);
    await expect(x.data()).rejects.toThrow(`data(): this Array (f32[3]) ${disposed}`);
    expect(() => x.item()).toThrow(`item(): this Array (f32[3]) ${disposed}`);
    expect(() => x.tolist()).toThrow(`tolist(): this Array (f32[3]) ${disposed}`);
    expect(() => x.toString()).toThrow(`toString(): this Array (f32[3]) ${disposed}`);
    expect(() => x.to("interpreter")).toThrow(`to("interpreter"): this Array (f32[3]) ${disposed}`);
    // As the input of an eager op and of a jitted call, the message names the operation and which input.
    expect(() => np.sin(x)).toThrow(DisposedArrayError);
    expect(() => np.sin(x)).toThrow(`sin: input 1 of 1 (f32[3]) ${disposed}`);
    expect(() => np.multiply(np.ones([3]), x)).toThrow(`mul: input 2 of 2 (f32[3]) ${disposed}`);
    const g = jit(function double(v: any) {
      return v.mul(2);
    });
    expect(() => g(x)).toThrow(`jit(double): input 1 of 1 (f32[3]) ${disposed}`);
    // Printing it for debugging says so instead of throwing.
    expect((x as any)[Symbol.for("nodejs.util.inspect.custom")]()).toBe("Array(f32[3], disposed)");
  });

  it("a compiled program refuses a disposed constant, saying it was captured", () => {
    const k = np.array([1, 2, 3]) as TfArray;
    const closed = makeJaxpr((v: Tracer) => v.add(k))(np.ones([3]));
    expect(closed.consts).toContain(k);
    k.dispose();
    expect(() => buildProgram(closed, getBackend("wasm"))).toThrow(DisposedArrayError);
    expect(() => buildProgram(closed, getBackend("wasm"))).toThrow(
      "jit: a constant the function captured (f32[3]) was disposed (by dispose() or a `using` scope) and cannot be used",
    );
  });

  it("an array donated to a jit call is disposed, and using it again says why", () => {
    const step = jit(function halve(p: any) {
      return p.mul(0.5);
    }, { donateArgnums: [0] });
    const p = np.array(new Float32Array([2, 4])) as TfArray;
    const q = step(p) as TfArray;
    expect(Array.from(q.dataSync())).toEqual([1, 2]);
    const donated = "was donated to jit(halve) (donateArgnums), which reused its memory, so it cannot be used any more; " +
      "use the array that call returned, or do not donate this argument";
    expect(() => step(p)).toThrow(`jit(halve): input 1 of 1 (f32[2]) ${donated}`);
    expect(() => p.add(1)).toThrow(`add: input 1 of 2 (f32[2]) ${donated}`);
    expect(() => np.add(1, p)).toThrow(`add: input 2 of 2 (f32[2]) ${donated}`);
    expect(() => p.tolist()).toThrow(`tolist(): this Array (f32[2]) ${donated}`);
    expect(() => p.item()).toThrow(`item(): this Array (f32[2]) ${donated}`);
  });

  it("`using` disposes at the end of the scope", () => {
    const before = live();
    let escaped: TfArray;
    {
      using y = TfArray.fromTyped(new Float32Array(1024), [1024], "float32", { backend: "wasm" });
      escaped = y;
      expect(live()).toBe(before + 4096);
    }
    expect(escaped.isDisposed).toBe(true);
    expect(live()).toBe(before);
  });
});
