// Planning of the equations the fused kernels cannot express but a target's
// axis/window kernels can (wasm: the Rust kernels, wasm/library_steps.ts):
// argmax/argmin, cumsum/cumprod/cummax/cummin, sort, top_k,
// reduce_window_{sum,max,min}, select_and_scatter_add and
// select_and_gather_add, and the matrix decompositions (cholesky, lu, qr,
// eigh, svd, triangular_solve) — so they run on the device instead of as
// host fallback steps. float16 operands are held as
// float32 and rounded to half precision on every store by the kernels.
// Returns false for what the kernels do not cover; the caller then falls back.

import type { DType } from "../../core/dtype";
import { typedEqn, type Atom, type JaxprEqn, type Var } from "../../core/ir";
import type { Decomposition, ReduceWindowParams } from "../../core/primitives";
import { complementDims, sizeOf, stridesOf } from "../../core/shape";
import type { Fold, LibraryCall, LibraryStep } from "./kernel_graph";

/** What the lowering offers a library call: operand buffers in, result buffers out. */
export interface LibraryLoweringHost {
  /** A dense buffer holding `a` in its natural row-major order. */
  materialize(a: Atom): number;
  /** A dense buffer holding `a` with its dims in the order `perm` (kernel dtypes only). */
  permuted(a: Atom, perm: readonly number[]): number;
  /** The slot that will hold `v`'s value. */
  slotFor(v: Var): number;
  /** `v` is now the whole of `slot`'s buffer. */
  define(v: Var, slot: number): void;
  /** `v` is now a strided view of a finished `slot`. */
  defineView(v: Var, slot: number, strides: number[]): void;
  /** A dense buffer holding `a` converted to `dtype` (a fused kernel). */
  converted(a: Atom, dtype: DType): number;
  /** `v` is now the finished `slot`'s values (of dtype `from`) converted to `v`'s dtype, lazily. */
  defineConverted(v: Var, slot: number, from: DType): void;
  /** A fresh workspace slot. */
  temp(shape: readonly number[], dtype: DType): number;
  push(step: LibraryStep): void;
}

const MAX_WINDOW_RANK = 8; // wasm/src/window.rs MAX_RANK

const CUMULATIVE_FOLD = { cumsum: "add", cumprod: "mul", cummax: "max", cummin: "min" } as const satisfies Record<string, Fold>;
const WINDOW_FOLD = { reduce_window_sum: "add", reduce_window_max: "max", reduce_window_min: "min" } as const;

/** [outer, n, inner] of a row-major shape split at `axis`. */
function aroundAxis(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

/** The window.rs parameter block. */
function windowBlock(inShape: readonly number[], outShape: readonly number[], p: ReduceWindowParams): number[] {
  const block = [inShape.length];
  inShape.forEach((n, d) => block.push(n, outShape[d], p.windowDimensions[d], p.windowStrides[d], p.padding[d][0], p.baseDilation[d], p.windowDilation[d]));
  return block;
}

/** Emit the library step(s) for `eqn`; false when no kernel covers it. */
export function lowerLibraryCall(eqn: JaxprEqn, host: LibraryLoweringHost): boolean {
  const call = (c: LibraryCall, inputs: Atom[], scratch: number[] = []) => {
    const ins = inputs.map((a) => host.materialize(a));
    const outs = eqn.outputs.map((v) => host.slotFor(v));
    host.push({ kind: "library", call: c, inputs: ins, outputs: outs, scratch });
    eqn.outputs.forEach((v, i) => host.define(v, outs[i]));
    return true;
  };
  const x = eqn.inputs[0];
  const dtype = x?.aval.dtype;
  const typed = typedEqn(eqn);
  switch (typed.primitive) {
    case "argmax":
    case "argmin": {
      const { axis } = typed.params;
      const idx = eqn.outputs[0].aval.dtype;
      if (idx !== "int32" && idx !== "uint32") return false;
      return call({ op: "argreduce", dtype, isMin: eqn.primitive === "argmin", ...aroundAxis(x.aval.shape, axis) }, [x]);
    }
    case "cumsum":
    case "cumprod":
    case "cummax":
    case "cummin": {
      const { axis, reverse } = typed.params;
      const fold = CUMULATIVE_FOLD[typed.primitive];
      if (dtype === "bool") return boolScan(eqn, host, fold, reverse, axis);
      return call({ op: "cumulative", dtype, fold, reverse, ...aroundAxis(x.aval.shape, axis) }, [x]);
    }
    case "reduce_window_sum":
    case "reduce_window_max":
    case "reduce_window_min": {
      if (x.aval.ndim > MAX_WINDOW_RANK || (typed.primitive === "reduce_window_sum" && dtype === "bool")) return false;
      const window = windowBlock(x.aval.shape, eqn.outputs[0].aval.shape, typed.params);
      return call({ op: "reduce_window", dtype, fold: WINDOW_FOLD[typed.primitive], window }, [x]);
    }
    case "select_and_scatter_add": {
      const [source, operand] = eqn.inputs;
      const p = typed.params;
      if (operand.aval.ndim > MAX_WINDOW_RANK || dtype === "bool") return false;
      const ones = operand.aval.shape.map(() => 1);
      const window = windowBlock(operand.aval.shape, source.aval.shape, { ...p, baseDilation: ones, windowDilation: ones });
      return call({ op: "select_and_scatter_add", dtype, ge: p.selectPrim === "ge", window, operandSize: operand.aval.size }, [source, operand]);
    }
    case "select_and_gather_add": {
      const [tangents, operand] = eqn.inputs;
      const p = typed.params;
      if (operand.aval.ndim > MAX_WINDOW_RANK || dtype === "bool") return false;
      const window = windowBlock(operand.aval.shape, eqn.outputs[0].aval.shape, p);
      return call({ op: "select_and_gather_add", dtype, ge: p.selectPrim === "ge", window }, [tangents, operand]);
    }
    case "top_k": {
      const shape = x.aval.shape;
      const n = shape[shape.length - 1];
      const { k } = typed.params;
      return call({ op: "top_k", dtype, rows: n === 0 ? 0 : x.aval.size / n, n, k }, [x]);
    }
    case "sort":
      return lowerSort(typed, host);
    case "cholesky":
    case "lu":
    case "qr":
    case "eigh":
    case "svd":
    case "triangular_solve":
      return lowerDecomposition(typed, call);
    default:
      return false;
  }
}

/** A decomposition on float32 stacks [...batch, m, n] (float16 stays a host step). */
function lowerDecomposition(eqn: { [P in Decomposition]: JaxprEqn<P> }[Decomposition], call: (c: LibraryCall, inputs: Atom[]) => boolean): boolean {
  const x = eqn.inputs[0].aval;
  if (eqn.inputs.some((a) => a.aval.dtype !== "float32")) return false;
  const m = x.shape[x.ndim - 2];
  const n = x.shape[x.ndim - 1];
  const batch = sizeOf(x.shape.slice(0, -2));
  const prim = eqn.primitive;
  const full = eqn.primitive === "qr" || eqn.primitive === "svd" ? eqn.params.fullMatrices : false;
  const b = eqn.inputs[1]?.aval;
  const solve = eqn.primitive === "triangular_solve" ? eqn.params : null;
  const rows = b ? b.shape[b.ndim - 2] : 0;
  const cols = b ? b.shape[b.ndim - 1] : 0;
  return call({ op: "decomposition", prim, batch, m, n, full, solve, rows, cols }, eqn.inputs);
}

/**
 * Sort along `dimension`: the operands are brought to rows (the sorted dim
 * last) unless it already is, sorted there, and the results are transposed
 * views of the sorted rows.
 */
function lowerSort(eqn: JaxprEqn<"sort">, host: LibraryLoweringHost): boolean {
  const { dimension, numKeys } = eqn.params;
  const shape = eqn.inputs[0].aval.shape;
  const rank = shape.length;
  const dtypes = eqn.inputs.map((a) => a.aval.dtype);
  const last = dimension === rank - 1;
  const perm = complementDims(rank, [dimension]).concat(last ? [] : [dimension]);
  const rowShape = perm.map((d) => shape[d]);
  const n = shape[dimension];
  const rows = n === 0 ? 0 : sizeOf(shape) / n;
  const inputs = eqn.inputs.map((a) => (last ? host.materialize(a) : host.permuted(a, perm)));
  const scratch = [host.temp([numKeys, rows, n], "uint32"), host.temp([rows, n], "uint32")];
  const outputs = eqn.outputs.map((v) => (last ? host.slotFor(v) : host.temp(rowShape, v.aval.dtype)));
  host.push({ kind: "library", call: { op: "sort", dtypes, numKeys, rows, n }, inputs, outputs, scratch });
  if (last) {
    eqn.outputs.forEach((v, i) => host.define(v, outputs[i]));
    return true;
  }
  const rowStrides = stridesOf(rowShape);
  const strides = shape.map((size, d) => (size === 1 ? 0 : rowStrides[perm.indexOf(d)]));
  eqn.outputs.forEach((v, i) => host.defineView(v, outputs[i], strides));
  return true;
}

/**
 * A bool cummax/cummin (a running or/and) as the int32 scan of its 0/1 values, converted back lazily:
 * the scan kernels keep bools out of their arithmetic.
 */
function boolScan(eqn: JaxprEqn, host: LibraryLoweringHost, fold: Fold, reverse: boolean, axis: number): boolean {
  if (fold !== "max" && fold !== "min") return false;
  const x = eqn.inputs[0];
  const wide = host.converted(x, "int32");
  const scanned = host.temp(x.aval.shape, "int32");
  host.push({ kind: "library", call: { op: "cumulative", dtype: "int32", fold, reverse, ...aroundAxis(x.aval.shape, axis) }, inputs: [wide], outputs: [scanned], scratch: [] });
  host.defineConverted(eqn.outputs[0], scanned, "int32");
  return true;
}
