// Planning of the indexing and structural primitives as kernel-graph steps,
// so none of them runs as a host fallback where the target has window kernels: gather, scatter, scatter_add,
// dynamic_slice, dynamic_update_slice, pad and concatenate become "window"
// steps (codegen/window.ts) reading their operands in place where they are
// already strided views of finished buffers; iota, select_n with other than
// two cases and bitcast_convert_type stay lazy expressions that fuse into the
// elementwise kernels reading them (iota is a broadcast view of a small
// constant 0..n-1; a bitcast reads its operand's buffer as the new dtype).
//
// The lowering (lowering.ts) calls `lowerIndexing` for an equation it has no
// other rule for; it returns false when the equation is not one of these (or
// has a dtype without kernels, or needs window kernels the target lacks), and the equation then falls back to the
// host. The lowering's internals are reached only through IndexingContext, so
// this file does not import lowering.ts.

import { stridesOf } from "../../core/shape";
import { typedEqn, type Atom, type JaxprEqn, type Var } from "../../core/ir";
import { roundToDType, type DType } from "../../core/dtype";
import type { Primitive } from "../../core/primitives";
import { complementDims } from "../../core/shape";
import { gatherFillValue } from "../interpreter/rules/indexing";
import type { KDType, ScalarOp, WindowDim, WindowSpec, WindowStart } from "./kernel_graph";
import type { DynamicViewStep } from "./lowered_program";

/** A strided read of a slot's buffer, in elements. */
export interface BufferView {
  slot: number;
  offset: number;
  strides: readonly number[];
}

/** A pointer into a slot's buffer, `offset` elements in. */
export interface BufferAt {
  slot: number;
  offset: number;
}

/** A window-copy step: `label` names the primitive it computes. */
export interface WindowStep {
  kind: "window";
  label: string;
  spec: WindowSpec;
  src: BufferAt;
  dst: BufferAt;
  indices: BufferAt[];
}

/** What lowerIndexing needs from the lowering; N is its lazy expression node. */
export interface IndexingContext<N> {
  /** Whether the target runs window steps; without them only the lazy rules (iota, select_n, bitcast) apply. */
  windowKernels(): boolean;
  /** A finished buffer holding `a`'s value: its own view when it already is one, else materialized densely. */
  bufferView(a: Atom): BufferView;
  /** The lazy expression of `a` over `shape` (a rank-0 `a` broadcast). */
  nodeOf(a: Atom, shape: readonly number[]): N;
  viewNode(view: BufferView, dtype: KDType): N;
  opNode(op: ScalarOp, args: N[], dtype: KDType): N;
  constNode(value: number, dtype: KDType): N;
  /** A constant slot holding `data`. */
  constSlot(data: number[], dtype: DType): number;
  /** The slot that will hold `v`'s value. */
  slotFor(v: Var): number;
  /** A fresh intermediate slot of `shape` and `dtype`, bound to no variable. */
  tempSlot(shape: readonly number[], dtype: DType): number;
  /** A kernel writing `node` (over `shape`) densely into `slot`; `operandCopy`: it copies an operand about to be updated in place (see Step). */
  emitDense(node: N, shape: readonly number[], dtype: KDType, slot: number, operandCopy?: boolean): void;
  /**
   * The slot of `a`'s buffer when an update may write over it: `a` is a
   * finished intermediate, its buffer holds nothing else, and this is its only
   * use (so nothing reads the old value after); else null.
   */
  overwritable(a: Atom): number | null;
  /** The slot whose whole buffer is `a`'s value, read densely as it is; null for an expression or a strided/offset view. */
  plainBuffer(a: Atom): number | null;
  emitWindow(step: WindowStep): void;
  /** Whether contiguous dynamic slices may be views (PlanTarget.dynamicViews). */
  dynamicViews(): boolean;
  /** `v`'s value is a view into `src`'s buffer at the offset `starts` give at run time (a dynamic_view step). */
  defineDynamicView(v: Var, src: number, starts: DynamicViewStep["starts"]): void;
  /** `v`'s value is the finished buffer of `slot`. */
  defineBuffer(v: Var, slot: number): void;
  /** `v`'s value is the lazy expression `node`. */
  defineLazy(v: Var, node: N): void;
}

// float16 is held widened to float32 (planner.ts): copies and selections of rounded values stay rounded, so
// the window steps move it as float32. A float16 scatter_add accumulates in a float32 buffer and its result is
// that buffer rounded to half once, lazily, by its readers (the interpreter sums in float64 and rounds once too).
const KERNEL_DTYPES = new Set<DType>(["float32", "int32", "uint32", "bool", "float16"]);
/** The dtype a kernel or window step moves a value of dtype `d` as. */
const kd = (d: DType): KDType => (d === "float16" ? "float32" : (d as KDType));
const INDEX_DTYPES = new Set<DType>(["int32", "uint32"]);
/** The primitives lowered to window steps (the rest of this file's are lazy expressions). */
const WINDOW_PRIMITIVES = new Set<Primitive>(["gather", "scatter", "scatter_add", "dynamic_slice", "dynamic_update_slice", "pad", "concatenate"]);

/** Lowers `eqn` without a host step when it is an indexing/structural primitive; false otherwise. */
export function lowerIndexing<N>(eqn: JaxprEqn, ctx: IndexingContext<N>): boolean {
  if (![...eqn.inputs, ...eqn.outputs].every((a) => KERNEL_DTYPES.has(a.aval.dtype))) return false;
  if (!ctx.windowKernels() && WINDOW_PRIMITIVES.has(eqn.primitive)) return false;
  const typed = typedEqn(eqn);
  switch (typed.primitive) {
    case "iota":
      return lowerIota(typed, ctx);
    case "select_n":
      return lowerSelectN(typed, ctx);
    case "bitcast_convert_type":
      return lowerBitcast(typed, ctx);
    case "gather":
      return lowerGather(typed, ctx);
    case "scatter":
    case "scatter_add":
      return lowerScatter(typed, ctx);
    case "dynamic_slice":
      return lowerDynamicSlice(typed, ctx);
    case "dynamic_update_slice":
      return lowerDynamicUpdateSlice(typed, ctx);
    case "pad":
      return lowerPad(typed, ctx);
    case "concatenate":
      return lowerConcatenate(typed, ctx);
    default:
      return false;
  }
}

// --- lazy: iota, select_n ------------------------------------------------------------------

/** iota along `dimension` is a broadcast view of the constant 0, 1, ..., n-1. */
function lowerIota<N>(eqn: JaxprEqn<"iota">, ctx: IndexingContext<N>): boolean {
  const { shape, dimension, dtype } = eqn.params;
  if (dtype === "bool") return false;
  const n = shape[dimension];
  // A size-0 iota still gets a one-element constant (no zero-byte buffers); nothing reads it.
  const slot = ctx.constSlot(Array.from({ length: Math.max(n, 1) }, (_, i) => roundToDType(dtype, i)), dtype);
  const strides = shape.map((m, d) => (d === dimension && m !== 1 ? 1 : 0));
  ctx.defineLazy(eqn.outputs[0], ctx.viewNode({ slot, offset: 0, strides }, kd(dtype)));
  return true;
}

/**
 * select_n(which, c0, ..., cn-1) as a chain of two-way selects from the last case down:
 * which > k picks the later cases, so out-of-range selectors clamp (as in the interpreter).
 */
function lowerSelectN<N>(eqn: JaxprEqn<"select_n">, ctx: IndexingContext<N>): boolean {
  const out = eqn.outputs[0];
  const shape = out.aval.shape;
  const [which, ...cases] = eqn.inputs.map((a) => ctx.nodeOf(a, shape));
  const whichDType = kd(eqn.inputs[0].aval.dtype);
  const dtype = kd(out.aval.dtype);
  let node = cases[cases.length - 1];
  for (let k = cases.length - 2; k >= 0; k--) {
    const later = whichDType === "bool" ? which : ctx.opNode("gt", [which, ctx.constNode(k, whichDType)], "bool");
    node = ctx.opNode("select", [later, cases[k], node], dtype);
  }
  ctx.defineLazy(out, node);
  return true;
}

/** A bitcast between 4-byte dtypes reads the operand's buffer as the new dtype: no step of its own. */
function lowerBitcast<N>(eqn: JaxprEqn<"bitcast_convert_type">, ctx: IndexingContext<N>): boolean {
  const [x] = eqn.inputs;
  const out = eqn.outputs[0];
  const dtype = kd(out.aval.dtype);
  if (x.aval.dtype === dtype) ctx.defineLazy(out, ctx.nodeOf(x, out.aval.shape));
  else ctx.defineLazy(out, ctx.viewNode(ctx.bufferView(x), dtype));
  return true;
}

// --- window steps ---------------------------------------------------------------------------

interface LoopDim extends WindowDim {
  /** The dim selects the index vector (it is looped outside the point the starts are read). */
  batch: boolean;
}

/**
 * Drops size-1 dims and merges neighbours of one kind that are linear for every pointer;
 * `at` is the number of canonical dims up to the last batch dim.
 */
function canonicalDims(dims: readonly LoopDim[]): { dims: WindowDim[]; at: number } {
  const kept = dims.filter((d) => d.size !== 1).map((d) => ({ ...d }));
  for (let i = kept.length - 2; i >= 0; i--) {
    const [a, b] = [kept[i], kept[i + 1]];
    if (a.batch === b.batch && a.src === b.src * b.size && a.dst === b.dst * b.size && a.idx === b.idx * b.size) {
      kept.splice(i, 2, { size: a.size * b.size, src: b.src, dst: b.dst, idx: b.idx, batch: a.batch });
    }
  }
  let at = 0;
  kept.forEach((d, i) => d.batch && (at = i + 1));
  return { dims: kept.map(({ size, src, dst, idx }) => ({ size, src, dst, idx })), at };
}

interface WindowPlan {
  label: string;
  dtype: KDType;
  loops: LoopDim[];
  starts: WindowStart[];
  target: "src" | "dst";
  mode: "clip" | "fill";
  combine: "copy" | "add";
  fill?: number;
  src: BufferAt;
  dst: BufferAt;
  indices: BufferAt[];
}

function emitPlan<N>(ctx: IndexingContext<N>, p: WindowPlan): void {
  if (p.loops.some((d) => d.size === 0)) return; // nothing to copy
  const { dims, at } = canonicalDims(p.loops);
  const spec: WindowSpec = { dtype: p.dtype, dims, at, starts: p.starts, target: p.target, mode: p.mode, combine: p.combine };
  if (p.fill !== undefined) spec.fill = p.fill;
  ctx.emitWindow({ kind: "window", label: p.label, spec, src: p.src, dst: p.dst, indices: p.indices });
}

const denseStrides = (shape: readonly number[]) => stridesOf(shape);

/** The index vector's buffer views: element k of the last dim of `indices`, one pointer per k. */
function indexPointers(v: BufferView, rank: number, K: number): BufferAt[] {
  return Array.from({ length: K }, (_, k) => ({ slot: v.slot, offset: v.offset + k * (v.strides[rank - 1] ?? 0) }));
}

function lowerGather<N>(eqn: JaxprEqn<"gather">, ctx: IndexingContext<N>): boolean {
  const [operand, indices] = eqn.inputs;
  const out = eqn.outputs[0];
  if (!INDEX_DTYPES.has(indices.aval.dtype)) return false;
  const { dimensionNumbers: dn, sliceSizes, mode, fillValue } = eqn.params;
  // A size-0 slice of a dropped dim reads past its row in the interpreter; that edge stays there.
  if ([...dn.collapsedSliceDims, ...dn.operandBatchingDims].some((d) => sliceSizes[d] === 0)) return false;
  const dtype = kd(out.aval.dtype);
  const op = ctx.bufferView(operand);
  const idx = ctx.bufferView(indices);
  const outShape = out.aval.shape;
  const outStrides = denseStrides(outShape);
  const batchOutDims = complementDims(outShape.length, dn.offsetDims);
  const windowDims = complementDims(operand.aval.ndim, dn.collapsedSliceDims, dn.operandBatchingDims);
  const loops: LoopDim[] = outShape.map((size, o) => {
    const j = batchOutDims.indexOf(o);
    if (j >= 0) {
      const b = dn.startIndicesBatchingDims.indexOf(j);
      return { size, dst: outStrides[o], idx: idx.strides[j], src: b >= 0 ? op.strides[dn.operandBatchingDims[b]] : 0, batch: true };
    }
    return { size, dst: outStrides[o], idx: 0, src: op.strides[windowDims[dn.offsetDims.indexOf(o)]], batch: false };
  });
  const K = indices.aval.shape[indices.aval.ndim - 1];
  const starts = dn.startIndexMap.map((d) => ({ dtype: indices.aval.dtype as WindowStart["dtype"], stride: op.strides[d], hi: operand.aval.shape[d] - sliceSizes[d] }));
  const slot = ctx.slotFor(out);
  emitPlan(ctx, {
    label: "gather", dtype, loops, starts, target: "src", mode, combine: "copy",
    fill: mode === "fill" ? gatherFillValue(out.aval.dtype, fillValue) : undefined,
    src: op, dst: { slot, offset: 0 }, indices: indexPointers(idx, indices.aval.ndim, K),
  });
  ctx.defineBuffer(out, slot);
  return true;
}

/**
 * A fresh output slot holding a dense copy of `a`'s value (fused with the
 * expression computing it), marked as a plain copy (Step's operandCopy) when
 * `a` is a dense buffer read as it is.
 */
function operandCopy<N>(ctx: IndexingContext<N>, a: Atom, out: Var, slot = ctx.slotFor(out)): number {
  const src = ctx.plainBuffer(a);
  ctx.emitDense(ctx.nodeOf(a, out.aval.shape), out.aval.shape, kd(out.aval.dtype), slot, src !== null);
  return slot;
}

function lowerScatter<N>(eqn: JaxprEqn<"scatter" | "scatter_add">, ctx: IndexingContext<N>): boolean {
  const [operand, indices, updates] = eqn.inputs;
  const out = eqn.outputs[0];
  if (!INDEX_DTYPES.has(indices.aval.dtype)) return false;
  const { dimensionNumbers: dn, mode } = eqn.params;
  const dtype = kd(out.aval.dtype);
  const upd = ctx.bufferView(updates);
  const idx = ctx.bufferView(indices);
  const opShape = operand.aval.shape;
  const outStrides = denseStrides(opShape);
  const updShape = updates.aval.shape;
  const windowDims = complementDims(opShape.length, dn.insertedWindowDims, dn.operandBatchingDims);
  const scatterDims = complementDims(updShape.length, dn.updateWindowDims);
  const windowSize = opShape.map(() => 1);
  dn.updateWindowDims.forEach((u, j) => (windowSize[windowDims[j]] = updShape[u]));
  // A window larger than the operand (an inserted dim of size 0) is never in bounds; the interpreter keeps that edge.
  if (opShape.some((n, d) => windowSize[d] > n)) return false;
  // Loops in the updates' row-major order: duplicates resolve in the interpreter's order.
  const loops: LoopDim[] = updShape.map((size, u) => {
    const j = scatterDims.indexOf(u);
    if (j >= 0) {
      const b = dn.scatterIndicesBatchingDims.indexOf(j);
      return { size, src: upd.strides[u], idx: idx.strides[j], dst: b >= 0 ? outStrides[dn.operandBatchingDims[b]] : 0, batch: true };
    }
    return { size, src: upd.strides[u], idx: 0, dst: outStrides[windowDims[dn.updateWindowDims.indexOf(u)]], batch: false };
  });
  const K = indices.aval.shape[indices.aval.ndim - 1];
  const starts = dn.scatterDimsToOperandDims.map((d) => ({ dtype: indices.aval.dtype as WindowStart["dtype"], stride: outStrides[d], hi: opShape[d] - windowSize[d] }));
  // float16 sums accumulate unrounded: in a float32 buffer of their own, or in the dying operand's (float16 is
  // held as float32 there too), and the output is that buffer rounded to half once.
  const halfSums = eqn.primitive === "scatter_add" && out.aval.dtype === "float16";
  // In place where the operand dies here, as for dynamic_update_slice.
  const slot = ctx.overwritable(operand) ?? operandCopy(ctx, operand, out, halfSums ? ctx.tempSlot(opShape, "float32") : undefined);
  emitPlan(ctx, {
    label: eqn.primitive, dtype, loops, starts, target: "dst", mode, combine: eqn.primitive === "scatter_add" ? "add" : "copy",
    src: upd, dst: { slot, offset: 0 }, indices: indexPointers(idx, indices.aval.ndim, K),
  });
  if (halfSums) ctx.defineLazy(out, ctx.opNode("round_f16", [ctx.viewNode({ slot, offset: 0, strides: outStrides }, "float32")], "float32"));
  else ctx.defineBuffer(out, slot);
  return true;
}

/** One start pointer per dim, read from the scalar start operands. */
function scalarStarts<N>(ctx: IndexingContext<N>, starts: readonly Atom[]): { at: BufferAt[]; dtypes: WindowStart["dtype"][] } | null {
  if (!starts.every((s) => INDEX_DTYPES.has(s.aval.dtype))) return null;
  return { at: starts.map((s) => ctx.bufferView(s)), dtypes: starts.map((s) => s.aval.dtype as WindowStart["dtype"]) };
}

/**
 * Whether a slice of `sizes` out of a dense `shape` is one contiguous block
 * wherever it starts: size 1 in the leading dims, then any size in one dim,
 * then whole dims (a row of stacked xs, a block of rows).
 */
function contiguousSlice(shape: readonly number[], sizes: readonly number[]): boolean {
  const partial = sizes.findIndex((z) => z !== 1);
  return sizes.every((z, d) => z > 0 && (partial < 0 || d <= partial || z === shape[d]));
}

/**
 * dynamic_slice: a view into the operand's buffer where the slice is one
 * contiguous block of a finished buffer (no copy: its readers read the operand
 * in place, at the offset the starts give when the program runs), else a
 * window copy.
 */
function lowerDynamicSlice<N>(eqn: JaxprEqn<"dynamic_slice">, ctx: IndexingContext<N>): boolean {
  const [x, ...startAtoms] = eqn.inputs;
  const out = eqn.outputs[0];
  const st = scalarStarts(ctx, startAtoms);
  if (!st) return false;
  const { sliceSizes } = eqn.params;
  const whole = ctx.dynamicViews() && contiguousSlice(x.aval.shape, sliceSizes) ? ctx.plainBuffer(x) : null;
  if (whole !== null) {
    const strides = denseStrides(x.aval.shape);
    ctx.defineDynamicView(
      out,
      whole,
      st.at.map((at, d) => ({ at: { slot: at.slot, offset: at.offset }, dtype: st.dtypes[d], stride: strides[d], hi: x.aval.shape[d] - sliceSizes[d] })),
    );
    return true;
  }
  const src = ctx.bufferView(x);
  const outStrides = denseStrides(out.aval.shape);
  const slot = ctx.slotFor(out);
  emitPlan(ctx, {
    label: "dynamic_slice", dtype: kd(out.aval.dtype),
    loops: sliceSizes.map((size, d) => ({ size, src: src.strides[d], dst: outStrides[d], idx: 0, batch: false })),
    starts: st.dtypes.map((dtype, d) => ({ dtype, stride: src.strides[d], hi: x.aval.shape[d] - sliceSizes[d] })),
    target: "src", mode: "clip", combine: "copy", src, dst: { slot, offset: 0 }, indices: st.at,
  });
  ctx.defineBuffer(out, slot);
  return true;
}

/**
 * dynamic_update_slice: the update is written into the operand's buffer itself
 * when the operand dies here (overwritable), else into a copy of the operand.
 * A copy of an input is marked, so that where the input is donated at run time
 * and the output takes its buffer, the copy is skipped and the update is
 * written in place.
 */
function lowerDynamicUpdateSlice<N>(eqn: JaxprEqn<"dynamic_update_slice">, ctx: IndexingContext<N>): boolean {
  const [x, update, ...startAtoms] = eqn.inputs;
  const out = eqn.outputs[0];
  const st = scalarStarts(ctx, startAtoms);
  if (!st) return false;
  const slot = ctx.overwritable(x) ?? operandCopy(ctx, x, out);
  const src = ctx.bufferView(update);
  const outStrides = denseStrides(out.aval.shape);
  emitPlan(ctx, {
    label: "dynamic_update_slice", dtype: kd(out.aval.dtype),
    loops: update.aval.shape.map((size, d) => ({ size, src: src.strides[d], dst: outStrides[d], idx: 0, batch: false })),
    starts: st.dtypes.map((dtype, d) => ({ dtype, stride: outStrides[d], hi: x.aval.shape[d] - update.aval.shape[d] })),
    target: "dst", mode: "clip", combine: "copy", src, dst: { slot, offset: 0 }, indices: st.at,
  });
  ctx.defineBuffer(out, slot);
  return true;
}

/**
 * pad: the output filled with the padding value, then the input elements that land inside
 * (input index i of a dim goes to lo + i·(interior+1); negative lo/hi drop elements) copied in.
 */
function lowerPad<N>(eqn: JaxprEqn<"pad">, ctx: IndexingContext<N>): boolean {
  const [x, value] = eqn.inputs;
  const out = eqn.outputs[0];
  const outShape = out.aval.shape;
  const dtype = kd(out.aval.dtype);
  const slot = ctx.slotFor(out);
  ctx.emitDense(ctx.nodeOf(value, outShape), outShape, dtype, slot);
  const outStrides = denseStrides(outShape);
  const kept = eqn.params.paddingConfig.map(([lo, , interior], d) => {
    const step = interior + 1;
    const first = lo >= 0 ? 0 : Math.ceil(-lo / step);
    const end = outShape[d] === 0 ? 0 : Math.min(x.aval.shape[d], Math.floor((outShape[d] - 1 - lo) / step) + 1);
    return { first, count: Math.max(0, end - first), step, at: lo + first * step };
  });
  if (kept.some((k) => k.count === 0)) {
    ctx.defineBuffer(out, slot);
    return true;
  }
  const v = ctx.bufferView(x);
  emitPlan(ctx, {
    label: "pad", dtype,
    loops: kept.map((k, d) => ({ size: k.count, src: v.strides[d], dst: outStrides[d] * k.step, idx: 0, batch: false })),
    starts: [], target: "src", mode: "clip", combine: "copy",
    src: { slot: v.slot, offset: v.offset + kept.reduce((s, k, d) => s + k.first * v.strides[d], 0) },
    dst: { slot, offset: kept.reduce((s, k, d) => s + k.at * outStrides[d], 0) },
    indices: [],
  });
  ctx.defineBuffer(out, slot);
  return true;
}

/** concatenate: each operand copied into its block of the output, read in place where it is a view. */
function lowerConcatenate<N>(eqn: JaxprEqn<"concatenate">, ctx: IndexingContext<N>): boolean {
  const out = eqn.outputs[0];
  const { dimension } = eqn.params;
  const outStrides = denseStrides(out.aval.shape);
  const slot = ctx.slotFor(out);
  let at = 0;
  for (const a of eqn.inputs) {
    const shape = a.aval.shape;
    if (shape.every((n) => n > 0)) {
      const v = ctx.bufferView(a);
      emitPlan(ctx, {
        label: "concatenate", dtype: kd(out.aval.dtype),
        loops: shape.map((size, d) => ({ size, src: v.strides[d], dst: outStrides[d], idx: 0, batch: false })),
        starts: [], target: "src", mode: "clip", combine: "copy",
        src: v, dst: { slot, offset: at * outStrides[dimension] }, indices: [],
      });
    }
    at += shape[dimension];
  }
  ctx.defineBuffer(out, slot);
  return true;
}
