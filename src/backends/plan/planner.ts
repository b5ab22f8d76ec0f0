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
// The result is a list of steps over numbered slots (lowered_program.ts); the
// backend's buffer plan gives intermediate slots workspace buffers, reused once
// their last reader ran. The rooms: lazy_expr.ts (expressions, views, kernel
// building), fusion_state.ts (slots, open kernels, materialization),
// gemm_conv_lowering.ts (GEMM/conv steps and GEMM epilogues), this file (the
// equation dispatch and the contexts of indexing/library/contraction lowering).

import { ShapedArray } from "../../core/aval";
import { BackendError } from "../../core/errors";
import { JaxprEqn, Literal, Var, typedEqn, type ClosedJaxpr, type TypedEqn } from "../../core/ir";
import { isHigherOrder, type BinaryElementwise, type Primitive, type Reduction, type UnaryElementwise } from "../../core/primitives";
import { range, sizeOf, stridesOf } from "../../core/shape";
import type { ReduceOp, ScalarOp } from "./kernel_graph";
import { lowerIndexing, type IndexingContext } from "./indexing";
import { lowerLibraryCall, type LibraryLoweringHost } from "./library";
import { lowerContraction, type ContractionContext } from "./contraction";
import { threefry2x32Expr, type U32Builder } from "./threefry";
import { TRANSCENDENTAL_EXPANSIONS, type ExpandedPrimitive, type Expansion } from "./transcendental";
import { floatRem } from "./float_rem";
import { F32_NODES, denseStrides, halfIntegerPow, isKernelDType, kernelDType, reindex, reindexFor, roundToHalf, type ENode } from "./lazy_expr";
import { GemmConvLowering } from "./gemm_conv_lowering";
import { slotShape, storageBytes, type HostStep, type LoweredProgram, type PlanTarget } from "./lowered_program";

/** Equations whose float16 result needs no rounding: it is one of their float16 operands' values. */
const HALF_EXACT = new Set<Primitive>(["neg", "abs", "sign", "floor", "ceil", "round", "max", "min", "select_n", "clamp", "stop_gradient"]);

/** Elementwise primitives fusedNode builds by hand: rem (exact float remainder, floatRem) and integer_pow (its exponent is a param). */
type BuiltByHand = "rem" | "integer_pow";
type WithKernelOp = Exclude<UnaryElementwise | BinaryElementwise, ExpandedPrimitive | BuiltByHand>;

/**
 * The kernel op of every elementwise primitive that is neither expanded into
 * other ops (TRANSCENDENTAL_EXPANSIONS) nor built by hand in fusedNode. Typed
 * over the rest of the family: a new elementwise primitive must choose one of
 * the three (tsc says so) rather than become a host step by omission. The code
 * generators (wasm kernel_emit.ts, WebGPU wgsl/scalar.ts) are typed over ScalarOp.
 */
const ELEMENTWISE_KERNEL_OPS: { [P in WithKernelOp]: ScalarOp } = {
  neg: "neg", sign: "sign", floor: "floor", ceil: "ceil", round: "round", is_finite: "is_finite", abs: "abs", not: "not",
  exp: "exp", log: "log", log1p: "log1p", expm1: "expm1", sqrt: "sqrt", rsqrt: "rsqrt", logistic: "logistic", erf: "erf",
  sin: "sin", cos: "cos", tanh: "tanh",
  add: "add", sub: "sub", mul: "mul", div: "div", pow: "pow", max: "max", min: "min", and: "and", or: "or", xor: "xor",
  eq: "eq", ne: "ne", lt: "lt", le: "le", gt: "gt", ge: "ge", shift_left: "shift_left", shift_right_logical: "shift_right_logical",
};
const REDUCE_OPS: { [P in Reduction]: ReduceOp } = {
  reduce_sum: "sum", reduce_max: "max", reduce_min: "min", reduce_prod: "prod", reduce_and: "and", reduce_or: "or",
};

/** Primitives that read their operands from memory (never fused into a kernel's expression). */
const MEMORY_READERS = new Set<Primitive>(["dot_general", "conv_general_dilated"]);
/** Shape equations whose result is their operand's buffer read in the same order. */
const SHAPE_VIEWS = new Set<Primitive>(["reshape", "squeeze", "expand_dims"]);

/** Whether `key` is one of `table`'s own keys. */
const isKeyOf = <K extends string>(table: { readonly [P in K]: unknown }, key: string): key is K => Object.hasOwn(table, key);
/** Narrows an equation to the reductions' (REDUCE_OPS) with their params. */
const isReductionEqn = (eqn: TypedEqn): eqn is Extract<TypedEqn, { primitive: Reduction }> => isKeyOf(REDUCE_OPS, eqn.primitive);

/** Lowers a jaxpr equation by equation: fused elementwise and shape equations, reductions, then GEMM/conv, indexing, library calls, contractions, host steps. */
export class Planner extends GemmConvLowering {
  constructor(
    private readonly closed: ClosedJaxpr,
    target: PlanTarget,
  ) {
    super(target);
  }

  static plan(closed: ClosedJaxpr, target: PlanTarget): LoweredProgram {
    return new Planner(closed, target).run();
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
    // A view into another buffer is never handed out: an output that is one gets a copy.
    const resolved = outputs.map((s) => this.resolve(s)).map((s) => (this.slots[s].kind === "view" ? this.copyOf(s) : s));
    const fresh = new Set(resolved.filter((s) => this.slots[s].kind === "temp"));
    const varSlots = new Map([...this.slotOfVar].map(([v, s]) => [v, this.resolve(s)]));
    const viewSlots = new Map<Var, number>();
    for (const [v, st] of this.state) if (st.node.k === "view") viewSlots.set(v, this.resolve(st.node.view.slot));
    return { slots: this.slots, steps: this.steps, outputs: resolved, freshOutputs: fresh, varSlots, viewSlots };
  }

  /**
   * A reduction's operand that is an expression another consumer will read
   * from memory anyway (a GEMM or a conv operand, a program output) is
   * materialized before the reduction, which then reads it from there instead
   * of computing the expression a second time (a bias gradient next to the
   * GEMMs of the same dlogits).
   */
  private materializeFirstIfReadFromMemory(eqn: JaxprEqn): void {
    const a = eqn.inputs[0];
    if (a instanceof Literal || this.state.get(a)?.node.k !== "op") return;
    // Through reshapes: a reshaped view of `a` read from memory reads `a`'s buffer. (Not through a transpose: a GEMM
    // may then copy the expression once in the transposed order, which recomputing it for the reduction beats.)
    const readFromMemory = (v: Var): boolean =>
      this.uses.get(v) === Infinity ||
      (this.consumers.get(v) ?? []).some((e) => e !== eqn && (MEMORY_READERS.has(e.primitive) || (SHAPE_VIEWS.has(e.primitive) && readFromMemory(e.outputs[0]))));
    if (readFromMemory(a)) this.materialize(a);
  }

  /** A new temp slot holding a dense copy of slot `s`'s buffer. */
  private copyOf(s: number): number {
    const { shape, dtype } = this.slots[s];
    const slot = this.newSlot({ kind: "temp", bytes: this.slots[s].bytes, dtype, shape });
    const build = this.kernelBuild(shape);
    const root = build.visit({ k: "view", view: { slot: s, offset: 0, strides: denseStrides(shape) }, dtype: kernelDType(dtype) });
    this.steps.push({ kind: "kernel", spec: build.spec([{ node: root, dtype: kernelDType(dtype) }]), inputs: build.views, outputs: [slot] });
    this.done.add(slot);
    return slot;
  }

  protected lowerEqn(eqn: JaxprEqn): void {
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
      const reduction = typedEqn(eqn);
      if (isReductionEqn(reduction)) {
        this.materializeFirstIfReadFromMemory(reduction);
        this.emitReduction(reduction, REDUCE_OPS[reduction.primitive]);
        return;
      }
    }
    const typed = typedEqn(eqn);
    if (typed.primitive === "dot_general" && this.tryGemm(typed)) return;
    if (typed.primitive === "conv_general_dilated" && this.tryConv(typed)) return;
    if (lowerIndexing(eqn, this.indexingContext)) return;
    const hasKernel = !isKeyOf(this.target.decompositionKernels, prim) || this.target.decompositionKernels[prim];
    if (this.target.libraryKernels && hasKernel && lowerLibraryCall(eqn, this.libraryHost)) return;
    if (lowerContraction(eqn, this.contractionContext)) return;
    this.emitFallback(eqn);
  }

  /** The lazy expression of an elementwise equation, or null if it is not one. */
  private fusedNode(eqn: JaxprEqn, shape: readonly number[]): ENode | null {
    const prim = eqn.primitive;
    const dtype = kernelDType(eqn.outputs[0].aval.dtype);
    const args = () => eqn.inputs.map((a) => this.nodeOf(a, shape));
    if (isKeyOf(ELEMENTWISE_KERNEL_OPS, prim)) return { k: "op", op: ELEMENTWISE_KERNEL_OPS[prim], args: args(), dtype };
    if (isKeyOf(TRANSCENDENTAL_EXPANSIONS, prim)) {
      const expansion: Expansion = TRANSCENDENTAL_EXPANSIONS[prim];
      return dtype === "float32" ? expansion(F32_NODES, ...args()) : null;
    }
    const typed = typedEqn(eqn);
    switch (typed.primitive) {
      case "rem":
        return dtype === "float32" ? floatRem(F32_NODES, ...(args() as [ENode, ENode])) : { k: "op", op: "rem", args: args(), dtype };
      case "integer_pow": {
        const y = typed.params.y;
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
    tempSlot: (shape, dtype) => this.newSlot({ kind: "temp", bytes: sizeOf(shape) * storageBytes(dtype), dtype, shape }),
    emitDense: (node, shape, dtype, slot, operandCopy) => {
      const build = this.kernelBuild(shape);
      const root = build.visit(node);
      this.steps.push({ kind: "kernel", spec: build.spec([{ node: root, dtype }]), inputs: build.views, outputs: [slot], ...(operandCopy ? { operandCopy: true as const } : {}) });
      this.done.add(slot);
    },
    plainBuffer: (a) => {
      const st = a instanceof Literal ? undefined : this.state.get(a);
      if (st?.node.k !== "view") return null;
      const slot = this.resolve(st.node.view.slot);
      return this.isWholeBuffer({ ...st.node.view, slot }, st.shape) ? slot : null;
    },
    overwritable: (a) => {
      if (a instanceof Literal || this.uses.get(a) !== 1) return null;
      // Its own slot, not another variable's buffer that it aliases (a reshape of a value read later).
      const own = this.slotOfVar.get(a);
      if (own === undefined || this.resolve(own) !== own || this.slots[own].kind !== "temp") return null;
      const st = this.state.get(a);
      return st?.node.k === "view" && st.node.view.slot === own && this.isWholeBuffer(st.node.view, st.shape) ? own : null;
    },
    emitWindow: (step) => this.steps.push(step),
    dynamicViews: () => this.target.dynamicViews === true,
    defineDynamicView: (v, src, starts) => {
      const view = this.newSlot({ kind: "view", ...slotShape(v.aval) });
      this.steps.push({ kind: "dynamic_view", src, view, starts });
      this.defineBuffer(v, view);
    },
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
      const axes = range(shape.length - contracted, shape.length);
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
