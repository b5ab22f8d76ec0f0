// The planner's state of values and slots: which variables are lazy
// expressions, which are in memory, the open fused kernel of each shape, and
// how a value is materialized into a slot (request/flush, reductions,
// permuted copies). The GEMM/conv lowering (gemm_conv_lowering.ts) and the
// equation dispatch (planner.ts) build on it.

import type { DType } from "../../core/dtype";
import { Literal, type Atom, type JaxprEqn, type Var } from "../../core/ir";
import type { Reduction } from "../../core/primitives";
import { BackendError } from "../../core/errors";
import { sizeOf, stridesOf } from "../../core/shape";
import type { ReduceOp } from "./kernel_graph";
import { KernelBuild, denseStrides, isDense, kernelDType, reindex, roundToHalf, shapeKey, type ENode } from "./lazy_expr";
import { storageBytes, type SlotInfo, type Step, type View } from "./lowered_program";

export interface VarState {
  node: ENode;
  shape: readonly number[];
  dtype: DType;
}

interface OpenKernel {
  shape: readonly number[];
  vars: Var[];
}


/** Slots, lazy values and open kernels of one plan; materializes values into slots. */
export abstract class FusionState {
  readonly slots: SlotInfo[] = [];
  readonly steps: Step[] = [];
  protected readonly slotOfVar = new Map<Var, number>();
  protected readonly state = new Map<Var, VarState>();
  protected readonly done = new Set<number>();
  protected readonly open = new Map<string, OpenKernel>();
  protected readonly pendingIn = new Map<Var, OpenKernel>();
  /** A var whose value is exactly another slot's dense buffer. */
  protected readonly alias = new Map<number, number>();

  protected newSlot(info: SlotInfo): number {
    this.slots.push(info);
    return this.slots.length - 1;
  }

  protected slotFor(v: Var): number {
    let s = this.slotOfVar.get(v);
    if (s === undefined) {
      s = this.newSlot({ kind: "temp", bytes: v.aval.size * storageBytes(v.aval.dtype), dtype: v.aval.dtype, shape: v.aval.shape });
      this.slotOfVar.set(v, s);
    }
    return s;
  }

  protected resolve(slot: number): number {
    let s = slot;
    for (let a = this.alias.get(s); a !== undefined; a = this.alias.get(s)) s = a;
    return s;
  }

  /** True when reading `view` over `shape` reads exactly a finished buffer, in order. */
  protected isWholeBuffer(view: View, shape: readonly number[]): boolean {
    const info = this.slots[view.slot];
    return isDense(view, shape) && this.done.has(view.slot) && sizeOf(shape) * storageBytes(info.dtype) === info.bytes;
  }

  protected defineBuffer(v: Var, slot: number): void {
    this.slotOfVar.set(v, slot);
    this.done.add(slot);
    const dtype = v.aval.dtype;
    this.state.set(v, { node: { k: "view", view: { slot, offset: 0, strides: denseStrides(v.aval.shape) }, dtype: kernelDType(dtype) }, shape: v.aval.shape, dtype });
  }

  protected nodeOf(a: Atom, shape: readonly number[]): ENode {
    if (a instanceof Literal) return { k: "const", value: a.value, dtype: kernelDType(a.aval.dtype) };
    const st = this.state.get(a);
    if (!st) throw new BackendError("planner: variable used before definition");
    if (st.shape.length === shape.length) return st.node;
    // A rank-0 operand (clamp bounds, select predicates) broadcast to the iteration shape.
    const b = reindex(st.node, (v) => ({ ...v, strides: shape.map(() => 0) }));
    return b!;
  }

  protected annotate(node: ENode, v: Var): ENode {
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
  protected request(a: Atom): number {
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

  protected flush(k: OpenKernel): void {
    if (this.open.get(shapeKey(k.shape)) === k) this.open.delete(shapeKey(k.shape));
    if (k.vars.length === 0) return;
    const build = this.kernelBuild(k.shape);
    const outs = k.vars.map((v) => ({ node: build.visit(this.state.get(v)!.node), dtype: kernelDType(v.aval.dtype) }));
    const outSlots = k.vars.map((v) => this.slotFor(v));
    this.steps.push({ kind: "kernel", spec: build.spec(outs), inputs: build.views, outputs: outSlots });
    outSlots.forEach((s) => this.done.add(s));
    k.vars.forEach((v) => this.pendingIn.delete(v));
  }

  protected kernelBuild(shape: readonly number[]): KernelBuild {
    return new KernelBuild(shape, (slot) => {
      const r = this.resolve(slot);
      return this.done.has(r) ? r : null;
    });
  }

  protected emitReduction(eqn: JaxprEqn<Reduction>, op: ReduceOp): void {
    const a = eqn.inputs[0];
    const inShape = a.aval.shape;
    const out = eqn.outputs[0];
    const build = this.kernelBuild(inShape);
    const root = build.visit(this.nodeOf(a, inShape));
    const spec = build.spec([{ node: root, dtype: kernelDType(out.aval.dtype) }], { op, axes: eqn.params.axes });
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
  protected permuted(a: Atom, perm: readonly number[], reversed: readonly number[] = []): number {
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
  protected bufferInOrder(a: Atom, order: readonly number[]): number | null {
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
}
