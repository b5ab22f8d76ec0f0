// Taking read results (src/core/residency.ts, "Taking read results"): a
// compiled call's large output, once read and not used since, gives its
// device block to the next operation's output of the same size, and computes
// itself again from its recipe if it is used after all. These tests check
// that a taken array is the same value bit for bit wherever it is used again
// (read, operand, moved, printed; on another thread count), that its recipe's
// inputs stay readable under dispose() and donation, that recomputation is
// bounded, and that the typed errors of bad use are unchanged.

import { afterAll, describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, DisposedArrayError, MemoryLimitError, config, jit, lax, memoryStats, nn, np, setMemoryLimit, type Tracer } from "../src/index";
import { wasmBackend } from "../src/backends/wasm";
import type { WasmBuffer } from "../src/backends/wasm/buffer";
import { getThreadPool, setAdaptiveSplit, setThreadCount } from "../src/backends/wasm/threads";

/** The bits of a float32 result (so that -0 and NaN payloads compare too). */
const bits = (a: Tracer): Uint32Array => bitsOf((a as TfArray).dataSync() as Float32Array);
const bitsOf = (v: Float32Array): Uint32Array => new Uint32Array(v.slice().buffer);
/** The first index where the bits differ, or -1 (a loop: comparing 2^18-element arrays with toEqual takes seconds). */
function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
const expectSameBits = (a: Uint32Array, b: Uint32Array): void => expect(firstDifference(a, b)).toBe(-1);

const N = 1 << 18; // 1 MiB of float32: large enough to be taken
const data = (seed: number, n = N): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 3);
const elementwise = jit((v: Tracer) => np.tanh(v.mul(2).add(1)).mul(v));

const stats = () => memoryStats();
const ptrOf = (a: Tracer): number => ((a as TfArray).residencyStorage().buf as WasmBuffer).ptr;
/** An array already on the device (np.array alone is uploaded by its first use: residency.ts, "Staged uploads"). */
const onDevice = (seed: number): Tracer => np.array(data(seed)).mul(1);

describe("a read result's block is taken by the next output of its size", () => {
  it("is taken, and read again gives the same bits, once recomputed", async () => {
    const x = np.array(data(1));
    const y = elementwise(x);
    const first = bits(y);
    const before = stats();
    const block = ptrOf(y);
    const next = elementwise(np.array(data(2)));
    expect(stats().taken - before.taken).toBe(1);
    // The new output landed in the taken block (the allocator hands the block just freed back first).
    expect(ptrOf(next)).toBe(block);
    expectSameBits(bits(y), first);
    expect(stats().recomputed - before.recomputed).toBe(1);
    expectSameBits(bits(y), first);
    expect(stats().recomputed - before.recomputed).toBe(1);
    expectSameBits(bits(next), bits(elementwise(np.array(data(2)))));
  });

  it("after `await data()` as well, and the taken array works as an operand, moved and printed", async () => {
    const x = np.array(data(3));
    const y = elementwise(x);
    const first = await y.data();
    const before = stats().taken;
    const other = elementwise(np.array(data(4)));
    expect(stats().taken - before).toBe(1);
    // An eager operand (the eager op recomputes it while fetching its operands), and a jitted one.
    const doubled = y.mul(2);
    expectSameBits(bits(doubled), bitsOf(Float32Array.from(first as Float32Array, (v) => v * 2)));
    const otherData = (other as TfArray).dataSync();
    const sum = jit((a: Tracer, b: Tracer) => a.add(b))(y, other);
    expectSameBits(bits(sum), bitsOf(Float32Array.from(first as Float32Array, (v, i) => v + otherData[i]!)));
    expectSameBits(bits((y as TfArray).to("interpreter")), bitsOf(first as Float32Array));
  });

  it("a taken array that is moved or printed is recomputed too", () => {
    const x = np.array(data(5));
    const y = elementwise(x) as TfArray;
    const first = bits(y);
    const before = stats();
    elementwise(np.array(data(6)));
    expect(stats().taken - before.taken).toBe(1);
    expect(String(y)).toBe(String(elementwise(x)));
    expect(stats().recomputed - before.recomputed).toBe(1);
    expectSameBits(bits(y), first);
  });

  it("after jit's clearCache, the recipe runs a program built for it alone, and releases it", () => {
    const f = jit((v: Tracer) => np.sin(v).mul(v));
    const y = f(np.array(data(27)));
    const first = bits(y);
    const before = stats().taken;
    f(np.array(data(28))); // takes y
    expect(stats().taken - before).toBe(1);
    f.clearCache();
    const programBytes = stats().programBytes;
    expectSameBits(bits(y), first);
    expect(stats().programBytes).toBe(programBytes);
  });

  it("an eager operation's output takes a block too", () => {
    const x = np.array(data(7));
    const y = elementwise(x);
    const first = bits(y);
    const before = stats().taken;
    np.exp(np.array(data(8)));
    expect(stats().taken - before).toBe(1);
    expectSameBits(bits(y), first);
  });

  it("debugNans' reads of a result are not the user's: it is not taken for them", () => {
    config.update("debugNans", true);
    try {
      const y = elementwise(np.array(data(25)));
      const before = stats().taken;
      elementwise(np.array(data(26)));
      expect(stats().taken - before).toBe(0);
      expect(bits(y).length).toBe(N);
    } finally {
      config.update("debugNans", false);
    }
  });

  it("a result used since it was read, or an operand of the running operation, is not taken", () => {
    const x = np.array(data(9));
    const y = elementwise(x);
    y.dataSync();
    const before = stats().taken;
    // y is this call's own operand: its block must not become the output.
    const z = elementwise(y);
    expect(stats().taken - before).toBe(0);
    // ...and it was used since its read: the next call does not take it either.
    elementwise(np.array(data(10)));
    // z was read by nobody, and y was used since its read.
    expect(stats().taken - before).toBe(0);
    expectSameBits(bits(z), bits(elementwise(elementwise(x))));
  });
});

describe("recomputed on any thread count, bit for bit", () => {
  const kernels = wasmBackend().mem.kernels;
  afterAll(() => {
    setAdaptiveSplit(undefined);
    setThreadCount(undefined, kernels);
  });

  const s = { n: 32, h: 28, w: 28, cin: 1, cout: 32 };
  const conv = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));
  const convX = np.array(data(11, s.n * s.h * s.w * s.cin)).reshape([s.n, s.h, s.w, s.cin]);
  const convW = np.array(data(12, 9 * s.cin * s.cout)).reshape([3, 3, s.cin, s.cout]);
  const matmul = jit((a: Tracer, b: Tracer) => np.matmul(a, b));
  const A = np.array(data(13, 512 * 256)).reshape([512, 256]);
  const B = np.array(data(14, 256 * 512)).reshape([256, 512]);
  // Programs whose outputs are no smaller than their inputs (so they qualify), with reductions,
  // scans, sorts and layout steps inside: each must give the same bits however it was split.
  const M = np.array(data(20, 512 * 512)).reshape([512, 512]);
  const tall = np.array(data(21, 8192 * 64)).reshape([8192, 64]);
  const captured = np.array(data(22, 64 * 64)).reshape([64, 64]);
  const softmaxRows = jit((x: Tracer) => nn.softmax(x, -1));
  const cumsumRows = jit((x: Tracer) => np.cumsum(x, 0));
  const sortRows = jit((x: Tracer) => np.sort(x, -1));
  const layerNorm = jit((x: Tracer) => x.sub(np.mean(x, -1, { keepdims: true })).div(np.sqrt(np.var(x, -1, { keepdims: true }).add(1e-5))));
  const padConcat = jit((x: Tracer) => np.concatenate([x, np.pad(x, [[0, 0], [1, 1]])], 1));
  const denseCaptured = jit((x: Tracer) => np.matmul(x, captured)); // its weights are a hoisted constant
  const cases: [string, () => Tracer][] = [
    ["the W5 convolution", () => conv(convX, convW)],
    ["an elementwise program", () => elementwise(np.array(data(15)))],
    ["a 512x256 by 256x512 matmul", () => matmul(A, B)],
    ["a row softmax", () => softmaxRows(M)],
    ["a cumulative sum down the rows", () => cumsumRows(M)],
    ["a sort along rows", () => sortRows(M)],
    ["a layer norm of a tall matrix", () => layerNorm(tall)],
    ["a pad and a concatenation", () => padConcat(M)],
    ["a skinny matmul by captured weights", () => denseCaptured(tall)],
  ];

  for (const [label, make] of cases) {
    for (const [made, again] of [
      [2, 1],
      [1, 2],
    ]) {
      it(`${label}: made on ${made} thread(s), recomputed on ${again}`, async () => {
        // Splitting is what is checked: not left to the adaptive choice.
        setAdaptiveSplit(false);
        setThreadCount(made, kernels);
        await getThreadPool(kernels).whenReady();
        const y = make();
        const first = bits(y);
        const before = stats();
        make(); // takes y's block
        expect(stats().taken - before.taken).toBe(1);
        setThreadCount(again, kernels);
        await getThreadPool(kernels).whenReady();
        expectSameBits(bits(y), first);
        expect(stats().recomputed - before.recomputed).toBe(1);
      }, 60_000);
    }
  }
});

describe("a recipe's inputs stay readable", () => {
  it("dispose() of an input waits for the recipe; the input itself is disposed at once", () => {
    const x = onDevice(16);
    const y = elementwise(x);
    const first = bits(y);
    elementwise(np.array(data(17))); // takes y: its recipe reads x
    const resident = stats().residentBytes;
    x.dispose();
    expect(() => x.dataSync()).toThrow(DisposedArrayError);
    expectSameBits(bits(y), first);
    // y holds a buffer again, its recipe is gone with the recompute, and x's buffer with it.
    expect(stats().residentBytes).toBe(resident);
  });

  it("a donated input is not overwritten while a recipe reads it", () => {
    const x = onDevice(18);
    const y = elementwise(x);
    const first = bits(y);
    const xBits = bits(x);
    elementwise(np.array(data(19))); // takes y
    const increment = jit((v: Tracer) => v.add(1), { donateArgnums: [0] });
    const z = increment(x);
    expect(() => x.dataSync()).toThrow(/donated/);
    expectSameBits(bits(y), first);
    expectSameBits(bits(z), bitsOf(new Float32Array(xBits.slice().buffer).map((v) => v + 1)));
  });

  it("a recompute that cannot fit under a lowered memory limit is refused with a MemoryLimitError naming it", () => {
    const y = elementwise(np.array(data(29)));
    bits(y);
    elementwise(np.array(data(30))); // takes y
    const limit = stats().limitBytes;
    setMemoryLimit(4 * N); // under the recipe's input and output together
    try {
      expect(() => y.dataSync()).toThrow(MemoryLimitError);
      expect(() => y.dataSync()).toThrow(/recomputing an output of jit\(.*\): needs 2097152 bytes/);
    } finally {
      setMemoryLimit(limit);
    }
    expect(bits(y).length).toBe(N);
  });

  it("disposing the taken array drops its recipe, and a later use says it was disposed", () => {
    const x = onDevice(20);
    const y = elementwise(x);
    y.dataSync();
    elementwise(np.array(data(21))); // takes y
    x.dispose(); // waits for y's recipe
    const resident = stats().residentBytes;
    y.dispose();
    // The recipe was dropped, and x's buffer released with it.
    expect(stats().residentBytes).toBe(resident - 4 * N);
    expect(() => y.dataSync()).toThrow(DisposedArrayError);
    expect(() => y.mul(2)).toThrow(DisposedArrayError);
  });
});

describe("recomputation is bounded", () => {
  it("two results read alternately are recomputed at most once each", async () => {
    const a = elementwise(np.array(data(22)));
    const b = elementwise(np.array(data(23)));
    const aBits = bits(a);
    const bBits = bits(b);
    const x = np.array(data(24));
    const before = stats();
    for (let i = 0; i < 20; i++) {
      expectSameBits(bits(a), aBits);
      elementwise(x);
      expectSameBits(bits(b), bBits);
      elementwise(x);
    }
    expect(stats().recomputed - before.recomputed).toBeLessThanOrEqual(2);
  });
});
