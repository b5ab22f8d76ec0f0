// Reading arrays back from their serialized forms: `np.fromJSON` inverts
// `JSON.stringify(x)` (x.toJSON(): `{ dtype, shape, data }` with nested data
// and non-finite floats spelled "NaN" / "Infinity" / "-Infinity"), and
// `np.fromTransferable` inverts `x.toTransferable()` (flat typed data, what
// structuredClone / postMessage carry).

import { Array } from "../core/array";
import { allocTyped, checkDType, roundToDType } from "../core/dtype";
import { ArgumentError, ShapeError, fmtShape } from "../core/errors";
import { checkShape, sizeOf } from "../core/shape";
import type { ArrayJSON, ArrayTransferable, Tracer } from "../core/trace";

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function checkEnvelope(where: string, obj: unknown): { dtype: ReturnType<typeof checkDType>; shape: number[]; data: unknown } {
  if (typeof obj === "string") throw new ArgumentError(`${where}: got a string; parse it first: ${where}(JSON.parse(text))`);
  if (typeof obj !== "object" || obj === null || !("dtype" in obj) || !("shape" in obj) || !("data" in obj)) {
    throw new ArgumentError(`${where}: expected an object { dtype, shape, data } as written by ${where === "fromJSON" ? "JSON.stringify(x)" : "x.toTransferable()"}`);
  }
  const o = obj as { dtype: unknown; shape: unknown; data: unknown };
  return { dtype: checkDType(o.dtype, where), shape: checkShape(o.shape, where), data: o.data };
}

/** Rebuild an array from the object `JSON.parse(JSON.stringify(x))` gives. */
export function fromJSON(obj: ArrayJSON | unknown): Tracer {
  const { dtype, shape, data } = checkEnvelope("fromJSON", obj);
  const out = allocTyped(dtype, sizeOf(shape));
  let k = 0;
  const fill = (v: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      const n = typeof v === "string" && v in NON_FINITE ? NON_FINITE[v] : typeof v === "boolean" ? Number(v) : v;
      if (typeof n !== "number") throw new ArgumentError(`fromJSON: element data${path} is ${JSON.stringify(v)}, expected a number, a boolean or "NaN"/"Infinity"/"-Infinity"`);
      out[k++] = roundToDType(dtype, n);
      return;
    }
    if (!globalThis.Array.isArray(v) || v.length !== shape[dim]) {
      throw new ShapeError(`fromJSON: data${path} should be a list of length ${shape[dim]} for shape ${fmtShape(shape)}, got ${JSON.stringify(v)?.slice(0, 60)}`);
    }
    v.forEach((e, i) => fill(e, dim + 1, `${path}[${i}]`));
  };
  fill(data, 0, "");
  return Array.fromTyped(out, shape, dtype);
}

/** Rebuild an array from `x.toTransferable()` (possibly after structuredClone / postMessage). */
export function fromTransferable(obj: ArrayTransferable | unknown): Tracer {
  const { dtype, shape, data } = checkEnvelope("fromTransferable", obj);
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new ArgumentError(`fromTransferable: data must be a typed array, got ${Object.prototype.toString.call(data)}`);
  }
  const values = data as unknown as globalThis.ArrayLike<number>;
  if (values.length !== sizeOf(shape)) {
    throw new ShapeError(`fromTransferable: ${values.length} values do not fill shape ${fmtShape(shape)} (size ${sizeOf(shape)})`);
  }
  const out = allocTyped(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundToDType(dtype, Number(values[i]));
  return Array.fromTyped(out, shape, dtype);
}
