// The backend-neutral planner: a jaxpr becomes a kernel graph (kernel_graph.ts)
// — fusion, library calls and the slots the buffer plan allocates. The wasm
// backend compiles the graph to WebAssembly, the WebGPU backend to WGSL; a
// target (PlanTarget) says only which kinds of step its code generator has,
// and equations beyond them become host steps.
//
// Elementwise equations are not computed where they appear: each becomes a
// lazy expression (a DAG over views of materialized buffers), and shape
// equations (broadcast_in_dim, transpose, reshape, slice, rev, squeeze,
// expand_dims) only rewrite the strides of the views they read. A value is
// materialized when something needs it in memory — a library call (GEMM,
// conv, or an axis/window kernel: argmax, scans, sort, pooling, see
// library.ts), a reduction, an equation with no kernel, or the
// program's output — and then as an output of the "open" fused kernel for
// its shape, so several values of one shape come out of one loop nest.
// Reductions become kernels that fuse the expression they reduce. An
// expression used by two kernels is recomputed in each rather than stored,
// unless it is already in memory. Indexing and structural primitives
// (gather, scatter, pad, concatenate, dynamic slices, iota, select_n,
// bitcasts) are lowered in indexing.ts; what no rule covers runs as a
// host fallback step.
//
// The result is a list of steps over numbered slots; the backend's buffer plan
// gives intermediate slots workspace buffers, reused once their last reader ran.

import { ShapedArray } from "../../core/aval";
import { byteWidth, type DType } from "../../core/dtype";
import { BackendError } from "../../core/errors";
import { JaxprEqn, Literal, Var, typedEqn, type Atom, type ClosedJaxpr } from "../../core/ir";
import { DECOMPOSITIONS, isHigherOrder, type FirstOrderPrimitive, type ParamsOf, type Primitive } from "../../core/primitives";
import { sizeOf, stridesOf } from "../../core/shape";
import { MAX_EPILOGUE_OPERANDS, type EpilogueOp, type EpilogueOpKind, type EpilogueOperand, type KDType, type KernelNode, type KernelSpec, type LibraryStep, type ReduceOp, type ScalarOp } from "./kernel_graph";
import { lowerIndexing, type IndexingContext, type WindowStep } from "./indexing";
import { lowerLibraryCall, type LibraryLoweringHost } from "./library";
import { lowerContraction, type ContractionContext } from "./contraction";
import { CONV_EPILOGUE_MAX_OPS, convEpilogueDims, dataGradientPlan, filterGradientPlan, type ConvStepParams } from "./conv_lowering";
import { threefry2x32Expr, type U32Builder } from "./threefry";
import { TRANSCENDENTAL_EXPANSIONS, type F32Builder } from "./transcendental";
import { floatRem } from "./float_rem";

/** A strided read of a slot's buffer, relative to some iteration shape. */
export interface View {
  slot: number;
  offset: number;
  strides: number[];
}

/** A lazy value: a DAG of scalar ops over views of materialized buffers. */
type ENode =
  | { k: "view"; view: View; dtype: KDType }
  | { k: "const"; value: number; dtype: KDType }
  | { k: "op"; op: ScalarOp | "integer_pow"; y?: number; args: ENode[]; dtype: KDType; mat?: View };

export type SlotKind = "input" | "const" | "temp";

export interface SlotInfo {
  kind: SlotKind;
  bytes: number;
  dtype: DType;
  shape: readonly number[];
  /** For const slots: the host data to upload. */
  data?: number[];
  /** For input/const slots: their index in the program's inputs / consts. */
  index?: number;
}

/** One step of a lowered program. */
export type Step =
  | { kind: "kernel"; spec: KernelSpec; inputs: View[]; outputs: number[] }
  | {
      kind: "gemm"; transA: boolean; transB: boolean; batch: number; m: number; n: number; k: number; a: number; b: number; c: number;
      /** Elementwise ops fused into the GEMM's store; `operands` are the slots of its vector operands, in order. */
      epilogue?: GemmEpilogue;
    }
  | {
      kind: "conv"; layout: "NHWC" | "NCHW"; params: ConvStepParams; x: number; w: number; y: number;
      /** Elementwise ops fused into the conv's store (conv_lowering.ts); vector operands are per-output-channel, marked `col`. */
      epilogue?: GemmEpilogue;
    }
  /**
   * A gradient of the forward convolution `params` (conv_lowering.ts), in its layout:
   * data: a = dy, b = w, out = dx; filter: a = x, b = dy, out = dw.
   */
  | { kind: "conv_gradient"; gradient: "data" | "filter"; layout: "NHWC" | "NCHW"; params: ConvStepParams; a: number; b: number; out: number }
  | WindowStep
  | LibraryStep
  | HostStep;

/** A primitive the interpreter runs on the host, its params typed by its primitive. */
export type HostStep = {
  [P in FirstOrderPrimitive]: { kind: "fallback"; prim: P; params: ParamsOf<P>; inputs: number[]; outputs: number[]; inAvals: ShapedArray[]; outAvals: ShapedArray[] };
}[FirstOrderPrimitive];

export interface GemmEpilogue {
  ops: EpilogueOp[];
  operands: number[];
}

export type { ConvStepParams };

export interface LoweredProgram {
  slots: SlotInfo[];
  steps: Step[];
  /** Slot of each jaxpr output. */
  outputs: number[];
  /** Slots an output owns (fresh per run), vs outputs that alias inputs/consts. */
  freshOutputs: Set<number>;
  /** The slot given to each variable that was given one (aliases resolved); read by fusion_groups.ts. */
  varSlots: ReadonlyMap<Var, number>;
  /** The slot whose buffer each variable's value is a strided view of (a GEMM's transposed output, a reshape); read by fusion_groups.ts. */
  viewSlots: ReadonlyMap<Var, number>;
}

// float16 is held widened to float32 in device memory: kernels compute it in float32 and
// round every float16 result to half precision (a round_f16 node) before it is stored or used.
const KDTYPES = new Set<DType>(["float32", "int32", "uint32", "bool", "float16"]);
const isKernelDType = (d: DType): boolean => KDTYPES.has(d);
/** The dtype a kernel computes a value of dtype `d` in. */
const kernelDType = (d: DType): KDType => (d === "float16" ? "float32" : (d as KDType));
/** Equations whose float16 result needs no rounding: it is one of their float16 operands' values. */
const HALF_EXACT = new Set<Primitive>(["neg", "abs", "sign", "floor", "ceil", "round", "max", "min", "select_n", "clamp", "stop_gradient"]);

const UNARY_KERNEL_OPS: Partial<Record<Primitive, ScalarOp>> = {
  neg: "neg", sign: "sign", floor: "floor", ceil: "ceil", round: "round", is_finite: "is_finite", abs: "abs", not: "not",
  exp: "exp", log: "log", log1p: "log1p", expm1: "expm1", sqrt: "sqrt", rsqrt: "rsqrt", logistic: "logistic", erf: "erf",
  sin: "sin", cos: "cos", tanh: "tanh",
};
const BINARY_KERNEL_OPS: Partial<Record<Primitive, ScalarOp>> = {
  add: "add", sub: "sub", mul: "mul", div: "div", pow: "pow", max: "max", min: "min", and: "and", or: "or", xor: "xor",
  eq: "eq", ne: "ne", lt: "lt", le: "le", gt: "gt", ge: "ge", shift_left: "shift_left", shift_right_logical: "shift_right_logical",
};
const REDUCE_OPS: Partial<Record<Primitive, ReduceOp>> = {
  reduce_sum: "sum", reduce_max: "max", reduce_min: "min", reduce_prod: "prod", reduce_and: "and", reduce_or: "or",
};

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

const shapeKey = (s: readonly number[]) => s.join("x");
const viewKey = (v: View) => `${v.slot}@${v.offset}:${v.strides.join(",")}`;
const denseStrides = (shape: readonly number[]) => stridesOf(shape).map((s, i) => (shape[i] === 1 ? 0 : s));
const isDense = (v: View, shape: readonly number[]) => v.offset === 0 && v.strides.every((s, i) => shape[i] === 1 || s === stridesOf(shape)[i]);

/** Rewrites views for a shape equation; null when a view cannot express it. */
type Reindex = (v: View) => View | null;

function reindexFor(anyEqn: JaxprEqn, inShape: readonly number[]): Reindex | null {
  const eqn = typedEqn(anyEqn);
  const outShape = eqn.outputs[0].aval.shape;
  switch (eqn.primitive) {
    case "broadcast_in_dim": {
      const p = eqn.params;
      return (v) => {
        const strides = new Array<number>(outShape.length).fill(0);
        p.broadcastDimensions.forEach((d, i) => (strides[d] = inShape[i] === 1 ? 0 : v.strides[i]));
        return { slot: v.slot, offset: v.offset, strides };
      };
    }
    case "transpose": {
      const p = eqn.params;
      return (v) => ({ slot: v.slot, offset: v.offset, strides: p.permutation.map((d) => v.strides[d]) });
    }
    case "squeeze":
    case "expand_dims":
    case "reshape":
      return (v) => {
        if (v.strides.every((s) => s === 0)) return { ...v, strides: outShape.map(() => 0) };
        // Size-1 dims never move the pointer, so only the non-trivial dims must stay in order.
        const kept = inShape.map((n, i) => [n, v.strides[i]] as const).filter(([n]) => n !== 1);
        const outKept = outShape.filter((n) => n !== 1);
        if (kept.length === outKept.length && kept.every(([n], i) => n === outKept[i])) {
          let k = 0;
          return { ...v, strides: outShape.map((n) => (n === 1 ? 0 : kept[k++][1])) };
        }
        return isDense(v, inShape) ? { ...v, strides: denseStrides(outShape) } : null;
      };
    case "slice": {
      const p = eqn.params;
      const steps = p.strides ?? inShape.map(() => 1);
      return (v) => ({
        slot: v.slot,
        offset: v.offset + p.startIndices.reduce((s, st, d) => s + st * v.strides[d], 0),
        strides: v.strides.map((s, d) => s * steps[d]),
      });
    }
    case "rev": {
      const p = eqn.params;
      return (v) => ({
        slot: v.slot,
        offset: v.offset + p.dimensions.reduce((s, d) => s + (inShape[d] - 1) * v.strides[d], 0),
        strides: v.strides.map((s, d) => (p.dimensions.includes(d) ? -s : s)),
      });
    }
    default:
      return null;
  }
}

const roundToHalf = (node: ENode): ENode => ({ k: "op", op: "round_f16", args: [node], dtype: "float32" });

/** x ** y for float16 by binary exponentiation with every product rounded to half, as the
 * interpreter (and JAX) computes it in the element type; the caller rounds the result. */
function halfIntegerPow(x: ENode, y: number): ENode {
  const mul = (a: ENode, b: ENode): ENode => roundToHalf({ k: "op", op: "mul", args: [a, b], dtype: "float32" });
  let acc: ENode | null = null;
  let base = x;
  for (let n = Math.abs(y); n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) acc = acc === null ? base : mul(acc, base);
    if (n > 1) base = mul(base, base);
  }
  const one: ENode = { k: "const", value: 1, dtype: "float32" };
  if (acc === null) return one;
  return y < 0 ? { k: "op", op: "div", args: [one, acc], dtype: "float32" } : acc;
}

/** Builds float32 expression nodes for the transcendental expansions (transcendental.ts). */
const F32_NODES: F32Builder<ENode> = {
  constant: (value) => ({ k: "const", value, dtype: "float32" }),
  op: (op, ...args) => ({ k: "op", op, args, dtype: "float32" }),
  less: (a, b) => ({ k: "op", op: "lt", args: [a, b], dtype: "bool" }),
};

/** Apply a reindexing to every view of an expression, keeping shared subtrees shared. */
function reindex(node: ENode, f: Reindex, memo = new Map<ENode, ENode | null>()): ENode | null {
  const hit = memo.get(node);
  if (hit !== undefined) return hit;
  let out: ENode | null;
  if (node.k === "const") out = node;
  else if (node.k === "view") {
    const v = f(node.view);
    out = v ? { k: "view", view: v, dtype: node.dtype } : null;
  } else {
    const args = node.args.map((a) => reindex(a, f, memo));
    if (args.some((a) => a === null)) out = null;
    else {
      const mat = node.mat ? f(node.mat) ?? undefined : undefined;
      out = { k: "op", op: node.op, y: node.y, args: args as ENode[], dtype: node.dtype, mat };
    }
  }
  memo.set(node, out);
  return out;
}

interface VarState {
  node: ENode;
  shape: readonly number[];
  dtype: DType;
}

interface OpenKernel {
  shape: readonly number[];
  vars: Var[];
}

/** What a code generator has kernels for; the planner turns everything else into host steps. */
export interface PlanTarget {
  /** Window steps: gather, scatter(_add), dynamic_slice, dynamic_update_slice, pad, concatenate. */
  readonly windowKernels: boolean;
  /** Axis/window library calls: argmax/argmin, cumulative scans, sort, top_k, reduce_window, pooling gradients. */
  readonly libraryKernels: boolean;
  /** Fold elementwise consumers of a GEMM into its store (bias, scale, relu). */
  readonly gemmEpilogues: boolean;
  /** Compute a narrow C as Cᵀ = Bᵀ·Aᵀ (wasm: a narrow C wastes most of the 8-wide register tile). */
  readonly transposeNarrowGemm: boolean;
  /** Conv gradient kernels (conv_gradient steps) for the transposed convolutions of `grad`. */
  readonly convGradientKernels: boolean;
  /** Fold elementwise consumers of a forward conv into its store (per-channel bias, scale, relu). */
  readonly convEpilogues: boolean;
  /** Matrix decompositions (cholesky, lu, qr, eigh, svd, triangular_solve) as library steps. */
  readonly decompositionKernels: boolean;
}

/** The wasm backend's code generators cover every kind of step. */
export const WASM_TARGET: PlanTarget = { windowKernels: true, libraryKernels: true, gemmEpilogues: true, transposeNarrowGemm: true, convGradientKernels: true, convEpilogues: true, decompositionKernels: true };

export class Planner {
  readonly slots: SlotInfo[] = [];
  readonly steps: Step[] = [];
  private readonly slotOfVar = new Map<Var, number>();
  private readonly state = new Map<Var, VarState>();
  private readonly done = new Set<number>();
  private readonly open = new Map<string, OpenKernel>();
  private readonly pendingIn = new Map<Var, OpenKernel>();
  /** A var whose value is exactly another slot's dense buffer. */
  private readonly alias = new Map<number, number>();
  /** Uses of each var by equations (a program output counts as unbounded), and its consumers. */
  private readonly uses = new Map<Var, number>();
  private readonly consumers = new Map<Var, JaxprEqn[]>();
  private readonly gemmTails = new Map<Var, GemmTail>();
  /** `le(x, 0)` equations held back as the first half of a relu folded into a GEMM (keyed by their output). */
  private readonly heldRelu = new Map<Var, JaxprEqn>();
  /** Equations lowered without epilogue folding (a held `le` whose relu did not materialize). */
  private readonly noFold = new Set<JaxprEqn>();

  constructor(
    private readonly closed: ClosedJaxpr,
    private readonly target: PlanTarget,
  ) {}

  static plan(closed: ClosedJaxpr, target: PlanTarget): LoweredProgram {
    return new Planner(closed, target).run();
  }

  private newSlot(info: SlotInfo): number {
    this.slots.push(info);
    return this.slots.length - 1;
  }

  private slotFor(v: Var): number {
    let s = this.slotOfVar.get(v);
    if (s === undefined) {
      s = this.newSlot({ kind: "temp", bytes: v.aval.size * storageBytes(v.aval.dtype), dtype: v.aval.dtype, shape: v.aval.shape });
      this.slotOfVar.set(v, s);
    }
    return s;
  }

  private resolve(slot: number): number {
    let s = slot;
    for (let a = this.alias.get(s); a !== undefined; a = this.alias.get(s)) s = a;
    return s;
  }

  private run(): LoweredProgram {
    const { jaxpr, consts } = this.closed;
    jaxpr.invars.forEach((v, i) => this.defineBuffer(v, this.newSlot({ kind: "input", index: i, ...slotShape(v.aval) })));
    jaxpr.constvars.forEach((v, i) => this.defineBuffer(v, this.newSlot({ kind: "const", index: i, ...slotShape(consts[i].aval) })));
    for (const eqn of jaxpr.eqns) {
      for (const a of eqn.inputs) {
        if (a instanceof Literal) continue;
        this.uses.set(a, (this.uses.get(a) ?? 0) + 1);
        if (!this.consumers.has(a)) this.consumers.set(a, []);
        this.consumers.get(a)!.push(eqn);
      }
    }
    for (const a of jaxpr.outvars) if (!(a instanceof Literal)) this.uses.set(a, Infinity);
    for (const eqn of jaxpr.eqns) this.lowerEqn(eqn);
    // Request every output first so outputs of one shape share one kernel.
    const outputs = jaxpr.outvars.map((a) => this.request(a));
    for (const k of [...this.open.values()]) this.flush(k);
    const resolved = outputs.map((s) => this.resolve(s));
    const fresh = new Set(resolved.filter((s) => this.slots[s].kind === "temp"));
    const varSlots = new Map([...this.slotOfVar].map(([v, s]) => [v, this.resolve(s)]));
    const viewSlots = new Map<Var, number>();
    for (const [v, st] of this.state) if (st.node.k === "view") viewSlots.set(v, this.resolve(st.node.view.slot));
    return { slots: this.slots, steps: this.steps, outputs: resolved, freshOutputs: fresh, varSlots, viewSlots };
  }

  /** True when reading `view` over `shape` reads exactly a finished buffer, in order. */
  private isWholeBuffer(view: View, shape: readonly number[]): boolean {
    const info = this.slots[view.slot];
    return isDense(view, shape) && this.done.has(view.slot) && sizeOf(shape) * storageBytes(info.dtype) === info.bytes;
  }

  private defineBuffer(v: Var, slot: number): void {
    this.slotOfVar.set(v, slot);
    this.done.add(slot);
    const dtype = v.aval.dtype;
    this.state.set(v, { node: { k: "view", view: { slot, offset: 0, strides: denseStrides(v.aval.shape) }, dtype: kernelDType(dtype) }, shape: v.aval.shape, dtype });
  }

  private nodeOf(a: Atom, shape: readonly number[]): ENode {
    if (a instanceof Literal) return { k: "const", value: a.value, dtype: kernelDType(a.aval.dtype) };
    const st = this.state.get(a);
    if (!st) throw new BackendError("planner: variable used before definition");
    if (st.shape.length === shape.length) return st.node;
    // A rank-0 operand (clamp bounds, select predicates) broadcast to the iteration shape.
    const b = reindex(st.node, (v) => ({ ...v, strides: shape.map(() => 0) }));
    return b!;
  }

  private lowerEqn(eqn: JaxprEqn): void {
    const prim = eqn.primitive;
    const out = eqn.outputs[0];
    const outShape = out.aval.shape;
    const allKernelTypes = [...eqn.inputs, ...eqn.outputs].every((a) => isKernelDType(a.aval.dtype));
    if (isHigherOrder(prim)) throw new BackendError(`planner: '${prim}' must be inlined or run op by op`);

    if (allKernelTypes && eqn.outputs.length === 1 && this.target.gemmEpilogues && this.gemmTails.size > 0 && !this.noFold.has(eqn) && this.foldIntoGemm(eqn)) return;
    if (prim === "threefry2x32") {
      this.lowerThreefry(eqn);
      return;
    }
    if (allKernelTypes && eqn.outputs.length === 1) {
      const computed = this.fusedNode(eqn, outShape);
      const halfRounds = out.aval.dtype === "float16" && !HALF_EXACT.has(prim) && !(prim === "convert_element_type" && eqn.inputs[0].aval.dtype === "float16");
      const fused = computed && halfRounds ? roundToHalf(computed) : computed;
      if (fused) {
        this.state.set(out, { node: this.annotate(fused, out), shape: outShape, dtype: out.aval.dtype });
        return;
      }
      const view = this.viewNode(eqn);
      if (view) {
        this.state.set(out, { node: view, shape: outShape, dtype: out.aval.dtype });
        if (view.k === "view" && this.isWholeBuffer(view.view, outShape)) {
          this.alias.set(this.slotFor(out), view.view.slot);
        }
        return;
      }
      const reduceOp = REDUCE_OPS[prim];
      if (reduceOp) {
        this.emitReduction(eqn, reduceOp);
        return;
      }
    }
    if (prim === "dot_general" && this.tryGemm(eqn as JaxprEqn<"dot_general">)) return;
    if (prim === "conv_general_dilated" && this.tryConv(eqn as JaxprEqn<"conv_general_dilated">)) return;
    if (lowerIndexing(eqn, this.indexingContext)) return;
    const isDecomposition = (DECOMPOSITIONS as readonly Primitive[]).includes(prim);
    if (this.target.libraryKernels && (!isDecomposition || this.target.decompositionKernels) && lowerLibraryCall(eqn, this.libraryHost)) return;
    if (lowerContraction(eqn, this.contractionContext)) return;
    this.emitFallback(eqn);
  }

  /** The lazy expression of an elementwise equation, or null if it is not one. */
  private fusedNode(eqn: JaxprEqn, shape: readonly number[]): ENode | null {
    const prim = eqn.primitive;
    const dtype = kernelDType(eqn.outputs[0].aval.dtype);
    const args = () => eqn.inputs.map((a) => this.nodeOf(a, shape));
    const unary = UNARY_KERNEL_OPS[prim];
    if (unary) return { k: "op", op: unary, args: args(), dtype };
    const expansion = TRANSCENDENTAL_EXPANSIONS[prim];
    if (expansion && dtype === "float32") return expansion(F32_NODES, ...args());
    const binary = BINARY_KERNEL_OPS[prim];
    if (binary) {
      if (prim === "div" && dtype === "float32") return { k: "op", op: "div", args: args(), dtype };
      return { k: "op", op: binary, args: args(), dtype };
    }
    switch (prim) {
      case "rem":
        return dtype === "float32" ? floatRem(F32_NODES, ...(args() as [ENode, ENode])) : { k: "op", op: "rem", args: args(), dtype };
      case "integer_pow": {
        const y = (eqn.params as ParamsOf<"integer_pow">).y;
        if (eqn.outputs[0].aval.dtype === "float16") return halfIntegerPow(args()[0], y);
        return { k: "op", op: "integer_pow", y, args: args(), dtype };
      }
      case "select_n":
        return eqn.inputs.length === 3 ? { k: "op", op: "select", args: args(), dtype } : null;
      case "clamp":
        return { k: "op", op: "clamp", args: args(), dtype };
      case "convert_element_type":
        return { k: "op", op: "convert", args: args(), dtype };
      case "stop_gradient":
        return args()[0];
      default:
        return null;
    }
  }

  /** Threefry-2x32 becomes two lazy u32 expressions, so its two words fuse into one kernel with their readers. */
  private lowerThreefry(eqn: JaxprEqn): void {
    const shape = eqn.outputs[0].aval.shape;
    const u32: U32Builder<ENode> = {
      constant: (value) => ({ k: "const", value, dtype: "uint32" }),
      op: (op, a, b) => ({ k: "op", op, args: [a, b], dtype: "uint32" }),
    };
    const [k0, k1, x0, x1] = eqn.inputs.map((a) => this.nodeOf(a, shape));
    const words = threefry2x32Expr(u32, k0, k1, x0, x1);
    eqn.outputs.forEach((v, i) => this.state.set(v, { node: this.annotate(words[i], v), shape, dtype: v.aval.dtype }));
  }

  /** Shape equations become rewritten views of their operand's expression. */
  private viewNode(eqn: JaxprEqn): ENode | null {
    const a = eqn.inputs[0];
    if (a === undefined) return null;
    const inShape = a.aval.shape;
    const f = reindexFor(eqn, inShape);
    if (!f) return null;
    const direct = reindex(this.nodeOf(a, inShape), f);
    if (direct) return direct;
    // The expression's views cannot express it (e.g. reshape of a transpose): materialize first.
    const slot = this.materialize(a);
    return reindex({ k: "view", view: { slot, offset: 0, strides: denseStrides(inShape) }, dtype: kernelDType(a.aval.dtype) }, f);
  }

  private annotate(node: ENode, v: Var): ENode {
    if (node.k === "op") node.mat = { slot: this.slotFor(v), offset: 0, strides: denseStrides(v.aval.shape) };
    return node;
  }

  /** Ensure the atom's value is in a slot's buffer (flushing the kernel that computes it). */
  materialize(a: Atom): number {
    const slot = this.request(a);
    if (!(a instanceof Literal)) {
      const k = this.pendingIn.get(a);
      if (k) this.flush(k);
    }
    return this.resolve(slot);
  }

  /** Make the atom an output of the open kernel of its shape (unless it is in memory already). */
  private request(a: Atom): number {
    if (a instanceof Literal) {
      const s = this.newSlot({ kind: "const", bytes: storageBytes(a.aval.dtype), dtype: a.aval.dtype, shape: [], data: [a.value] });
      this.done.add(s);
      return s;
    }
    const slot = this.resolve(this.slotFor(a));
    if (this.done.has(slot)) return slot;
    const st = this.state.get(a)!;
    if (st.node.k === "view" && this.isWholeBuffer(st.node.view, st.shape)) {
      this.alias.set(slot, st.node.view.slot);
      return st.node.view.slot;
    }
    let k = this.pendingIn.get(a);
    if (!k) {
      const key = shapeKey(st.shape);
      k = this.open.get(key);
      if (!k) this.open.set(key, (k = { shape: st.shape, vars: [] }));
      k.vars.push(a);
      this.pendingIn.set(a, k);
    }
    return slot;
  }

  private flush(k: OpenKernel): void {
    if (this.open.get(shapeKey(k.shape)) === k) this.open.delete(shapeKey(k.shape));
    if (k.vars.length === 0) return;
    const build = this.kernelBuild(k.shape);
    const outs = k.vars.map((v) => ({ node: build.visit(this.state.get(v)!.node), dtype: kernelDType(v.aval.dtype) }));
    const outSlots = k.vars.map((v) => this.slotFor(v));
    this.steps.push({ kind: "kernel", spec: build.spec(outs), inputs: build.views, outputs: outSlots });
    outSlots.forEach((s) => this.done.add(s));
    k.vars.forEach((v) => this.pendingIn.delete(v));
  }

  private kernelBuild(shape: readonly number[]): KernelBuild {
    return new KernelBuild(shape, (slot) => {
      const r = this.resolve(slot);
      return this.done.has(r) ? r : null;
    });
  }

  private emitReduction(eqn: JaxprEqn, op: ReduceOp): void {
    const a = eqn.inputs[0];
    const inShape = a.aval.shape;
    const out = eqn.outputs[0];
    const build = this.kernelBuild(inShape);
    const root = build.visit(this.nodeOf(a, inShape));
    const spec = build.spec([{ node: root, dtype: kernelDType(out.aval.dtype) }], { op, axes: (eqn.params as { axes: number[] }).axes });
    if (out.aval.dtype === "float16" && (op === "sum" || op === "prod")) {
      // A float16 sum or product is accumulated in float32 and rounded once, by its readers.
      const acc = this.newSlot({ kind: "temp", bytes: out.aval.size * 4, dtype: "float32", shape: out.aval.shape });
      this.steps.push({ kind: "kernel", spec, inputs: build.views, outputs: [acc] });
      this.done.add(acc);
      const view: ENode = { k: "view", view: { slot: acc, offset: 0, strides: denseStrides(out.aval.shape) }, dtype: "float32" };
      this.state.set(out, { node: this.annotate(roundToHalf(view), out), shape: out.aval.shape, dtype: out.aval.dtype });
      return;
    }
    const slot = this.slotFor(out);
    this.steps.push({ kind: "kernel", spec, inputs: build.views, outputs: [slot] });
    this.defineBuffer(out, slot);
  }

  /** A contiguous buffer holding `a` with its dims in the order `perm`. */
  private permuted(a: Atom, perm: readonly number[], reversed: readonly number[] = []): number {
    if (perm.every((d, i) => d === i) && reversed.length === 0) return this.materialize(a);
    const shape = a.aval.shape;
    const flip = (v: View): View => ({
      slot: v.slot,
      offset: v.offset + reversed.reduce((s, d) => s + (shape[d] - 1) * v.strides[d], 0),
      strides: v.strides.map((s, d) => (reversed.includes(d) ? -s : s)),
    });
    const node = reindex(this.nodeOf(a, shape), (v) => {
      const f = flip(v);
      return { ...f, strides: perm.map((d) => f.strides[d]) };
    })!;
    const outShape = perm.map((d) => shape[d]);
    // Already a finished buffer in this order (a reversed view reversed back): read it in place.
    if (node.k === "view" && isDense(node.view, outShape)) {
      const slot = this.resolve(node.view.slot);
      if (this.done.has(slot) && this.slots[slot].bytes === sizeOf(outShape) * storageBytes(a.aval.dtype)) return slot;
    }
    const slot = this.newSlot({ kind: "temp", bytes: sizeOf(outShape) * storageBytes(a.aval.dtype), dtype: a.aval.dtype, shape: outShape });
    const build = this.kernelBuild(outShape);
    const root = build.visit(node);
    this.steps.push({ kind: "kernel", spec: build.spec([{ node: root, dtype: kernelDType(a.aval.dtype) }]), inputs: build.views, outputs: [slot] });
    this.done.add(slot);
    return slot;
  }

  /**
   * The finished buffer holding `a`'s value with its dims laid out densely in the order
   * `order` (e.g. a transpose of an input), so a library call can read it in place; else null.
   */
  private bufferInOrder(a: Atom, order: readonly number[]): number | null {
    if (a instanceof Literal) return null;
    const st = this.state.get(a);
    if (!st || st.node.k !== "view") return null;
    const v = st.node.view;
    const slot = this.resolve(v.slot);
    const shape = a.aval.shape;
    if (v.offset !== 0 || !this.done.has(slot) || sizeOf(shape) * storageBytes(a.aval.dtype) !== this.slots[slot].bytes) return null;
    const dense = stridesOf(order.map((d) => shape[d]));
    return order.every((d, i) => shape[d] === 1 || v.strides[d] === dense[i]) ? slot : null;
  }

  private tryGemm(eqn: JaxprEqn<"dot_general">): boolean {
    const [lhs, rhs] = eqn.inputs;
    // float16 operands are held as float32, so the float32 GEMM reads them in place; a float16 result is rounded by its readers.
    const float = (d: string) => d === "float32" || d === "float16";
    if (!float(lhs.aval.dtype) || !float(rhs.aval.dtype) || !float(eqn.outputs[0].aval.dtype)) return false;
    if (eqn.outputs[0].aval.dtype === "float16") return this.halfGemm(eqn);
    const [[lc, rc], [lb, rb]] = eqn.params.dimensionNumbers;
    const free = (rank: number, c: number[], b: number[]) => [...Array(rank).keys()].filter((d) => !c.includes(d) && !b.includes(d));
    const lf = free(lhs.aval.ndim, lc, lb);
    const rf = free(rhs.aval.ndim, rc, rb);
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
  private halfGemm(eqn: JaxprEqn<"dot_general">): boolean {
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
  private foldIntoGemm(eqn: JaxprEqn): boolean {
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
  private foldableTail(x: Var, uses: number, shape: readonly number[]): GemmTail | null {
    const tail = this.gemmTails.get(x);
    if (!tail || this.uses.get(x) !== uses || shapeKey(x.aval.shape) !== shapeKey(shape)) return null;
    if (tail.channelKind && (tail.step.epilogue?.ops.length ?? 0) >= CONV_EPILOGUE_MAX_OPS) return null;
    return tail;
  }

  private isZero(a: Atom, shape: readonly number[]): boolean {
    if (a instanceof Literal) return a.value === 0;
    if (!this.state.has(a)) return false;
    const node = this.nodeOf(a, shape);
    return node.k === "const" && node.value === 0;
  }

  /** `h = le(x, 0)` whose only consumer is `select_n(h, x, 0)`: held back until that select folds it. */
  private holdRelu(eqn: JaxprEqn): boolean {
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
  private foldRelu(eqn: JaxprEqn): boolean {
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
  private epilogueOperand(v: Atom, tail: GemmTail, shape: readonly number[]): { operand: EpilogueOperand; slot?: number } | null {
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
  private extendTail(x: Var, out: Var, tail: GemmTail, op: EpilogueOp, slot: number | undefined): void {
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
  private gemmOperand(x: Atom, plain: number[], transposed: number[]): { slot: number; trans: boolean } {
    const inPlace = this.bufferInOrder(x, plain);
    if (inPlace !== null) return { slot: inPlace, trans: false };
    const inPlaceT = this.bufferInOrder(x, transposed);
    if (inPlaceT !== null) return { slot: inPlaceT, trans: true };
    const natural = [...Array(x.aval.ndim).keys()].join(",");
    if (plain.join(",") === natural) return { slot: this.materialize(x), trans: false };
    if (transposed.join(",") === natural) return { slot: this.materialize(x), trans: true };
    return { slot: this.permuted(x, plain), trans: false };
  }

  private tryConv(eqn: JaxprEqn<"conv_general_dilated">): boolean {
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
  private tryConvGradient(eqn: JaxprEqn<"conv_general_dilated">): boolean {
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

  /** The planner as indexing.ts sees it. */
  private readonly indexingContext: IndexingContext<ENode> = {
    windowKernels: () => this.target.windowKernels,
    bufferView: (a) => {
      const st = a instanceof Literal ? undefined : this.state.get(a);
      if (st?.node.k === "view") {
        const slot = this.resolve(st.node.view.slot);
        if (this.done.has(slot)) return { ...st.node.view, slot };
      }
      return { slot: this.materialize(a), offset: 0, strides: denseStrides(a.aval.shape) };
    },
    nodeOf: (a, shape) => this.nodeOf(a, shape),
    viewNode: (view, dtype) => ({ k: "view", view: { ...view, strides: [...view.strides] }, dtype }),
    opNode: (op, args, dtype) => ({ k: "op", op, args, dtype }),
    constNode: (value, dtype) => ({ k: "const", value, dtype }),
    constSlot: (data, dtype) => {
      const slot = this.newSlot({ kind: "const", bytes: data.length * storageBytes(dtype), dtype, shape: [data.length], data });
      this.done.add(slot);
      return slot;
    },
    slotFor: (v) => this.slotFor(v),
    emitDense: (node, shape, dtype, slot) => {
      const build = this.kernelBuild(shape);
      const root = build.visit(node);
      this.steps.push({ kind: "kernel", spec: build.spec([{ node: root, dtype }]), inputs: build.views, outputs: [slot] });
      this.done.add(slot);
    },
    emitWindow: (step) => this.steps.push(step),
    defineBuffer: (v, slot) => this.defineBuffer(v, slot),
    defineLazy: (v, node) => this.state.set(v, { node: this.annotate(node, v), shape: v.aval.shape, dtype: v.aval.dtype }),
  };

  private readonly libraryHost: LibraryLoweringHost = {
    materialize: (a) => this.materialize(a),
    permuted: (a, perm) => this.permuted(a, perm),
    slotFor: (v) => this.slotFor(v),
    define: (v, slot) => this.defineBuffer(v, slot),
    defineView: (v, slot, strides) => {
      this.done.add(slot);
      this.state.set(v, { node: { k: "view", view: { slot, offset: 0, strides }, dtype: kernelDType(v.aval.dtype) }, shape: v.aval.shape, dtype: v.aval.dtype });
    },
    temp: (shape, dtype) => this.newSlot({ kind: "temp", bytes: sizeOf(shape) * storageBytes(dtype), dtype, shape }),
    push: (step) => this.steps.push(step),
    converted: (a, dtype) => {
      const shape = a.aval.shape;
      const slot = this.newSlot({ kind: "temp", bytes: sizeOf(shape) * storageBytes(dtype), dtype, shape });
      const build = this.kernelBuild(shape);
      const root = build.visit({ k: "op", op: "convert", args: [this.nodeOf(a, shape)], dtype: kernelDType(dtype) });
      this.steps.push({ kind: "kernel", spec: build.spec([{ node: root, dtype: kernelDType(dtype) }]), inputs: build.views, outputs: [slot] });
      this.done.add(slot);
      return slot;
    },
    defineConverted: (v, slot, from) => {
      const read: ENode = { k: "view", view: { slot, offset: 0, strides: denseStrides(v.aval.shape) }, dtype: kernelDType(from) };
      const node: ENode = { k: "op", op: "convert", args: [read], dtype: kernelDType(v.aval.dtype) };
      this.state.set(v, { node: this.annotate(node, v), shape: v.aval.shape, dtype: v.aval.dtype });
    },
  };

  /** The planner as contraction.ts sees it. */
  private readonly contractionContext: ContractionContext<ENode> = {
    readOver: (a, reads) => reindex(this.nodeOf(a, a.aval.shape), (v) => ({ ...v, strides: reads.map((r) => (r ? r.scale * v.strides[r.dim] : 0)) }))!,
    padded: (a, config) => {
      const shape = a.aval.shape.map((n, d) => config[d][0] + config[d][1] + n + Math.max(0, n - 1) * config[d][2]);
      const zero = new Literal(0, new ShapedArray([], a.aval.dtype));
      const eqn = new JaxprEqn("pad", [a, zero], { paddingConfig: config.map((c) => [...c] as [number, number, number]) }, [new Var(new ShapedArray(shape, a.aval.dtype))]);
      return lowerIndexing(eqn, this.indexingContext) ? eqn.outputs[0] : null;
    },
    convert: (node, from, to) => (kernelDType(from) === to ? node : { k: "op", op: "convert", args: [node], dtype: to }),
    mul: (a, b, dtype) => ({ k: "op", op: "mul", args: [a, b], dtype }),
    sum: (node, shape, contracted, acc, out, outStrides) => {
      const build = this.kernelBuild(shape);
      const root = build.visit(node);
      const axes = [...Array(contracted).keys()].map((i) => shape.length - contracted + i);
      const spec = build.spec([{ node: root, dtype: acc }], { op: "sum", axes });
      const outDType = out.aval.dtype;
      const dense = stridesOf(out.aval.shape).every((s, d) => out.aval.shape[d] === 1 || s === outStrides[d]);
      if (dense && kernelDType(outDType) === acc && outDType !== "float16") {
        const slot = this.slotFor(out);
        this.steps.push({ kind: "kernel", spec, inputs: build.views, outputs: [slot] });
        this.defineBuffer(out, slot);
        return;
      }
      const kept = shape.slice(0, shape.length - contracted);
      const slot = this.newSlot({ kind: "temp", bytes: sizeOf(kept) * storageBytes(acc), dtype: acc, shape: kept });
      this.steps.push({ kind: "kernel", spec, inputs: build.views, outputs: [slot] });
      this.done.add(slot);
      const strides = outStrides.map((s, d) => (out.aval.shape[d] === 1 ? 0 : s));
      let value: ENode = { k: "view", view: { slot, offset: 0, strides }, dtype: acc };
      if (kernelDType(outDType) !== acc) value = { k: "op", op: "convert", args: [value], dtype: kernelDType(outDType) };
      if (outDType === "float16") value = roundToHalf(value);
      this.state.set(out, { node: value.k === "op" ? this.annotate(value, out) : value, shape: out.aval.shape, dtype: outDType });
    },
  };

  private emitFallback(eqn: JaxprEqn): void {
    const inputs = eqn.inputs.map((a) => this.materialize(a));
    const outputs = eqn.outputs.map((v) => this.slotFor(v));
    // Sound: the planner never emits a higher-order primitive, and an equation's params are its primitive's.
    const step = {
      kind: "fallback",
      prim: eqn.primitive,
      params: eqn.params,
      inputs,
      outputs,
      inAvals: eqn.inputs.map((a) => a.aval),
      outAvals: eqn.outputs.map((v) => v.aval),
    } as HostStep;
    this.steps.push(step);
    eqn.outputs.forEach((v, i) => this.defineBuffer(v, outputs[i]));
  }
}

/** Collects the nodes and input views of one kernel. */
class KernelBuild {
  readonly nodes: KernelNode[] = [];
  readonly views: View[] = [];
  private readonly inputIndex = new Map<string, number>();
  private readonly memo = new Map<ENode, number>();

  constructor(
    readonly shape: readonly number[],
    /** The slot holding `slot`'s value when it is in memory already, else null. */
    private readonly inMemory: (slot: number) => number | null,
  ) {}

  private input(v: View, dtype: KDType): number {
    const view = { ...v, slot: this.inMemory(v.slot) ?? v.slot };
    // One buffer may be read as two dtypes (a bitcast): those are two inputs.
    const key = `${viewKey(view)}:${dtype}`;
    let idx = this.inputIndex.get(key);
    if (idx === undefined) {
      idx = this.views.length;
      this.views.push(view);
      this.inputIndex.set(key, idx);
      this.dtypes.push(dtype);
    }
    this.nodes.push({ op: "input", input: idx });
    return this.nodes.length - 1;
  }
  readonly dtypes: KDType[] = [];

  visit(node: ENode): number {
    const hit = this.memo.get(node);
    if (hit !== undefined) return hit;
    let idx: number;
    if (node.k === "view") idx = this.input(node.view, node.dtype);
    else if (node.k === "const") {
      this.nodes.push({ op: "const", value: node.value, dtype: node.dtype });
      idx = this.nodes.length - 1;
    } else if (node.mat && this.inMemory(node.mat.slot) !== null) {
      // Already in memory: read it instead of recomputing.
      idx = this.input(node.mat, node.dtype);
    } else {
      const args = node.args.map((a) => this.visit(a));
      if (node.op === "integer_pow") this.nodes.push({ op: "integer_pow", args: [args[0]], y: node.y!, dtype: node.dtype });
      else this.nodes.push({ op: node.op, args, dtype: node.dtype });
      idx = this.nodes.length - 1;
    }
    this.memo.set(node, idx);
    return idx;
  }

  spec(outputs: { node: number; dtype: KDType }[], reduction?: { op: ReduceOp; axes: number[] }): KernelSpec {
    return {
      shape: [...this.shape],
      inputs: this.views.map((v, i) => ({ dtype: this.dtypes[i], strides: v.strides })),
      nodes: this.nodes,
      outputs,
      ...(reduction ? { reduction } : {}),
    };
  }
}

/** Bytes per element of a slot as the plan counts them (float16 is held widened to float32; bool is one byte in wasm). */
export function storageBytes(dtype: DType): number {
  return dtype === "float16" ? 4 : byteWidth(dtype);
}

function slotShape(aval: ShapedArray): Pick<SlotInfo, "bytes" | "dtype" | "shape"> {
  return { bytes: aval.size * storageBytes(aval.dtype), dtype: aval.dtype, shape: aval.shape };
}
