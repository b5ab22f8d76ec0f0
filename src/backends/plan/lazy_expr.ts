// Lazy elementwise expressions of the planner: a value not yet in memory is an
// ENode, a DAG of scalar ops over strided views of materialized buffers. Shape
// equations rewrite the views (reindexFor/reindex); KernelBuild turns the
// expressions one kernel computes into its KernelSpec.

import { type DType } from "../../core/dtype";
import { typedEqn, type JaxprEqn } from "../../core/ir";
import { stridesOf } from "../../core/shape";
import type { KDType, KernelNode, KernelSpec, ReduceOp, ScalarOp } from "./kernel_graph";
import type { View } from "./lowered_program";
import type { F32Builder } from "./transcendental";

/** A lazy value: a DAG of scalar ops over views of materialized buffers. */
export type ENode =
  | { k: "view"; view: View; dtype: KDType }
  | { k: "const"; value: number; dtype: KDType }
  | { k: "op"; op: ScalarOp | "integer_pow"; y?: number; args: ENode[]; dtype: KDType; mat?: View };

// float16 is held widened to float32 in device memory: kernels compute it in float32 and
// round every float16 result to half precision (a round_f16 node) before it is stored or used.
const KDTYPES = new Set<DType>(["float32", "int32", "uint32", "bool", "float16"]);
export const isKernelDType = (d: DType): boolean => KDTYPES.has(d);
/** The dtype a kernel computes a value of dtype `d` in. */
export const kernelDType = (d: DType): KDType => (d === "float16" ? "float32" : (d as KDType));

export const shapeKey = (s: readonly number[]) => s.join("x");
const viewKey = (v: View) => `${v.slot}@${v.offset}:${v.strides.join(",")}`;
export const denseStrides = (shape: readonly number[]) => stridesOf(shape).map((s, i) => (shape[i] === 1 ? 0 : s));
export const isDense = (v: View, shape: readonly number[]) => v.offset === 0 && v.strides.every((s, i) => shape[i] === 1 || s === stridesOf(shape)[i]);

/** Rewrites views for a shape equation; null when a view cannot express it. */
export type Reindex = (v: View) => View | null;

export function reindexFor(anyEqn: JaxprEqn, inShape: readonly number[]): Reindex | null {
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

export const roundToHalf = (node: ENode): ENode => ({ k: "op", op: "round_f16", args: [node], dtype: "float32" });

/** x ** y for float16 by binary exponentiation with every product rounded to half, as the
 * interpreter (and JAX) computes it in the element type; the caller rounds the result. */
export function halfIntegerPow(x: ENode, y: number): ENode {
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
export const F32_NODES: F32Builder<ENode> = {
  constant: (value) => ({ k: "const", value, dtype: "float32" }),
  op: (op, ...args) => ({ k: "op", op, args, dtype: "float32" }),
  less: (a, b) => ({ k: "op", op: "lt", args: [a, b], dtype: "bool" }),
};

/** Apply a reindexing to every view of an expression, keeping shared subtrees shared. */
export function reindex(node: ENode, f: Reindex, memo = new Map<ENode, ENode | null>()): ENode | null {
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

/** Collects the nodes and input views of one kernel. */
export class KernelBuild {
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
