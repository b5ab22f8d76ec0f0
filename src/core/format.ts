// numpy-style printing of array data: `Array([[1., 2.],\n       [3., 4.]], dtype=float32)`.

import type { DType, TypedArray } from "./dtype";
import { sizeOf, type Shape } from "./shape";

function fmtFloat(v: number, decimals: number, trimmed: boolean): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (trimmed) return Number.isInteger(v) ? `${v}.` : String(Number(v.toPrecision(7)));
  return v.toFixed(decimals);
}

/** Shortest decimal that reads back as the same float32 (numpy's "unique" repr). */
function shortestF32(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

function decimalsOf(s: string): number {
  if (s.includes("e")) return 8;
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

function elementFormatter(data: TypedArray, dtype: DType): (v: number) => string {
  if (dtype === "bool") return (v) => (v ? "True" : "False");
  if (dtype === "int32" || dtype === "uint32") return (v) => String(v);
  const finite = Array.from(data).filter((v) => Number.isFinite(v));
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const minAbs = finite.reduce((m, v) => (v !== 0 ? Math.min(m, Math.abs(v)) : m), Infinity);
  const useSci = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity);
  if (useSci) return (v) => (Number.isFinite(v) ? v.toExponential(4) : fmtFloat(v, 0, true));
  // numpy's floatmode "maxprec": as many decimals as the most precise element needs, at most 8.
  const decimals = Math.min(8, Math.max(0, ...finite.map((v) => decimalsOf(shortestF32(v)))));
  if (decimals === 0) return (v) => fmtFloat(v, 0, true);
  return (v) => {
    if (!Number.isFinite(v)) return fmtFloat(v, 0, true);
    const own = Math.min(decimals, decimalsOf(shortestF32(v)));
    const text = own === 0 ? `${v.toFixed(0)}.` : v.toFixed(own);
    return text + " ".repeat(decimals - own);
  };
}

export function formatArray(data: TypedArray, shape: Shape, dtype: DType, maxItems = 1000): string {
  const fmt = elementFormatter(data, dtype);
  const strs = Array.from(data, fmt);
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  const pad = (s: string) => s.padStart(width);
  const prefix = "Array(";
  const summarize = sizeOf(shape) > maxItems;
  const build = (dim: number, offset: number, indent: string): string => {
    if (shape.length === 0) return strs[0];
    const n = shape[dim];
    const stride = sizeOf(shape.slice(dim + 1));
    const idx: (number | null)[] = summarize && n > 6 ? [0, 1, 2, null, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    if (dim === shape.length - 1) {
      return `[${idx.map((i) => (i === null ? "..." : pad(strs[offset + i]))).join(", ")}]`;
    }
    const sep = "," + "\n".repeat(shape.length - dim - 1) + indent + " ";
    return `[${idx.map((i) => (i === null ? "..." : build(dim + 1, offset + i * stride, indent + " "))).join(sep)}]`;
  };
  const body = build(0, 0, " ".repeat(prefix.length));
  return `${prefix}${body}, dtype=${dtype})`;
}
