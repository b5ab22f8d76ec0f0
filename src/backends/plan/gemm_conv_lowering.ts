// GEMM and convolution selection: dot_general and conv_general_dilated become
// library steps with their operands in the layout the kernels read, a narrow
// GEMM computed transposed, and elementwise consumers of a GEMM or a forward
// conv folded into its store as an epilogue (bias, scale, relu).

import { ShapedArray } from "../../core/aval";
import { JaxprEqn, Literal, Var, type Atom } from "../../core/ir";
import type { Primitive } from "../../core/primitives";
import { complementDims, range, sizeOf, stridesOf } from "../../core/shape";
import { MAX_EPILOGUE_OPERANDS, type EpilogueOp, type EpilogueOpKind, type EpilogueOperand } from "./kernel_graph";
import { CONV_EPILOGUE_MAX_OPS, convEpilogueDims, dataGradientPlan, filterGradientPlan } from "./conv_lowering";
import { roundToHalf, shapeKey } from "./lazy_expr";
import { FusionState } from "./fusion_state";
import type { ConvStepParams, PlanTarget, Step } from "./lowered_program";

/** Binary primitives a GEMM epilogue can fold, as x ∘ v with the GEMM value x on the left / on the right. */
const EPILOGUE_OPS: Partial<Record<Primitive, readonly [EpilogueOpKind, EpilogueOpKind]>> = {
  add: ["add", "add"], sub: ["sub", "rsub"], mul: ["mul", "mul"], div: ["div", "rdiv"], max: ["max", "max"], min: ["min", "min"],
};

type GemmStep = Extract<Step, { kind: "gemm" }>;
type ConvStep = Extract<Step, { kind: "conv" }>;

/** A GEMM (or conv) output whose consumers may still be folded into its store. */
interface GemmTail {
  step: GemmStep | ConvStep;
  /** The slot the step writes. */
  slot: number;
  /** A conv's tail: the vector kind that is a per-channel vector (the only kind it folds). */
  channelKind?: "col" | "row";
  /** Slots in memory before the GEMM step runs: only those can be epilogue operands. */
  doneBefore: ReadonlySet<number>;
  /** The step computes Cᵀ (narrow C): C's columns are the step's rows. */
  transposed: boolean;
  /** Batch and row (lhs free) dims of C; the rest are its columns. */
  batchDims: number;
  rowDims: number;
}

/**
 * Whether strides over `shape` read a vector along dims [lo, hi) laid out
 * densely, broadcast along every other dim.
 */
function isVectorAlong(strides: readonly number[], shape: readonly number[], lo: number, hi: number): boolean {
  const dense = stridesOf(shape.slice(lo, hi));
  return strides.every((s, d) => shape[d] === 1 || (d >= lo && d < hi ? s === dense[d - lo] : s === 0));
}

/** GEMM and conv steps over the fusion state; the equation dispatch (planner.ts) supplies lowerEqn. */
export abstract class GemmConvLowering extends FusionState {
  /** Uses of each var by equations (a program output counts as unbounded), and its consumers. */
  protected readonly uses = new Map<Var, number>();
  protected readonly consumers = new Map<Var, JaxprEqn[]>();
  protected readonly gemmTails = new Map<Var, GemmTail>();
  /** `le(x, 0)` equations held back as the first half of a relu folded into a GEMM (keyed by their output). */
  protected readonly heldRelu = new Map<Var, JaxprEqn>();
  /** Equations lowered without epilogue folding (a held `le` whose relu did not materialize). */
  protected readonly noFold = new Set<JaxprEqn>();

  constructor(protected readonly target: PlanTarget) {
    super();
  }

  /** Lowers one equation (the relu fold lowers a held-back `le` it cannot fold). */
  protected abstract lowerEqn(eqn: JaxprEqn): void;

  protected tryGemm(eqn: JaxprEqn<"dot_general">): boolean {
    const [lhs, rhs] = eqn.inputs;
    // float16 operands are held as float32, so the float32 GEMM reads them in place; a float16 result is rounded by its readers.
    const float = (d: string) => d === "float32" || d === "float16";
    if (!float(lhs.aval.dtype) || !float(rhs.aval.dtype) || !float(eqn.outputs[0].aval.dtype)) return false;
    if (eqn.outputs[0].aval.dtype === "float16") return this.halfGemm(eqn);
    const [[lc, rc], [lb, rb]] = eqn.params.dimensionNumbers;
    const lf = complementDims(lhs.aval.ndim, lc, lb);
    const rf = complementDims(rhs.aval.ndim, rc, rb);
    const size = (shape: readonly number[], dims: number[]) => dims.reduce((p, d) => p * shape[d], 1);
    const m = size(lhs.aval.shape, lf);
    const k = size(lhs.aval.shape, lc);
    const n = size(rhs.aval.shape, rf);
    const batch = size(lhs.aval.shape, lb);
    const { slot: a, trans: transA } = this.gemmOperand(lhs, [...lb, ...lf, ...lc], [...lb, ...lc, ...lf]);
    const { slot: b, trans: transB } = this.gemmOperand(rhs, [...rb, ...rc, ...rf], [...rb, ...rf, ...rc]);
    const out = eqn.outputs[0];
    const doneBefore = new Set(this.done);
    const tail = (step: GemmStep, transposed: boolean): GemmTail => ({ step, slot: step.c, doneBefore, transposed, batchDims: lb.length, rowDims: lf.length });
    if (this.target.transposeNarrowGemm && n < 16 && m >= 2 * n && m * n * k >= 1 << 16) {
      // A narrow C wastes most of the 8-wide register tile: compute Cᵀ = Bᵀ·Aᵀ,
      // which is wide, and let consumers read C as a transposed view of it.
      const tShape = [batch, n, m];
      const t = this.newSlot({ kind: "temp", bytes: batch * m * n * 4, dtype: "float32", shape: tShape });
      const step: GemmStep = { kind: "gemm", transA: !transB, transB: !transA, batch, m: n, n: m, k, a: b, b: a, c: t };
      this.steps.push(step);
      this.gemmTails.set(out, tail(step, true));
      this.done.add(t);
      const shape = out.aval.shape;
      const nb = lb.length;
      const nl = lf.length;
      const batchStrides = stridesOf(shape.slice(0, nb)).map((x) => x * m * n);
      const rowStrides = stridesOf(shape.slice(nb, nb + nl));
      const colStrides = stridesOf(shape.slice(nb + nl)).map((x) => x * m);
      const strides = [...batchStrides, ...rowStrides, ...colStrides].map((x, d) => (shape[d] === 1 ? 0 : x));
      this.state.set(out, { node: { k: "view", view: { slot: t, offset: 0, strides }, dtype: "float32" }, shape, dtype: "float32" });
      return true;
    }
    const c = this.slotFor(out);
    const step: GemmStep = { kind: "gemm", transA, transB, batch, m, n, k, a, b, c };
    this.steps.push(step);
    this.gemmTails.set(out, tail(step, false));
    this.defineBuffer(out, c);
    return true;
  }

  /** A float16 dot_general: the float32 GEMM into a temporary buffer, rounded to half by whatever reads the result. */
  protected halfGemm(eqn: JaxprEqn<"dot_general">): boolean {
    const out = eqn.outputs[0];
    const wide = new Var(new ShapedArray(out.aval.shape, "float32"));
    this.tryGemm(new JaxprEqn("dot_general", eqn.inputs, { ...eqn.params, preferredElementType: "float32" }, [wide]));
    this.gemmTails.delete(wide);
    this.state.set(out, { node: this.annotate(roundToHalf(this.state.get(wide)!.node), out), shape: out.aval.shape, dtype: "float16" });
    return true;
  }

  /**
   * Folds an elementwise equation into the store of the GEMM that computes
   * one of its operands, when that GEMM output (or the tail of its epilogue so
   * far) has no other use and the other operand is a constant or a row/column
   * vector already in memory: `x @ W + b`, `* s`, `max(·, 0)`, and relu's
   * `select_n(le(x, 0), x, 0)`. The equation's output then lives in the GEMM's
   * output buffer. Returns false to lower the equation normally.
   */
  protected foldIntoGemm(eqn: JaxprEqn): boolean {
    const prim = eqn.primitive;
    const out = eqn.outputs[0];
    if (prim === "le") return this.holdRelu(eqn);
    if (out.aval.dtype !== "float32") return false;
    if (prim === "select_n") return this.foldRelu(eqn);
    const kinds = EPILOGUE_OPS[prim];
    if (!kinds || eqn.inputs.length !== 2) return false;
    for (const side of [0, 1] as const) {
      const x = eqn.inputs[side];
      const other = eqn.inputs[1 - side];
      if (x instanceof Literal || x === other) continue;
      const tail = this.foldableTail(x, 1, out.aval.shape);
      if (!tail) continue;
      const operand = this.epilogueOperand(other, tail, out.aval.shape);
      if (!operand) continue;
      this.extendTail(x, out, tail, { op: kinds[side], operand: operand.operand }, operand.slot);
      return true;
    }
    return false;
  }

  /** The tail `x` extends, when `x` has exactly `uses` uses and the shape of C. */
  protected foldableTail(x: Var, uses: number, shape: readonly number[]): GemmTail | null {
    const tail = this.gemmTails.get(x);
    if (!tail || this.uses.get(x) !== uses || shapeKey(x.aval.shape) !== shapeKey(shape)) return null;
    if (tail.channelKind && (tail.step.epilogue?.ops.length ?? 0) >= CONV_EPILOGUE_MAX_OPS) return null;
    return tail;
  }

  protected isZero(a: Atom, shape: readonly number[]): boolean {
    if (a instanceof Literal) return a.value === 0;
    if (!this.state.has(a)) return false;
    const node = this.nodeOf(a, shape);
    return node.k === "const" && node.value === 0;
  }

  /** `h = le(x, 0)` whose only consumer is `select_n(h, x, 0)`: held back until that select folds it. */
  protected holdRelu(eqn: JaxprEqn): boolean {
    const [x, zero] = eqn.inputs;
    const h = eqn.outputs[0];
    if (x instanceof Literal || !this.foldableTail(x, 2, x.aval.shape) || !this.isZero(zero, x.aval.shape)) return false;
    const sel = this.consumers.get(h);
    if (this.uses.get(h) !== 1 || sel?.length !== 1 || sel[0].primitive !== "select_n") return false;
    const [pred, onFalse, onTrue] = sel[0].inputs;
    if (pred !== h || onFalse !== x || onTrue === x || sel[0].outputs[0].aval.dtype !== "float32") return false;
    this.heldRelu.set(h, eqn);
    return true;
  }

  /** `select_n(le(x, 0), x, 0)` = relu(x) (NaN stays NaN), folded into x's GEMM; else the held `le` is lowered now. */
  protected foldRelu(eqn: JaxprEqn): boolean {
    const [pred, x, onTrue] = eqn.inputs;
    if (pred instanceof Literal) return false;
    const le = this.heldRelu.get(pred);
    if (!le) return false;
    this.heldRelu.delete(pred);
    const out = eqn.outputs[0];
    const tail = x instanceof Literal ? null : this.foldableTail(x, 2, out.aval.shape);
    if (tail && this.isZero(onTrue, out.aval.shape)) {
      this.extendTail(x as Var, out, tail, { op: "relu", operand: { kind: "none" } }, undefined);
      return true;
    }
    this.noFold.add(le);
    this.lowerEqn(le);
    return false;
  }

  /** The epilogue operand `v` is, for C of `shape`: a constant, or a vector in memory before the GEMM runs. */
  protected epilogueOperand(v: Atom, tail: GemmTail, shape: readonly number[]): { operand: EpilogueOperand; slot?: number } | null {
    if (v.aval.dtype !== "float32") return null;
    if (v instanceof Literal) return { operand: { kind: "const", value: v.value } };
    if (!this.state.has(v)) return null;
    const node = this.nodeOf(v, shape);
    if (node.k === "const") return { operand: { kind: "const", value: node.value } };
    if (node.k !== "view" || node.view.offset !== 0) return null;
    const ep = tail.step.epilogue;
    if (ep && ep.operands.length >= MAX_EPILOGUE_OPERANDS) return null;
    const slot = this.resolve(node.view.slot);
    if (!tail.doneBefore.has(slot) || !this.done.has(slot)) return null;
    const rows = tail.batchDims;
    const cols = tail.batchDims + tail.rowDims;
    if (tail.channelKind) {
      const perChannel = tail.channelKind === "col" ? isVectorAlong(node.view.strides, shape, cols, shape.length) : isVectorAlong(node.view.strides, shape, rows, cols);
      return perChannel ? { operand: { kind: "col" }, slot } : null;
    }
    const kind = isVectorAlong(node.view.strides, shape, cols, shape.length)
      ? "col"
      : isVectorAlong(node.view.strides, shape, rows, cols)
        ? "row"
        : null;
    if (!kind) return null;
    // The step of a narrow C computes Cᵀ, whose rows are C's columns.
    const stepKind = tail.transposed ? (kind === "col" ? "row" : "col") : kind;
    return { operand: { kind: stepKind }, slot };
  }

  /** Appends `op` to the tail's epilogue; `out` takes over the GEMM output from `x`. */
  protected extendTail(x: Var, out: Var, tail: GemmTail, op: EpilogueOp, slot: number | undefined): void {
    const ep = (tail.step.epilogue ??= { ops: [], operands: [] });
    ep.ops.push(op);
    if (slot !== undefined) ep.operands.push(slot);
    this.gemmTails.delete(x);
    this.gemmTails.set(out, tail);
    const st = this.state.get(x)!;
    if (!tail.transposed) this.slotOfVar.set(out, tail.slot);
    this.state.set(out, { node: st.node, shape: st.shape, dtype: "float32" });
  }

  /**
   * A GEMM operand as a buffer in `plain` dim order, or in `transposed` order
   * (read with a transpose flag): as it lies in memory when it already is one of
   * them (a transposed view of a finished buffer, as in x.T @ y, is read in
   * place), else copied once into `plain` order.
   */
  protected gemmOperand(x: Atom, plain: number[], transposed: number[]): { slot: number; trans: boolean } {
    const inPlace = this.bufferInOrder(x, plain);
    if (inPlace !== null) return { slot: inPlace, trans: false };
    const inPlaceT = this.bufferInOrder(x, transposed);
    if (inPlaceT !== null) return { slot: inPlaceT, trans: true };
    const natural = range(x.aval.ndim).join(",");
    if (plain.join(",") === natural) return { slot: this.materialize(x), trans: false };
    if (transposed.join(",") === natural) return { slot: this.materialize(x), trans: true };
    return { slot: this.permuted(x, plain), trans: false };
  }

  protected tryConv(eqn: JaxprEqn<"conv_general_dilated">): boolean {
    const p = eqn.params;
    const [lhs, rhs] = eqn.inputs;
    const out = eqn.outputs[0];
    if (lhs.aval.ndim !== 4 || lhs.aval.dtype !== "float32" || rhs.aval.dtype !== "float32" || out.aval.dtype !== "float32") return false;
    if (p.batchGroupCount !== 1) return false;
    if (this.target.convGradientKernels && this.tryConvGradient(eqn)) return true;
    const { lhsSpec, rhsSpec, outSpec } = p.dimensionNumbers;
    const nchw = [lhsSpec, rhsSpec, outSpec].every((s) => s.join() === "0,1,2,3");
    const layout = nchw ? "NCHW" : "NHWC";
    // Bring the operands into the layout the kernel reads: NHWC/HWIO unless already NCHW/OIHW.
    const x = nchw ? this.materialize(lhs) : this.permuted(lhs, [lhsSpec[0], lhsSpec[2], lhsSpec[3], lhsSpec[1]]);
    const w = nchw ? this.materialize(rhs) : this.permuted(rhs, [rhsSpec[2], rhsSpec[3], rhsSpec[1], rhsSpec[0]]);
    const ls = lhs.aval.shape;
    const rs = rhs.aval.shape;
    const os = out.aval.shape;
    const params: ConvStepParams = {
      n: ls[lhsSpec[0]], cin: ls[lhsSpec[1]], h: ls[lhsSpec[2]], w: ls[lhsSpec[3]],
      cout: rs[rhsSpec[0]], kh: rs[rhsSpec[2]], kw: rs[rhsSpec[3]], groups: p.featureGroupCount,
      strides: [p.windowStrides[0], p.windowStrides[1]],
      padding: [[p.padding[0][0], p.padding[0][1]], [p.padding[1][0], p.padding[1][1]]],
      dilation: [p.rhsDilation[0], p.rhsDilation[1]],
      lhsDilation: [p.lhsDilation[0], p.lhsDilation[1]],
    };
    const ySpecOrder = nchw ? [0, 1, 2, 3] : [outSpec[0], outSpec[2], outSpec[3], outSpec[1]];
    const yShape = ySpecOrder.map((d) => os[d]);
    if (ySpecOrder.join() === "0,1,2,3") {
      const y = this.slotFor(out);
      const step: ConvStep = { kind: "conv", layout, params, x, w, y };
      this.steps.push(step);
      if (this.target.convEpilogues) this.gemmTails.set(out, { step, slot: y, doneBefore: new Set(this.done), transposed: false, ...convEpilogueDims(layout) });
      this.defineBuffer(out, y);
      return true;
    }
    const y = this.newSlot({ kind: "temp", bytes: sizeOf(yShape) * 4, dtype: "float32", shape: yShape });
    this.steps.push({ kind: "conv", layout, params, x, w, y });
    this.done.add(y);
    // The output is a transposed view of the kernel's result: lazy, like any view.
    const yStrides = stridesOf(yShape);
    const strides = os.map((_, d) => yStrides[ySpecOrder.indexOf(d)]);
    this.state.set(out, { node: { k: "view", view: { slot: y, offset: 0, strides }, dtype: "float32" }, shape: os, dtype: "float32" });
    return true;
  }

  /**
   * The transposed convolutions of `grad` (conv_lowering.ts) on the gradient
   * kernels, with every operand and the result in the layout the kernel reads.
   */
  protected tryConvGradient(eqn: JaxprEqn<"conv_general_dilated">): boolean {
    const [lhs, rhs] = eqn.inputs;
    const out = eqn.outputs[0];
    const filter = filterGradientPlan(eqn);
    if (filter) {
      const [a, b] = [this.materialize(lhs), this.materialize(rhs)];
      const slot = this.slotFor(out);
      this.steps.push({ kind: "conv_gradient", gradient: "filter", layout: filter.layout, params: filter.params, a, b, out: slot });
      this.defineBuffer(out, slot);
      return true;
    }
    const spatial = eqn.params.dimensionNumbers.rhsSpec.slice(2);
    const rhsView = rhs instanceof Literal ? undefined : this.state.get(rhs)?.node;
    const rhsIsReversed = rhsView?.k === "view" && spatial.every((d) => rhs.aval.shape[d] === 1 || rhsView.view.strides[d] < 0);
    const data = dataGradientPlan(eqn, rhsIsReversed);
    if (!data) return false;
    const a = this.materialize(lhs);
    const b = this.permuted(rhs, data.weightOrder, data.reversedAxes);
    const slot = this.slotFor(out);
    this.steps.push({ kind: "conv_gradient", gradient: "data", layout: data.layout, params: data.params, a, b, out: slot });
    this.defineBuffer(out, slot);
    return true;
  }
}
