// numpy indexing over lax: `x.slice(...)` (basic slicing, newaxis, "...",
// integer-array advanced indexing with numpy's broadcasting and placement
// rules, concrete boolean masks), the functional updates `x.at(...).set/add/
// multiply/min/max/get()`, and take, takeAlongAxis, segmentSum.
//
// Lowering: basic indices become one rev + one slice + one reshape; advanced
// indices become one gather (out-of-bounds indices clamp, as JAX's retrieval).
// Updates with only static ints and step-1 slices use dynamic_update_slice;
// any other index is lowered through the flat positions of the selected
// elements (an iota indexed the same way) to scatter / scatter_add, where
// out-of-bounds updates are dropped, as JAX does. multiply/min/max gather the
// current values, combine and scatter them back: with duplicate indices only
// one of the duplicates takes effect (unlike add, which accumulates).

import { Array } from "../core/array";
import { checkedTypedFrom, isInt, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, TracerError, fmtShape } from "../core/errors";
import type { AtUpdater, IndexSpec } from "../core/methods";
import { broadcastShapes, normalizeAxis, range } from "../core/shape";
import { bind1, isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { maximum, minimum, multiply } from "./elementwise";
import { asTracer, broadcastTo, checkArg } from "./promote";
import { checkOptions, describeValue, opt, type OptionRules } from "../core/options";

type Entry =
  | { kind: "int"; i: number }
  | { kind: "slice"; start: number; len: number; step: number }
  | { kind: "adv"; idx: Tracer };

interface Plan {
  /** The operand with new axes inserted. */
  x: Tracer;
  /** One entry per dim of x. */
  entries: Entry[];
}

function isSliceSpec(s: IndexSpec): s is readonly [number | null, (number | null)?, (number | null)?] {
  return globalThis.Array.isArray(s);
}

function describeSpec(spec: readonly IndexSpec[]): string {
  return `[${spec.map((s) => (isTracer(s) ? s.aval.str() : s === null ? "null" : isSliceSpec(s) ? `[${s.map((v) => (v === null || v === undefined ? "null" : v)).join(", ")}]` : JSON.stringify(s))).join(", ")}]`;
}

/** Python's slice.indices: [start, length, step] of a slice over a dim of size n. */
function sliceIndices(where: string, s: readonly (number | null | undefined)[], n: number): { start: number; len: number; step: number } {
  const step = s[2] ?? 1;
  for (const v of s) {
    if (v !== null && v !== undefined && !Number.isInteger(v)) throw new ArgumentError(`${where}: slice bounds must be integers or null, got [${s.join(", ")}]`);
  }
  if (step === 0) throw new ArgumentError(`${where}: slice step cannot be zero`);
  let start: number;
  let stop: number;
  if (step > 0) {
    start = s[0] ?? 0;
    stop = s[1] ?? n;
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    start = Math.min(Math.max(start, 0), n);
    stop = Math.min(Math.max(stop, 0), n);
    return { start, len: Math.max(0, Math.ceil((stop - start) / step)), step };
  }
  start = s[0] ?? n - 1;
  stop = s[1] ?? -n - 1;
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  start = Math.min(Math.max(start, -1), n - 1);
  stop = Math.min(Math.max(stop, -1), n - 1);
  return { start, len: Math.max(0, Math.ceil((start - stop) / -step)), step };
}

function hostNonzero(mask: Tracer, where: string): Tracer[] {
  if (!(mask instanceof Array)) {
    throw new TracerError(
      `${where}: boolean mask indexing needs a concrete mask (its result shape depends on the data), got an abstract ${mask.aval.str()}; use np.where(mask, x, other) instead`,
    );
  }
  const data = mask.dataSync();
  const shape = mask.shape;
  const coords: number[][] = shape.map(() => []);
  for (let k = 0; k < data.length; k++) {
    if (!data[k]) continue;
    let rem = k;
    for (let d = shape.length - 1; d >= 0; d--) {
      coords[d].push(rem % shape[d]);
      rem = Math.floor(rem / shape[d]);
    }
  }
  return coords.map((c) => Array.fromTyped(Int32Array.from(c), [c.length], "int32"));
}

function plan(where: string, x0: Tracer, spec: readonly IndexSpec[]): Plan {
  // Expand boolean masks into integer index arrays, count the dims consumed.
  const items: (IndexSpec | { adv: Tracer })[] = [];
  let ellipses = 0;
  let consumed = 0;
  for (const s of spec) {
    if (s === "...") {
      ellipses++;
      items.push(s);
    } else if (s === null) {
      items.push(s);
    } else if (s === ":" || typeof s === "number" || isSliceSpec(s)) {
      if (typeof s === "number" && !Number.isInteger(s)) throw new ArgumentError(`${where}: indices must be integers, got ${s} in ${describeSpec(spec)}`);
      consumed++;
      items.push(s);
    } else if (isTracer(s)) {
      if (s.dtype === "bool") {
        for (const a of hostNonzero(s, where)) items.push({ adv: a });
        consumed += Math.max(s.ndim, 1);
        if (s.ndim === 0) throw new ArgumentError(`${where}: a scalar boolean index is not supported (${describeSpec(spec)})`);
      } else if (isInt(s.dtype)) {
        consumed++;
        items.push({ adv: s });
      } else {
        throw new DTypeError(
          `${where}: index arrays must be integers or booleans, got ${s.aval.str()} in ${describeSpec(spec)}; JS numbers make float32 arrays, so build indices with { dtype: "int32" } or pass a JS list`,
        );
      }
    } else {
      throw new ArgumentError(
        `${where}: unsupported index ${JSON.stringify(s)}; use an integer, [start, stop, step], null (new axis), "...", ":" or an integer array`,
      );
    }
  }
  if (ellipses > 1) throw new ArgumentError(`${where}: an index can only have a single ellipsis ("..."), got ${describeSpec(spec)}`);
  if (consumed > x0.ndim) {
    throw new ArgumentError(`${where}: too many indices for array: array ${x0.aval.str()} is ${x0.ndim}-dimensional, but ${consumed} were indexed (${describeSpec(spec)})`);
  }
  const full: (IndexSpec | { adv: Tracer })[] = [];
  for (const it of items) {
    if (it === "...") for (let k = 0; k < x0.ndim - consumed; k++) full.push(":");
    else full.push(it);
  }
  if (ellipses === 0) for (let k = consumed; k < x0.ndim; k++) full.push(":");
  // Insert new axes.
  const newShape: number[] = [];
  let src = 0;
  for (const it of full) newShape.push(it === null ? 1 : x0.shape[src++]);
  const x = newShape.length === x0.ndim ? x0 : bind1("reshape", [x0], { newSizes: newShape });
  const entries: Entry[] = full.map((it, d) => {
    const n = newShape[d];
    if (it === null || it === ":") return { kind: "slice", start: 0, len: n, step: 1 };
    if (typeof it === "number") {
      if (it < -n || it >= n) throw new ArgumentError(`${where}: index ${it} is out of bounds for axis ${d} with size ${n} (array ${x0.aval.str()})`);
      return { kind: "int", i: it < 0 ? it + n : it };
    }
    if (isSliceSpec(it as IndexSpec)) return { kind: "slice", ...sliceIndices(where, it as readonly number[], n) };
    return { kind: "adv", idx: (it as { adv: Tracer }).adv };
  });
  return { x, entries };
}

/** Apply the slices (and, with `intsAsSlices`, ints as length-1 slices) with one rev and one slice. */
function applySlices(x: Tracer, entries: Entry[]): Tracer {
  const revDims = entries.flatMap((e, d) => (e.kind === "slice" && e.step < 0 && e.len > 0 ? [d] : []));
  let y = revDims.length ? bind1("rev", [x], { dimensions: revDims }) : x;
  const starts: number[] = [];
  const limits: number[] = [];
  const strides: number[] = [];
  entries.forEach((e, d) => {
    const n = x.shape[d];
    if (e.kind === "slice") {
      const st = Math.abs(e.step);
      const s0 = e.len === 0 ? 0 : e.step < 0 ? n - 1 - e.start : e.start;
      starts.push(s0);
      limits.push(e.len === 0 ? 0 : s0 + (e.len - 1) * st + 1);
      strides.push(e.len <= 1 ? 1 : st);
    } else if (e.kind === "int") {
      starts.push(e.i);
      limits.push(e.i + 1);
      strides.push(1);
    } else {
      starts.push(0);
      limits.push(n);
      strides.push(1);
    }
  });
  const identity = starts.every((s) => s === 0) && limits.every((l, d) => l === y.shape[d]) && strides.every((s) => s === 1);
  if (!identity) {
    y = bind1("slice", [y], { startIndices: starts, limitIndices: limits, strides: strides.every((s) => s === 1) ? null : strides });
  }
  return y;
}

function toInt32Index(idx: Tracer, n: number): Tracer {
  let t = idx;
  if (t.dtype !== "int32") t = bind1("convert_element_type", [t], { newDtype: "int32", weakType: false });
  if (idx.dtype === "uint32") return t;
  // Negative indices count from the end, as numpy.
  const zero = scalarB(t, 0);
  const neg = bind1("lt", [t, zero], {});
  return bind1("select_n", [neg, t, bind1("add", [t, scalarB(t, n)], {})], {});
}

function scalarB(like: Tracer, v: number, dtype: DType = like.dtype): Tracer {
  const s = Array.scalar(v, dtype, false);
  return like.ndim === 0 ? s : bind1("broadcast_in_dim", [s], { shape: [...like.shape], broadcastDimensions: [] });
}

/** The numpy indexing result x[spec]. */
export function index(x: ArrayLike, spec: readonly IndexSpec[]): Tracer {
  return indexImpl(x, spec, "clip");
}

/** mode "clip" clamps out-of-bounds advanced indices; "fill" gives INT_MIN / NaN there (used by at() to drop them). */
function indexImpl(x: ArrayLike, spec: readonly IndexSpec[], mode: "clip" | "fill"): Tracer {
  const where = "index";
  const t = asTracer(where, x);
  if (!globalThis.Array.isArray(spec)) {
    throw new ArgumentError(`${where}: the index must be a list of entries (integers, slices, null, integer or boolean arrays), got ${describeValue(spec)}; e.g. np.index(x, [0, [1, 3]])`);
  }
  const p = plan(where, t, spec);
  const hasAdv = p.entries.some((e) => e.kind === "adv");
  if (!hasAdv) {
    const y = applySlices(p.x, p.entries);
    const outShape = p.entries.flatMap((e, d) => (e.kind === "int" ? [] : [y.shape[d]]));
    return outShape.length === y.ndim ? y : bind1("reshape", [y], { newSizes: outShape });
  }
  // With an advanced index, numpy treats the ints as (scalar) advanced indices too.
  const entries: Entry[] = p.entries.map((e) => (e.kind === "int" ? { kind: "adv", idx: Array.scalar(e.i, "int32", false) } : e));
  const y = applySlices(p.x, entries);
  const A = entries.flatMap((e, d) => (e.kind === "adv" ? [d] : []));
  const idxs = A.map((d) => toInt32Index((entries[d] as { idx: Tracer }).idx, y.shape[d]));
  const B = broadcastShapes(where, ...idxs.map((i) => i.shape));
  const cols = idxs.map((i) => {
    const b = broadcastTo(i, B);
    return bind1("reshape", [b], { newSizes: [...B, 1] });
  });
  const indices = cols.length === 1 ? cols[0] : bind1("concatenate", cols, { dimension: B.length });
  const rest = [...y.shape.keys()].filter((d) => !A.includes(d));
  const nb = B.length;
  const g = bind1("gather", [y, indices], {
    dimensionNumbers: {
      offsetDims: rest.map((_, j) => nb + j),
      collapsedSliceDims: A,
      startIndexMap: A,
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
    },
    sliceSizes: y.shape.map((n, d) => (A.includes(d) ? 1 : n)),
    mode,
    fillValue: null,
  });
  const contiguous = A[A.length - 1] - A[0] === A.length - 1;
  if (!contiguous || A[0] === 0 || nb === 0) return g;
  const before = A[0]; // rest dims that precede the advanced block
  const perm = [...range(nb, nb + before), ...range(0, nb), ...range(nb + before, g.ndim)];
  return bind1("transpose", [g], { permutation: perm });
}

// --- functional updates -----------------------------------------------------

type Combine = "set" | "add" | "multiply" | "min" | "max";

function castTo(v: ArrayLike, dtype: DType, where: string): Tracer {
  checkArg(where, v, "update value");
  if (!isTracer(v)) return Array.scalar(v, dtype, false);
  if (v.dtype === dtype) return v;
  return bind1("convert_element_type", [v], { newDtype: dtype, weakType: false });
}

function broadcastValue(where: string, v: Tracer, shape: readonly number[], x: Tracer, spec: readonly IndexSpec[]): Tracer {
  const ok = v.ndim <= shape.length && v.shape.every((d, i) => d === 1 || d === shape[shape.length - v.ndim + i]);
  if (!ok) {
    throw new ShapeError(`${where}: update value ${v.aval.str()} cannot be broadcast to the indexed shape ${fmtShape(shape)} of ${x.aval.str()}${describeSpec(spec)}`);
  }
  return broadcastTo(v, shape);
}

function combine(op: Combine, cur: Tracer, v: Tracer): Tracer {
  switch (op) {
    case "set":
      return v;
    case "add":
      return bind1(cur.dtype === "bool" ? "or" : "add", [cur, v], {});
    case "multiply":
      return multiply(cur, v);
    case "min":
      return minimum(cur, v);
    case "max":
      return maximum(cur, v);
  }
}

function update(x: Tracer, spec: readonly IndexSpec[], value: ArrayLike, op: Combine): Tracer {
  const where = `at(...).${op}`;
  const p = plan(where, x, spec);
  const v = castTo(value, x.dtype, where);
  const resultShape = index(x, spec).shape; // static shape only (the ops are dead code if unused under jit)
  const vb = broadcastValue(where, v, resultShape, x, spec);
  const simple = p.entries.every((e) => e.kind === "int" || (e.kind === "slice" && (e.step === 1 || e.len <= 1)));
  if (simple) {
    // A box of x: dynamic_update_slice (static starts).
    const starts: number[] = [];
    const sizes: number[] = [];
    p.entries.forEach((e) => {
      if (e.kind === "int") {
        starts.push(e.i);
        sizes.push(1);
      } else if (e.kind === "slice") {
        starts.push(e.len === 0 ? 0 : e.start);
        sizes.push(e.len);
      }
    });
    if (sizes.some((s) => s === 0)) return x;
    const box = bind1("reshape", [vb], { newSizes: sizes });
    // Work in the new-axes view of x, then reshape back.
    const xv = p.x;
    let newBox = box;
    if (op !== "set") {
      const cur = bind1("slice", [xv], { startIndices: starts, limitIndices: starts.map((s, i) => s + sizes[i]), strides: null });
      newBox = combine(op, cur, box);
    }
    const startArrays = starts.map((s) => Array.scalar(s, "int32", false));
    const r = bind1("dynamic_update_slice", [xv, newBox, ...startArrays], {});
    return r.ndim === x.ndim ? r : bind1("reshape", [r], { newSizes: [...x.shape] });
  }
  // General case: scatter into the flattened array at the selected flat positions.
  const sel = indexImpl(flatIota(x), spec, "fill");
  const m = sel.size;
  if (m === 0) return x;
  const flatX = bind1("reshape", [x], { newSizes: [x.size] });
  const selCol = bind1("reshape", [sel], { newSizes: [m, 1] });
  let upd = bind1("reshape", [vb], { newSizes: [m] });
  const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0], operandBatchingDims: [], scatterIndicesBatchingDims: [] };
  let r: Tracer;
  if (op === "add" && x.dtype !== "bool") {
    r = bind1("scatter_add", [flatX, selCol, upd], { dimensionNumbers: dn, mode: "fill" });
  } else {
    if (op !== "set") {
      const cur = bind1("reshape", [index(x, spec)], { newSizes: [m] });
      upd = combine(op, cur, upd);
    }
    r = bind1("scatter", [flatX, selCol, upd], { dimensionNumbers: dn, mode: "fill" });
  }
  return bind1("reshape", [r], { newSizes: [...x.shape] });
}

/** int32 array of x's shape holding each element's row-major flat position. */
function flatIota(x: Tracer): Tracer {
  const flat = bind1("iota", [], { dtype: "int32", shape: [x.size], dimension: 0 });
  return bind1("reshape", [flat], { newSizes: [...x.shape] });
}

/** JAX's `x.at[idx]`: functional, out-of-place updates. */
export function at(x: Tracer, spec: readonly IndexSpec[]): AtUpdater {
  const t = asTracer("at", x);
  return {
    set: (v) => update(t, spec, v, "set"),
    add: (v) => update(t, spec, v, "add"),
    multiply: (v) => update(t, spec, v, "multiply"),
    min: (v) => update(t, spec, v, "min"),
    max: (v) => update(t, spec, v, "max"),
    get: () => index(t, spec),
  };
}

// --- take & co ----------------------------------------------------------------

export interface TakeOptions {
  /** "fill" (default, as JAX): out-of-range indices give fillValue (NaN for floats); "clip": clamp. */
  mode?: "fill" | "clip";
  fillValue?: number | null;
}

/** Index operands: JS lists and numbers are indices, so they become int32 (checked); arrays must be integer arrays. */
function indexArg(where: string, indices: ArrayLike | readonly number[]): Tracer {
  if (globalThis.Array.isArray(indices)) return Array.fromTyped(checkedTypedFrom(`${where} (indices)`, "int32", indices as number[]), [indices.length], "int32");
  if (typeof indices === "number") return Array.fromTyped(checkedTypedFrom(`${where} (indices)`, "int32", [indices]), [], "int32");
  const t = asTracer(where, indices as ArrayLike);
  if (!isInt(t.dtype)) throw new DTypeError(`${where}: indices must be integers, got ${t.aval.str()}; build them with { dtype: "int32" } (JS numbers make float32 arrays)`);
  return t;
}

/** take(x, indices, axis): x.shape[:axis] + indices.shape + x.shape[axis+1:]. axis undefined flattens x. */
const takeRules: OptionRules<TakeOptions> = { mode: opt.oneOf("fill", "clip"), fillValue: opt.nullable(opt.number) };

export function take(x: ArrayLike, indices: ArrayLike | readonly number[], axis?: number | null, opts: TakeOptions = {}): Tracer {
  checkOptions("np.take", opts, takeRules);
  let t = asTracer("take", x);
  const idx0 = indexArg("take", indices);
  if (axis === undefined || axis === null) {
    t = bind1("reshape", [t], { newSizes: [t.size] });
    axis = 0;
  }
  const ax = normalizeAxis(axis, t.ndim, "take");
  const n = t.shape[ax];
  const idx = toInt32Index(idx0, n);
  const I = idx.shape;
  const indicesCol = bind1("reshape", [idx], { newSizes: [...I, 1] });
  const rest = [...t.shape.keys()].filter((d) => d !== ax);
  const offsetDims = rest.map((d) => (d < ax ? d : d - 1 + I.length));
  return bind1("gather", [t, indicesCol], {
    dimensionNumbers: { offsetDims, collapsedSliceDims: [ax], startIndexMap: [ax], operandBatchingDims: [], startIndicesBatchingDims: [] },
    sliceSizes: t.shape.map((s, d) => (d === ax ? 1 : s)),
    mode: opts.mode ?? "fill",
    fillValue: opts.fillValue ?? null,
  });
}

/** takeAlongAxis(x, indices, axis): out[..., i, ...] = x[..., indices[..., i, ...], ...]; other dims broadcast. */
export function takeAlongAxis(x: ArrayLike, indices: ArrayLike, axis: number | null, opts: TakeOptions = {}): Tracer {
  checkOptions("np.takeAlongAxis", opts, takeRules);
  let t = asTracer("takeAlongAxis", x);
  let idx = indexArg("takeAlongAxis", indices);
  if (axis === null) {
    t = bind1("reshape", [t], { newSizes: [t.size] });
    idx = bind1("reshape", [idx], { newSizes: [idx.size] });
    axis = 0;
  }
  if (idx.ndim !== t.ndim) {
    throw new ShapeError(`takeAlongAxis: indices ${idx.aval.str()} must have the same number of dimensions as x ${t.aval.str()}`);
  }
  const ax = normalizeAxis(axis, t.ndim, "takeAlongAxis");
  const otherShapes = [t.shape.map((d, i) => (i === ax ? 1 : d)), idx.shape.map((d, i) => (i === ax ? 1 : d))];
  const bshape = broadcastShapes("takeAlongAxis", ...otherShapes);
  bshape[ax] = idx.shape[ax];
  const cols: Tracer[] = [];
  for (let d = 0; d < t.ndim; d++) {
    let c: Tracer;
    if (d === ax) c = broadcastTo(toInt32Index(idx, t.shape[ax]), bshape);
    else if (t.shape[d] === 1) c = scalarB(bind1("iota", [], { dtype: "int32", shape: bshape, dimension: d }), 0, "int32");
    else c = bind1("iota", [], { dtype: "int32", shape: bshape, dimension: d });
    cols.push(bind1("reshape", [c], { newSizes: [...bshape, 1] }));
  }
  const all = [...t.shape.keys()];
  const indicesArr = cols.length === 1 ? cols[0] : bind1("concatenate", cols, { dimension: bshape.length });
  return bind1("gather", [t, indicesArr], {
    dimensionNumbers: { offsetDims: [], collapsedSliceDims: all, startIndexMap: all, operandBatchingDims: [], startIndicesBatchingDims: [] },
    sliceSizes: t.shape.map(() => 1),
    mode: opts.mode ?? "fill",
    fillValue: opts.fillValue ?? null,
  });
}

/**
 * segmentSum(data, segmentIds, numSegments): out[s] = sum of data[i] with
 * segmentIds[i] == s (scatter_add). Ids outside [0, numSegments) are dropped.
 * numSegments may be omitted only for concrete segmentIds (max id + 1).
 */
export function segmentSum(data: ArrayLike, segmentIds: ArrayLike | readonly number[], numSegments?: number): Tracer {
  const d = asTracer("segmentSum", data);
  const ids = indexArg("segmentSum", segmentIds);
  if (ids.ndim !== 1 || d.ndim < 1 || ids.shape[0] !== d.shape[0]) {
    throw new ShapeError(`segmentSum: segmentIds must be 1-D with one id per row of data, got data ${d.aval.str()} and segmentIds ${ids.aval.str()}`);
  }
  let n = numSegments;
  if (n === undefined) {
    if (!(ids instanceof Array)) throw new TracerError("segmentSum: numSegments must be given when segmentIds is traced (the output shape depends on it)");
    n = ids.size === 0 ? 0 : Math.max(...ids.dataSync()) + 1;
  }
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`segmentSum: numSegments must be a non-negative integer, got ${n}`);
  const outShape = [n, ...d.shape.slice(1)];
  const zeros = bind1("broadcast_in_dim", [Array.scalar(0, d.dtype, false)], { shape: outShape, broadcastDimensions: [] });
  const idsI = ids.dtype === "int32" ? ids : bind1("convert_element_type", [ids], { newDtype: "int32", weakType: false });
  const col = bind1("reshape", [idsI], { newSizes: [ids.shape[0], 1] });
  return bind1("scatter_add", [zeros, col, d], {
    dimensionNumbers: {
      updateWindowDims: range(1, d.ndim),
      insertedWindowDims: [0],
      scatterDimsToOperandDims: [0],
      operandBatchingDims: [],
      scatterIndicesBatchingDims: [],
    },
    mode: "fill",
  });
}
