// Unit tests of the wasm lowering of the indexing and structural primitives
// (src/backends/plan/indexing.ts, codegen/window.ts,
// parallel_window.ts): gather (take, takeAlongAxis, fill mode), scatter and
// scatter_add (segmentSum, x.at[i].set/add, duplicate indices), dynamic_slice
// and dynamic_update_slice with traced out-of-range starts, pad with negative
// and interior padding, concatenate, select_n with three cases, iota,
// oneHot and bitcast_convert_type become wasm kernels — read through `jit(f).lower(...).text()`, no
// step runs on the host — and equal the interpreter; operands that are views
// are read in place; big steps split over threads give bitwise the same
// results; and a step that does fall back is labelled HOST FALLBACK.

import { afterAll, describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, defaultBackendName, grad, jit, lax, nn, np, setDefaultBackend, type DType, type Tracer } from "../src/index";
import { allocTyped } from "../src/core/dtype";
import { wasmBackend } from "../src/backends/wasm";
import { getThreadPool, setAdaptiveSplit, setThreadCount } from "../src/backends/wasm/threads";
import { expectAllclose } from "../src/testing";
import { programSteps } from "./wasm_lowering_checks";

let seed = 11;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

/** A random wasm array: floats in [-2, 2), ints in [lo, hi], bools. */
function rand(shape: number[], dtype: DType = "float32", lo = -5, hi = 5): TfArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") data[i] = rnd() < 0.5 ? 1 : 0;
    else if (dtype === "float32") data[i] = Math.fround(rnd() * 4 - 2);
    else data[i] = lo + Math.floor(rnd() * (hi - lo + 1));
  }
  return TfArray.fromTyped(data, shape, dtype, { backend: "wasm" });
}


const onHost = (ss: string[]) => ss.filter((s) => s.includes("HOST FALLBACK") || s.includes("on the host"));

/** jit(f) on wasm and f run eagerly on wasm both equal f on the interpreter (floats within `tol`). */
function expectMatchesInterpreter(f: (...xs: any[]) => unknown, args: TfArray[], tol = 1e-6): TfArray[] {
  const list = (x: unknown): TfArray[] => (Array.isArray(x) ? (x as TfArray[]) : [x as TfArray]);
  const prev = defaultBackendName();
  setDefaultBackend("interpreter");
  let want: TfArray[];
  try {
    want = list(f(...args.map((a) => a.to("interpreter"))));
  } finally {
    setDefaultBackend(prev);
  }
  const jitted = list(jit(f)(...args));
  for (const got of [jitted, list(f(...args))]) {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => {
      expect(g.backend.name).toBe("wasm");
      expect(g.dtype).toBe(want[i].dtype);
      expect(g.shape).toEqual(want[i].shape);
      if (g.dtype === "float32") expectAllclose(g, want[i].to("wasm"), { atol: tol, rtol: tol });
      else expect(Array.from(g.dataSync())).toEqual(Array.from(want[i].dataSync()));
    });
  }
  return jitted;
}

describe("indexing primitives lower to wasm kernels", () => {
  it("take of rows from a table is one gather kernel, and its gradient one scatter_add kernel", () => {
    const table = rand([50, 12]);
    const ids = rand([30], "int32", -3, 55); // out-of-range ids clamp
    const take = (t: Tracer, i: Tracer) => np.take(t, i, 0);
    const ss = programSteps(take, table, ids);
    expect(onHost(ss)).toEqual([]);
    expect(ss.some((s) => /gather kernel/.test(s))).toBe(true);
    expectMatchesInterpreter(take, [table, ids]);
    const loss = (t: Tracer, i: Tracer) => np.sum(np.multiply(np.take(t, i, 0), np.take(t, i, 0)));
    const g = (t: Tracer, i: Tracer) => grad(loss)(t, i);
    const gs = programSteps(g, table, ids);
    expect(onHost(gs)).toEqual([]);
    expect(gs.some((s) => /scatter_add kernel/.test(s))).toBe(true);
    expectMatchesInterpreter(g, [table, ids], 1e-5);
  });

  it("takeAlongAxis and a gather in fill mode (out-of-bounds slices get the fill value)", () => {
    const x = rand([6, 9]);
    const idx = rand([6, 4], "int32", -2, 10);
    const along = (a: Tracer, i: Tracer) => np.takeAlongAxis(a, i, 1);
    expect(onHost(programSteps(along, x, idx))).toEqual([]);
    expectMatchesInterpreter(along, [x, idx]);
    const dn = { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0], operandBatchingDims: [], startIndicesBatchingDims: [] };
    for (const fillValue of [null, -7]) {
      const fill = (a: Tracer, i: Tracer) => lax.gather(a, i, dn, [1, 9], { mode: "fill", fillValue });
      const rows = rand([5, 1], "int32", -2, 8);
      expect(onHost(programSteps(fill, x, rows))).toEqual([]);
      expectMatchesInterpreter(fill, [x, rows]);
    }
  });

  it("segmentSum with duplicate ids: exact for int32, within rounding for float32, the same on every run", () => {
    const ids = rand([200], "int32", -1, 9); // -1 and 9 are dropped (numSegments 9)
    const seg = (d: Tracer, i: Tracer) => np.segmentSum(d, i, 9);
    const ints = rand([200, 3], "int32", -1000, 1000);
    expect(onHost(programSteps(seg, ints, ids))).toEqual([]);
    expectMatchesInterpreter(seg, [ints, ids]);
    const floats = rand([200, 3]);
    const [a] = expectMatchesInterpreter(seg, [floats, ids], 1e-5);
    const b = jit(seg)(floats, ids) as TfArray;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it("x.at[i].set with duplicate indices keeps the last update; .add accumulates (bool: or)", () => {
    const x = rand([8]);
    const i = TfArray.fromTyped(new Int32Array([3, 1, 3, 3, 7, 1]), [6], "int32", { backend: "wasm" });
    const v = rand([6]);
    const set = (a: Tracer, j: Tracer, u: Tracer) => a.at(j).set(u);
    const add = (a: Tracer, j: Tracer, u: Tracer) => a.at(j).add(u);
    expect(onHost(programSteps(set, x, i, v))).toEqual([]);
    expectMatchesInterpreter(set, [x, i, v]);
    expectMatchesInterpreter(add, [x, i, v], 1e-5);
    expectMatchesInterpreter(set, [rand([8], "uint32", 0, 9), i, rand([6], "uint32", 0, 9)]);
    expectMatchesInterpreter(add, [rand([8], "bool"), i, rand([6], "bool")]);
  });

  it("a scatter whose operand is donated updates it in place and still equals the interpreter", () => {
    const i = TfArray.fromTyped(new Int32Array([2, 0, 2]), [3], "int32", { backend: "wasm" });
    const v = rand([3, 4]);
    const add = (a: Tracer, j: Tracer, u: Tracer) => a.at(j).add(u);
    const x = rand([5, 4]);
    const want = jit(add)(x, i, v) as TfArray;
    const donated = TfArray.fromTyped(x.dataSync().slice(), [5, 4], "float32", { backend: "wasm" });
    const got = jit(add, { donateArgnums: [0] })(donated, i, v) as TfArray;
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
  });

  it("a donated operand of dynamic_update_slice becomes the output: the operand copy is skipped, the update written into its buffer", () => {
    const i = TfArray.fromTyped(new Int32Array([1]), [], "int32", { backend: "wasm" });
    const j = TfArray.fromTyped(new Int32Array([2]), [], "int32", { backend: "wasm" });
    const dus = (a: Tracer, b: Tracer, r: Tracer, c: Tracer) => lax.dynamicUpdateSlice(a, b, [r, c]);
    const u = rand([2, 3]);
    const x = rand([4, 6]);
    const want = jit(dus)(x, u, i, j) as TfArray;
    expect(programSteps(dus, x, u, i, j).some((st) => st.includes("copy (%0)") && st.includes("skipped where the output takes over the donated operand"))).toBe(true);
    const donated = TfArray.fromTyped(x.dataSync().slice(), [4, 6], "float32", { backend: "wasm" });
    const buffer = donated.buffer;
    const got = jit(dus, { donateArgnums: [0] })(donated, u, i, j) as TfArray;
    expect(got.buffer).toBe(buffer);
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    // Not donated, or held by another array: the operand keeps its value and the output is a new buffer.
    const held = TfArray.fromTyped(x.dataSync().slice(), [4, 6], "float32", { backend: "wasm" });
    const alias = jit((a: Tracer) => a)(held) as TfArray;
    const other = jit(dus, { donateArgnums: [0] })(held, u, i, j) as TfArray;
    expect(other.buffer).not.toBe(alias.buffer);
    expect(Array.from(alias.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(other.dataSync())).toEqual(Array.from(want.dataSync()));
  });

  it("dynamic_slice and dynamic_update_slice with traced start indices (clamped into range)", () => {
    const x = rand([7, 10]);
    const u = rand([3, 4]);
    for (const [r, c] of [[2, 5], [-4, 9], [6, -1], [100, 100]]) {
      const s0 = TfArray.fromTyped(new Int32Array([r]), [], "int32", { backend: "wasm" });
      const s1 = TfArray.fromTyped(new Int32Array([c]), [], "int32", { backend: "wasm" });
      const ds = (a: Tracer, i: Tracer, j: Tracer) => lax.dynamicSlice(a, [i, j], [3, 4]);
      const dus = (a: Tracer, b: Tracer, i: Tracer, j: Tracer) => lax.dynamicUpdateSlice(a, b, [i, j]);
      expect(onHost(programSteps(ds, x, s0, s1))).toEqual([]);
      expect(onHost(programSteps(dus, x, u, s0, s1))).toEqual([]);
      expectMatchesInterpreter(ds, [x, s0, s1]);
      expectMatchesInterpreter(dus, [x, u, s0, s1]);
    }
  });

  it("pad with negative and interior padding, of a transposed operand, and a traced padding value", () => {
    const x = rand([5, 6]);
    const v = rand([]);
    const cfgs: [number, number, number][][] = [
      [[1, 2, 0], [0, 3, 1]],
      [[-2, 1, 2], [3, -4, 0]],
      [[-3, -3, 1], [-1, -1, 3]],
      [[0, 0, 0], [-6, 2, 0]], // every element of dim 1 cut: only the padding value is left
    ];
    for (const cfg of cfgs) {
      const f = (a: Tracer, p: Tracer) => lax.pad(lax.transpose(a, [1, 0]), p, cfg);
      const ss = programSteps(f, x, v);
      expect(onHost(ss)).toEqual([]);
      expectMatchesInterpreter(f, [x, v]);
    }
  });

  it("concatenate reads strided operands in place, one kernel per operand, with empty operands", () => {
    const a = rand([4, 3]);
    const b = rand([4, 0]);
    const c = rand([5, 4]);
    const f = (p: Tracer, q: Tracer, r: Tracer) => np.concatenate([p, q, lax.transpose(lax.slice(r, [1, 0], [5, 4]), [1, 0]), np.sin(p)], 1);
    const ss = programSteps(f, a, b, c);
    expect(onHost(ss)).toEqual([]);
    expect(ss.filter((s) => /concatenate kernel/.test(s))).toHaveLength(3);
    expectMatchesInterpreter(f, [a, b, c]);
    expectMatchesInterpreter((p: Tracer, q: Tracer) => np.concatenate([p, q], 0), [rand([2, 3], "bool"), rand([5, 3], "bool")]);
  });

  it("select_n with three cases and a scalar selector fuses into one kernel; out-of-range selectors clamp", () => {
    const which = rand([4, 5], "int32", -1, 3);
    const [a, b, c] = [rand([4, 5]), rand([4, 5]), rand([4, 5])];
    const f = (w: Tracer, x: Tracer, y: Tracer, z: Tracer) => np.add(lax.selectN(w, x, y, z), 1);
    const ss = programSteps(f, which, a, b, c);
    expect(ss).toHaveLength(1);
    expect(ss[0]).toMatch(/fused kernel/);
    expectMatchesInterpreter(f, [which, a, b, c]);
    const scalar = TfArray.fromTyped(new Int32Array([2]), [], "int32", { backend: "wasm" });
    expectMatchesInterpreter((w: Tracer, x: Tracer, y: Tracer, z: Tracer) => lax.selectN(w, x, y, z), [scalar, a, b, c]);
  });

  it("iota and oneHot fuse into the kernel that reads them", () => {
    const labels = rand([7], "int32", -1, 5);
    const f = (l: Tracer) => nn.oneHot(l, 5);
    const ss = programSteps(f, labels);
    expect(ss).toHaveLength(1);
    expect(ss[0]).toMatch(/fused kernel over \[7,5\]/);
    expectMatchesInterpreter(f, [labels]);
    const io = (x: Tracer) => np.add(x, lax.iota("float32", 6));
    expect(programSteps(io, rand([6]))).toHaveLength(1);
    expectMatchesInterpreter(io, [rand([6])]);
  });

  it("bitcast_convert_type reads its operand's buffer as the new dtype, fused with its neighbours", () => {
    const x = rand([5, 7]);
    // The float's bits as int32 and uint32, and back, in one program.
    const f = (a: Tracer) => {
      const y = np.multiply(a, 3);
      const bits = lax.bitcastConvertType(y, "int32");
      return [lax.shiftRightLogical(bits, lax.full([5, 7], 23, "int32")), lax.bitcastConvertType(bits, "uint32"), np.add(lax.bitcastConvertType(bits, "float32"), y)];
    };
    expect(onHost(programSteps(f, x))).toEqual([]);
    expectMatchesInterpreter(f, [x]);
  });

  it("size-0 operands and indices", () => {
    const table = rand([4, 3]);
    const none = rand([0], "int32", 0, 3);
    expectMatchesInterpreter((t: Tracer, i: Tracer) => np.take(t, i, 0), [table, none]);
    expectMatchesInterpreter((d: Tracer, i: Tracer) => np.segmentSum(d, i, 3), [rand([0, 3]), none]);
    expectMatchesInterpreter((t: Tracer, i: Tracer) => np.take(t, i, 0), [rand([4, 0]), rand([2], "int32", 0, 3)]);
  });
});

describe("threaded window kernels", () => {
  afterAll(() => {
    setAdaptiveSplit(undefined);
    setThreadCount(undefined, wasmBackend().mem.kernels);
  });

  it("a large gather and a large scatter_add with duplicate ids agree bitwise with 1 and 2 threads", () => {
    const kernels = wasmBackend().mem.kernels;
    const table = rand([3000, 256]);
    const ids = rand([2500], "int32", 0, 2999);
    const segIds = rand([2500], "int32", 0, 40);
    const take = jit((t: Tracer, i: Tracer) => np.take(t, i, 0));
    const seg = jit((d: Tracer, i: Tracer) => np.segmentSum(d, i, 41));
    const rows = take(table, ids) as TfArray;
    const results: Float32Array[][] = [];
    // These copies are short jobs (pool.ts): splitting is what is checked here, so it is not left to a choice.
    setAdaptiveSplit(false);
    for (const t of [1, 2]) {
      setThreadCount(t, kernels);
      const pool = getThreadPool(kernels);
      const before = pool.splitJobs;
      results.push([take(table, ids), seg(rows, segIds)].map((r) => (r as TfArray).dataSync() as Float32Array));
      if (t === 2 && pool.activeThreads === 2) expect(pool.splitJobs - before).toBe(2);
    }
    for (let k = 0; k < 2; k++) expect(Array.from(results[1][k])).toEqual(Array.from(results[0][k]));
  }, 60_000);
});

describe("host steps are labelled", () => {
  it("a primitive without a wasm kernel shows as HOST FALLBACK naming it and why", () => {
    // A float16 matrix decomposition has no wasm kernel (README's "Host steps on wasm").
    const solveHalf = (a: Tracer) => lax.linalg.triangularSolve(a, np.ones([3, 2], { dtype: "float16" }), { leftSide: true, lower: true });
    const ss = programSteps(solveHalf, np.eye(3, null, 0, "float16") as TfArray);
    const host = onHost(ss);
    expect(host.length).toBeGreaterThan(0);
    for (const s of host) expect(s).toMatch(/HOST FALLBACK \w+ on the host \(no wasm kernel for [\w, ]+\)/);
  });
});
