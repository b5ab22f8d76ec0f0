// Interpreter rules of the shape primitives (broadcast_in_dim, reshape,
// transpose, squeeze, expand_dims, rev, slice, dynamic_slice,
// dynamic_update_slice, pad, concatenate, iota, sort, top_k) on row-major
// host arrays. Most are one strided copy: an output-shaped walk over a view
// of the input given by an offset and per-dim strides (see copyStrided). The
// index helpers at the top are shared with the elementwise rules.

import type { ShapedArray } from "../../../core/aval";
import { allocTyped, type TypedArray } from "../../../core/dtype";
import type { StructuralPrimitive } from "../../../core/shape_rules/structural";
import { sizeOf, stridesOf, type Shape } from "../../../core/shape";
import { HostArray, multiIndices } from "../host_array";
import type { InterpRule, InterpRuleTable } from "./types";

// --- shared index helpers ----------------------------------------------------------

/**
 * Walks `shape` in row-major order and copies
 *   dst[dOff + sum_k i_k * dStr[k]] = src[sOff + sum_k i_k * sStr[k]].
 * Strides may be 0 (broadcast) or negative (reversal).
 */
export function copyStrided(
  shape: Shape,
  src: TypedArray,
  sOff: number,
  sStr: readonly number[],
  dst: TypedArray,
  dOff: number,
  dStr: readonly number[],
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const r = shape.length;
  if (r === 0) {
    dst[dOff] = src[sOff];
    return;
  }
  const last = r - 1;
  const len = shape[last];
  const sl = sStr[last];
  const dl = dStr[last];
  const idx = new Array<number>(r).fill(0);
  let s = sOff;
  let d = dOff;
  for (let done = 0; done < n; done += len) {
    for (let k = 0; k < len; k++) dst[d + k * dl] = src[s + k * sl];
    for (let ax = last - 1; ax >= 0; ax--) {
      idx[ax]++;
      s += sStr[ax];
      d += dStr[ax];
      if (idx[ax] < shape[ax]) break;
      s -= sStr[ax] * shape[ax];
      d -= dStr[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

/** Views `shape` as [outer, n, inner] around `axis`: element (o, j, i) is at (o * n + j) * inner + i. */
export function splitAxis(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

/** A fresh host array with the aval's shape/dtype holding a copy of `data`. */
function copyAs(aval: ShapedArray, data: TypedArray): HostArray {
  const out = allocTyped(aval.dtype, data.length);
  out.set(data);
  return new HostArray(out, [...aval.shape], aval.dtype);
}

/** Output array for `aval` filled by one strided read of `x` at `offset` / `strides` (per output dim). */
function gatherStrided(aval: ShapedArray, x: HostArray, offset: number, strides: readonly number[]): HostArray {
  const out = HostArray.forAval(aval);
  copyStrided(aval.shape, x.data, offset, strides, out.data, 0, stridesOf(aval.shape));
  return out;
}

/** Clamps dynamic start indices so that a window of `sizes` stays inside `dims` (XLA semantics). */
function clampedStarts(starts: HostArray[], dims: Shape, sizes: Shape): number[] {
  return starts.map((s, i) => Math.min(Math.max(Number(s.data[0]), 0), dims[i] - sizes[i]));
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((acc, v, i) => acc + v * b[i], 0);

/**
 * Total order for sort keys: numbers ascending, -0 equal to +0, every NaN
 * equal to every other and after +inf (as jax.lax.sort canonicalizes them).
 */
export function compareTotal(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if (an || bn) return (an ? 1 : 0) - (bn ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- rules -------------------------------------------------------------------------

const copyRule: InterpRule<"reshape" | "squeeze" | "expand_dims"> = ([x], _params, [aval]) => [copyAs(aval, x.data)];

const broadcastInDim: InterpRule<"broadcast_in_dim"> = ([x], { broadcastDimensions }, [aval]) => {
  const strides = new Array<number>(aval.ndim).fill(0);
  const xs = x.strides;
  broadcastDimensions.forEach((d, i) => {
    if (x.shape[i] !== 1) strides[d] = xs[i];
  });
  return [gatherStrided(aval, x, 0, strides)];
};

const transpose: InterpRule<"transpose"> = ([x], { permutation }, [aval]) => {
  const xs = x.strides;
  return [gatherStrided(aval, x, 0, permutation.map((p) => xs[p]))];
};

const rev: InterpRule<"rev"> = ([x], { dimensions }, [aval]) => {
  const strides = x.strides;
  let offset = 0;
  for (const d of dimensions) {
    if (x.shape[d] === 0) continue;
    offset += (x.shape[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  return [gatherStrided(aval, x, offset, strides)];
};

const slice: InterpRule<"slice"> = ([x], { startIndices, strides }, [aval]) => {
  const xs = x.strides;
  const step = strides ?? xs.map(() => 1);
  return [gatherStrided(aval, x, dot(startIndices, xs), xs.map((s, i) => s * step[i]))];
};

const dynamicSlice: InterpRule<"dynamic_slice"> = ([x, ...starts], { sliceSizes }, [aval]) => {
  const xs = x.strides;
  return [gatherStrided(aval, x, dot(clampedStarts(starts, x.shape, sliceSizes), xs), xs)];
};

const dynamicUpdateSlice: InterpRule<"dynamic_update_slice"> = ([x, update, ...starts], _params, [aval]) => {
  const out = copyAs(aval, x.data);
  const os = out.strides;
  const offset = dot(clampedStarts(starts, x.shape, update.shape), os);
  copyStrided(update.shape, update.data, 0, update.strides, out.data, offset, os);
  return [out];
};

const pad: InterpRule<"pad"> = ([x, value], { paddingConfig }, [aval]) => {
  const out = HostArray.forAval(aval);
  out.data.fill(value.data[0]);
  const os = out.strides;
  // Output position of input index j along dim i: lo + j * (interior + 1); dropped when outside.
  outer: for (const idx of multiIndices(x.shape)) {
    let o = 0;
    for (let i = 0; i < idx.length; i++) {
      const [lo, , interior] = paddingConfig[i];
      const p = lo + idx[i] * (interior + 1);
      if (p < 0 || p >= aval.shape[i]) continue outer;
      o += p * os[i];
    }
    out.data[o] = x.data[dot(idx, x.strides)];
  }
  return [out];
};

const concatenate: InterpRule<"concatenate"> = (inputs, { dimension }, [aval]) => {
  const out = HostArray.forAval(aval);
  const os = out.strides;
  let at = 0;
  for (const x of inputs) {
    copyStrided(x.shape, x.data, 0, x.strides, out.data, at * os[dimension], os);
    at += x.shape[dimension];
  }
  return [out];
};

const iota: InterpRule<"iota"> = (_inputs, { dimension }, [aval]) => {
  const out = HostArray.forAval(aval);
  const { n, inner } = splitAxis(aval.shape, dimension);
  for (let k = 0; k < out.data.length; k++) out.data[k] = Math.floor(k / inner) % n;
  return [out];
};

const sort: InterpRule<"sort"> = (inputs, { dimension, numKeys }, outAvals) => {
  const outs = outAvals.map((a) => HostArray.forAval(a));
  const { outer, n, inner } = splitAxis(inputs[0].shape, dimension);
  const keys = inputs.slice(0, numKeys).map((x) => x.data);
  const order = new Array<number>(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) order[j] = base + j * inner;
      order.sort((p, q) => {
        for (const key of keys) {
          const c = compareTotal(key[p], key[q]);
          if (c !== 0) return c;
        }
        return p - q; // stable
      });
      inputs.forEach((x, t) => {
        for (let j = 0; j < n; j++) outs[t].data[base + j * inner] = x.data[order[j]];
      });
    }
  }
  return outs;
};

const topK: InterpRule<"top_k"> = ([x], { k }, [valAval, idxAval]) => {
  const values = HostArray.forAval(valAval);
  const indices = HostArray.forAval(idxAval);
  const n = x.shape[x.ndim - 1];
  const rows = n === 0 ? 0 : x.size / n;
  const order = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * n, (r + 1) * n);
    for (let j = 0; j < n; j++) order[j] = j;
    order.sort((p, q) => compareTotal(row[q], row[p]) || p - q);
    for (let j = 0; j < k; j++) {
      values.data[r * k + j] = row[order[j]];
      indices.data[r * k + j] = order[j];
    }
  }
  return [values, indices];
};

export const structuralInterpRules: InterpRuleTable<StructuralPrimitive> = {
  broadcast_in_dim: broadcastInDim,
  reshape: copyRule,
  transpose,
  squeeze: copyRule,
  expand_dims: copyRule,
  rev,
  slice,
  dynamic_slice: dynamicSlice,
  dynamic_update_slice: dynamicUpdateSlice,
  pad,
  concatenate,
  iota,
  sort,
  top_k: topK,
};
