// Tests of the indexing primitives (gather, scatter, scatter_add): shape rules
// and interpreter rules against hand-computed values, including batching dims,
// clip vs fill out-of-bounds handling and duplicate scatter indices.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../src/core/aval";
import type { DType } from "../src/core/dtype";
import { AxisError, DTypeError, ShapeError } from "../src/core/errors";
import type { GatherDimensionNumbers, ParamsOf, ScatterDimensionNumbers } from "../src/core/primitives";
import { indexingShapeRules } from "../src/core/shape_rules/indexing";
import type { HostArray } from "../src/backends/interpreter/host_array";
import { indexingInterpRules } from "../src/backends/interpreter/rules/indexing";
import { expectErr, hostArray, runRule } from "./interp_rules";

type Prim = "gather" | "scatter" | "scatter_add";

const ha = (shape: number[], values: number[], dtype: DType = "float32"): HostArray => hostArray(dtype, shape, values);

const run = <P extends Prim>(prim: P, inputs: HostArray[], params: ParamsOf<P>): HostArray =>
  runRule(indexingShapeRules[prim], indexingInterpRules[prim], inputs, params)[0];
const list = (x: HostArray) => Array.from(x.data);

function gdn(p: Partial<GatherDimensionNumbers>): GatherDimensionNumbers {
  return { offsetDims: [], collapsedSliceDims: [], startIndexMap: [], operandBatchingDims: [], startIndicesBatchingDims: [], ...p };
}
function sdn(p: Partial<ScatterDimensionNumbers>): ScatterDimensionNumbers {
  return { updateWindowDims: [], insertedWindowDims: [], scatterDimsToOperandDims: [], operandBatchingDims: [], scatterIndicesBatchingDims: [], ...p };
}
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("gather", () => {
  const x53 = ha([5, 3], iota(15)); // x[i, j] = 3i + j

  it("x[idx]: take along axis 0", () => {
    const idx = ha([4, 1], [0, 2, 4, 1], "int32");
    const out = run("gather", [x53, idx], {
      dimensionNumbers: gdn({ offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }),
      sliceSizes: [1, 3], mode: "clip", fillValue: null,
    });
    expect(out.shape).toEqual([4, 3]);
    expect(list(out)).toEqual([0, 1, 2, 6, 7, 8, 12, 13, 14, 3, 4, 5]);
  });

  it("x[:, idx] with a 2-d index array puts the batch dims where offsetDims leave room", () => {
    // out[i, a, b] = x[i, idx[a, b]]
    const idx = ha([2, 2, 1], [2, 0, 1, 1], "int32");
    const out = run("gather", [x53, idx], {
      dimensionNumbers: gdn({ offsetDims: [0], collapsedSliceDims: [1], startIndexMap: [1] }),
      sliceSizes: [5, 1], mode: "clip", fillValue: null,
    });
    expect(out.shape).toEqual([5, 2, 2]);
    const expected: number[] = [];
    for (let i = 0; i < 5; i++) for (const j of [2, 0, 1, 1]) expected.push(3 * i + j);
    expect(list(out)).toEqual(expected);
  });

  it("take_along_axis via batching dims, and via an explicit iota index", () => {
    const x = ha([2, 3], [10, 11, 12, 20, 21, 22]);
    const idx = [2, 0, 1, 1]; // [2,2]
    const viaBatching = run("gather", [x, ha([2, 2, 1], idx, "int32")], {
      dimensionNumbers: gdn({ collapsedSliceDims: [1], startIndexMap: [1], operandBatchingDims: [0], startIndicesBatchingDims: [0] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    });
    expect(viaBatching.shape).toEqual([2, 2]);
    expect(list(viaBatching)).toEqual([12, 10, 21, 21]);
    const full = ha([2, 2, 2], [0, 2, 0, 0, 1, 1, 1, 1], "int32");
    const viaIota = run("gather", [x, full], {
      dimensionNumbers: gdn({ collapsedSliceDims: [0, 1], startIndexMap: [0, 1] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    });
    expect(list(viaIota)).toEqual(list(viaBatching));
  });

  it("multi-dim index vectors, a permuted startIndexMap and windowed slices", () => {
    const pts = ha([3, 2], [0, 0, 4, 2, 1, 2], "int32");
    const points = run("gather", [x53, pts], {
      dimensionNumbers: gdn({ collapsedSliceDims: [0, 1], startIndexMap: [0, 1] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    });
    expect(list(points)).toEqual([0, 14, 5]);
    // index vector is (col, row)
    const swapped = run("gather", [x53, ha([1, 2], [2, 4], "int32")], {
      dimensionNumbers: gdn({ collapsedSliceDims: [0, 1], startIndexMap: [1, 0] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    });
    expect(list(swapped)).toEqual([14]);
    // a dynamic 2x2 window starting at (1, 1): out [1, 2, 2]
    const win = run("gather", [x53, ha([1, 2], [1, 1], "int32")], {
      dimensionNumbers: gdn({ offsetDims: [1, 2], startIndexMap: [0, 1] }),
      sliceSizes: [2, 2], mode: "clip", fillValue: null,
    });
    expect(win.shape).toEqual([1, 2, 2]);
    expect(list(win)).toEqual([4, 5, 7, 8]);
  });

  it("batching dims with windows, leading and non-leading", () => {
    // out[b, j, w] = x[b, idx[b, j] + w]
    const x = ha([2, 5], iota(10));
    const idx = ha([2, 3, 1], [0, 3, 1, 2, 4, 0], "int32");
    const out = run("gather", [x, idx], {
      dimensionNumbers: gdn({ offsetDims: [2], startIndexMap: [1], operandBatchingDims: [0], startIndicesBatchingDims: [0] }),
      sliceSizes: [1, 2], mode: "clip", fillValue: null,
    });
    expect(out.shape).toEqual([2, 3, 2]);
    // 4 is clamped to 3 (slice of 2 must fit in 5)
    expect(list(out)).toEqual([0, 1, 3, 4, 1, 2, 7, 8, 8, 9, 5, 6]);

    // operand batch dim 1 (size 2), indices batch dim 1: out[j, b] = y[idx[j, b], b]
    const y = ha([4, 2], [0, 1, 10, 11, 20, 21, 30, 31]);
    const idx2 = ha([3, 2, 1], [3, 0, 1, 2, 0, 0], "int32");
    const out2 = run("gather", [y, idx2], {
      dimensionNumbers: gdn({ collapsedSliceDims: [0], startIndexMap: [0], operandBatchingDims: [1], startIndicesBatchingDims: [1] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    });
    expect(out2.shape).toEqual([3, 2]);
    expect(list(out2)).toEqual([30, 1, 10, 21, 0, 1]);
  });

  it("clip clamps whole slices into bounds; fill fills slices that are not wholly in bounds", () => {
    const x = ha([5], [1, 2, 3, 4, 5]);
    const idx = ha([4, 1], [-1, 5, 2, 4], "int32");
    const params = (mode: "clip" | "fill", fillValue: number | null = null): ParamsOf<"gather"> => ({
      dimensionNumbers: gdn({ offsetDims: [1], startIndexMap: [0] }), sliceSizes: [2], mode, fillValue,
    });
    expect(list(run("gather", [x, idx], params("clip")))).toEqual([1, 2, 4, 5, 3, 4, 4, 5]);
    expect(list(run("gather", [x, idx], params("fill")))).toEqual([NaN, NaN, NaN, NaN, 3, 4, NaN, NaN]);
    expect(list(run("gather", [x, idx], params("fill", -7)))).toEqual([-7, -7, -7, -7, 3, 4, -7, -7]);
  });

  it("fill defaults follow JAX: int min, uint max, true", () => {
    const p: ParamsOf<"gather"> = {
      dimensionNumbers: gdn({ collapsedSliceDims: [0], startIndexMap: [0] }), sliceSizes: [1], mode: "fill", fillValue: null,
    };
    const idx = ha([2, 1], [1, 3], "int32");
    expect(list(run("gather", [ha([3], [5, 6, 7], "int32"), idx], p))).toEqual([6, -2147483648]);
    expect(list(run("gather", [ha([3], [5, 6, 7], "uint32"), idx], p))).toEqual([6, 4294967295]);
    expect(list(run("gather", [ha([3], [0, 0, 0], "bool"), idx], p))).toEqual([0, 1]);
    // uint32 indices that are huge are out of bounds
    expect(list(run("gather", [ha([3], [5, 6, 7], "int32"), ha([2, 1], [2, 4294967295], "uint32")], p))).toEqual([7, -2147483648]);
  });
});

describe("scatter and scatter_add", () => {
  const pointDn = sdn({ insertedWindowDims: [0], scatterDimsToOperandDims: [0] });

  it("duplicate indices: scatter keeps the last write, scatter_add accumulates", () => {
    const zeros = ha([5], [0, 0, 0, 0, 0]);
    const idx = ha([3, 1], [1, 3, 1], "int32");
    const upd = ha([3], [10, 20, 30]);
    expect(list(run("scatter", [zeros, idx, upd], { dimensionNumbers: pointDn, mode: "fill" }))).toEqual([0, 30, 0, 20, 0]);
    expect(list(run("scatter_add", [zeros, idx, upd], { dimensionNumbers: pointDn, mode: "fill" }))).toEqual([0, 40, 0, 20, 0]);
  });

  it("row updates (x[idx] = rows) onto a non-zero operand", () => {
    const x = ha([3, 2], [1, 1, 1, 1, 1, 1]);
    const idx = ha([2, 1], [2, 0], "int32");
    const rows = ha([2, 2], [5, 6, 7, 8]);
    const dn = sdn({ updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] });
    expect(list(run("scatter", [x, idx, rows], { dimensionNumbers: dn, mode: "clip" }))).toEqual([7, 8, 1, 1, 5, 6]);
    expect(list(run("scatter_add", [x, idx, rows], { dimensionNumbers: dn, mode: "clip" }))).toEqual([8, 9, 1, 1, 6, 7]);
  });

  it("out-of-bounds updates: fill drops the whole window, clip clamps it", () => {
    const x = ha([5], [0, 0, 0, 0, 0]);
    const idx = ha([3, 1], [-1, 4, 1], "int32");
    const upd = ha([3, 2], [1, 2, 3, 4, 5, 6]);
    const dn = sdn({ updateWindowDims: [1], scatterDimsToOperandDims: [0] });
    // window of 2 at 4 is partly out of bounds: dropped entirely
    expect(list(run("scatter_add", [x, idx, upd], { dimensionNumbers: dn, mode: "fill" }))).toEqual([0, 5, 6, 0, 0]);
    // clip: -1 -> 0, 4 -> 3
    expect(list(run("scatter_add", [x, idx, upd], { dimensionNumbers: dn, mode: "clip" }))).toEqual([1, 7, 6, 3, 4]);
    const pts = ha([3, 1], [7, -2, 2], "int32");
    expect(list(run("scatter", [x, pts, ha([3], [1, 2, 3])], { dimensionNumbers: pointDn, mode: "fill" }))).toEqual([0, 0, 3, 0, 0]);
  });

  it("put_along_axis via batching dims", () => {
    // out[b, idx[b, j]] (+)= upd[b, j]
    const x = ha([2, 3], [0, 0, 0, 0, 0, 0]);
    const idx = ha([2, 2, 1], [2, 2, 0, 1], "int32");
    const upd = ha([2, 2], [1, 2, 3, 4]);
    const dn = sdn({ insertedWindowDims: [1], scatterDimsToOperandDims: [1], operandBatchingDims: [0], scatterIndicesBatchingDims: [0] });
    expect(list(run("scatter_add", [x, idx, upd], { dimensionNumbers: dn, mode: "fill" }))).toEqual([0, 0, 3, 3, 4, 0]);
    expect(list(run("scatter", [x, idx, upd], { dimensionNumbers: dn, mode: "fill" }))).toEqual([0, 0, 2, 3, 4, 0]);
  });

  it("integer scatter_add wraps; bool scatter_add is OR", () => {
    const x = ha([2], [2147483647, 5], "int32");
    const idx = ha([2, 1], [0, 1], "int32");
    expect(list(run("scatter_add", [x, idx, ha([2], [1, -6], "int32")], { dimensionNumbers: pointDn, mode: "clip" }))).toEqual([-2147483648, -1]);
    const u = ha([2], [4294967295, 1], "uint32");
    expect(list(run("scatter_add", [u, idx, ha([2], [1, 1], "uint32")], { dimensionNumbers: pointDn, mode: "clip" }))).toEqual([0, 2]);
    const b = ha([3], [0, 1, 0], "bool");
    expect(list(run("scatter_add", [b, ha([2, 1], [0, 0], "int32"), ha([2], [1, 1], "bool")], { dimensionNumbers: pointDn, mode: "clip" }))).toEqual([1, 1, 0]);
  });

  it("scatter_add is the transpose of gather (batching dims and windows)", () => {
    // <gather(x, idx), u> == <x, scatter_add(0, idx, u)>
    const x = ha([2, 6, 3], iota(36).map((i) => Math.sin(i + 1)));
    const idx = ha([3, 2, 1], [0, 4, 2, 1, 3, 5], "int32"); // indices batch dim 1 <-> operand dim 0
    const gp: ParamsOf<"gather"> = {
      dimensionNumbers: gdn({ offsetDims: [2, 3], startIndexMap: [1], operandBatchingDims: [0], startIndicesBatchingDims: [1] }),
      sliceSizes: [1, 2, 3], mode: "clip", fillValue: null,
    };
    const g = run("gather", [x, idx], gp);
    expect(g.shape).toEqual([3, 2, 2, 3]);
    const u = ha(g.shape as number[], iota(g.size).map((i) => Math.cos(i)));
    const sp: ParamsOf<"scatter_add"> = {
      dimensionNumbers: sdn({ updateWindowDims: [2, 3], scatterDimsToOperandDims: [1], operandBatchingDims: [0], scatterIndicesBatchingDims: [1] }),
      mode: "clip",
    };
    const s = run("scatter_add", [ha([2, 6, 3], new Array(36).fill(0)), idx, u], sp);
    const dot = (a: HostArray, b: HostArray) => list(a).reduce((acc, v, i) => acc + v * b.data[i], 0);
    expect(dot(g, u)).toBeCloseTo(dot(x, s), 4);
  });
});

describe("indexing shape rules reject bad inputs", () => {
  const x = new ShapedArray([5, 3], "float32");
  const idx = new ShapedArray([4, 1], "int32");
  const good: ParamsOf<"gather"> = {
    dimensionNumbers: gdn({ offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }), sliceSizes: [1, 3], mode: "clip", fillValue: null,
  };

  it("gather: the good case passes", () => {
    expect(indexingShapeRules.gather([x, idx], good)[0].str()).toBe("f32[4,3]");
  });
  it("gather: float indices", () => {
    expectErr(() => indexingShapeRules.gather([x, new ShapedArray([4, 1], "float32")], good), DTypeError, "gather", "f32[4,1]", "f32[5,3]");
  });
  it("gather: index vector size does not match startIndexMap", () => {
    expectErr(() => indexingShapeRules.gather([x, new ShapedArray([4, 2], "int32")], good), ShapeError, "gather", "i32[4,2]", "startIndexMap");
  });
  it("gather: unsorted offsetDims / out-of-range collapsed dims", () => {
    const p = { ...good, dimensionNumbers: gdn({ offsetDims: [2, 1], startIndexMap: [0] }), sliceSizes: [1, 3] };
    expectErr(() => indexingShapeRules.gather([x, idx], p), AxisError, "gather", "offsetDims", "f32[5,3]");
    const q = { ...good, dimensionNumbers: gdn({ offsetDims: [1], collapsedSliceDims: [2], startIndexMap: [0] }) };
    expectErr(() => indexingShapeRules.gather([x, idx], q), AxisError, "gather", "collapsedSliceDims", "f32[5,3]");
  });
  it("gather: slice too large, collapsing a wide slice, batching sizes differ", () => {
    expectErr(() => indexingShapeRules.gather([x, idx], { ...good, sliceSizes: [1, 4] }), ShapeError, "gather", "sliceSizes", "f32[5,3]");
    expectErr(() => indexingShapeRules.gather([x, idx], { ...good, sliceSizes: [2, 3] }), ShapeError, "gather", "slice size", "f32[5,3]");
    const bp: ParamsOf<"gather"> = {
      dimensionNumbers: gdn({ collapsedSliceDims: [1], startIndexMap: [1], operandBatchingDims: [0], startIndicesBatchingDims: [0] }),
      sliceSizes: [1, 1], mode: "clip", fillValue: null,
    };
    expectErr(() => indexingShapeRules.gather([x, idx], bp), ShapeError, "gather", "batching dim sizes differ", "f32[5,3]", "i32[4,1]");
  });
  it("scatter: dtype mismatch, updates shape mismatch, bad window dims", () => {
    const op = new ShapedArray([5], "float32");
    const ix = new ShapedArray([3, 1], "int32");
    const p: ParamsOf<"scatter"> = { dimensionNumbers: sdn({ insertedWindowDims: [0], scatterDimsToOperandDims: [0] }), mode: "fill" };
    expect(indexingShapeRules.scatter([op, ix, new ShapedArray([3], "float32")], p)[0].str()).toBe("f32[5]");
    expectErr(() => indexingShapeRules.scatter([op, ix, new ShapedArray([3], "int32")], p), DTypeError, "scatter", "f32[5]", "i32[3]");
    expectErr(() => indexingShapeRules.scatter_add([op, ix, new ShapedArray([4], "float32")], p), ShapeError, "scatter_add", "f32[4]", "i32[3,1]");
    const q: ParamsOf<"scatter"> = { dimensionNumbers: sdn({ updateWindowDims: [1], scatterDimsToOperandDims: [0] }), mode: "fill" };
    expectErr(() => indexingShapeRules.scatter([op, ix, new ShapedArray([3, 6], "float32")], q), ShapeError, "scatter", "window dim", "f32[3,6]", "f32[5]");
    const r: ParamsOf<"scatter"> = { dimensionNumbers: sdn({ insertedWindowDims: [0, 0], scatterDimsToOperandDims: [0] }), mode: "fill" };
    expectErr(() => indexingShapeRules.scatter([op, ix, new ShapedArray([3], "float32")], r), AxisError, "scatter", "insertedWindowDims", "f32[5]");
  });
});
