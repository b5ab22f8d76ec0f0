// The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic number (0, 0, element type code, number of dims), the dims as
// big-endian uint32, then the elements big-endian in row-major order.
// `parseIdx` reads it (gzip-compressed input is detected and inflated),
// `encodeIdx` writes it; malformed input raises an IdxFormatError.

import { gunzipSync } from "node:zlib";
import { TinyflowError } from "../core/errors";
import { sizeOf } from "../core/shape";

/** A malformed or unexpected dataset file (bad magic number, truncated data, wrong shape). */
export class IdxFormatError extends TinyflowError {}

export type IdxDType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

const CODES: Record<number, { dtype: IdxDType; bytes: number }> = {
  0x08: { dtype: "uint8", bytes: 1 },
  0x09: { dtype: "int8", bytes: 1 },
  0x0b: { dtype: "int16", bytes: 2 },
  0x0c: { dtype: "int32", bytes: 4 },
  0x0d: { dtype: "float32", bytes: 4 },
  0x0e: { dtype: "float64", bytes: 8 },
};

function codeOf(dtype: IdxDType): number {
  for (const [code, info] of Object.entries(CODES)) if (info.dtype === dtype) return Number(code);
  throw new IdxFormatError(`encodeIdx: unknown element type ${String(dtype)}`);
}

/** True for the gzip magic bytes 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parse an IDX file (raw or gzip-compressed). `name` appears in error messages. */
export function parseIdx(input: Uint8Array, name = "IDX data"): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new IdxFormatError(`parseIdx: ${name} looks gzip-compressed but does not inflate: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4) throw new IdxFormatError(`parseIdx: ${name} is truncated: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const info = CODES[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || info === undefined) {
    throw new IdxFormatError(
      `parseIdx: ${name} has a bad magic number 0x${magic.toString(16).padStart(8, "0")}; an IDX file starts with 00 00, a type code ` +
        `(08 ubyte, 09 byte, 0b short, 0c int, 0d float, 0e double) and the number of dimensions`,
    );
  }
  const ndim = bytes[3];
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new IdxFormatError(`parseIdx: ${name} is truncated: the header declares ${ndim} dimensions (${headerLen} bytes) but the file has ${bytes.length} bytes`);
  }
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = sizeOf(shape);
  const need = headerLen + count * info.bytes;
  if (bytes.length < need) {
    throw new IdxFormatError(
      `parseIdx: ${name} is truncated: shape [${shape.join(",")}] of ${info.dtype} needs ${need} bytes but the file has ${bytes.length}`,
    );
  }
  if (bytes.length > need) {
    throw new IdxFormatError(`parseIdx: ${name} has ${bytes.length - need} trailing bytes after shape [${shape.join(",")}] of ${info.dtype}`);
  }
  let data: IdxData;
  switch (info.dtype) {
    case "uint8":
      data = bytes.slice(headerLen, need);
      break;
    case "int8":
      data = new Int8Array(bytes.slice(headerLen, need).buffer);
      break;
    case "int16": {
      const d = new Int16Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getInt16(headerLen + 2 * i, false);
      data = d;
      break;
    }
    case "int32": {
      const d = new Int32Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getInt32(headerLen + 4 * i, false);
      data = d;
      break;
    }
    case "float32": {
      const d = new Float32Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getFloat32(headerLen + 4 * i, false);
      data = d;
      break;
    }
    case "float64": {
      const d = new Float64Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getFloat64(headerLen + 8 * i, false);
      data = d;
      break;
    }
  }
  return { dtype: info.dtype, shape, data };
}

/** Serialize an array to IDX bytes (uncompressed). */
export function encodeIdx(arr: { dtype: IdxDType; shape: readonly number[]; data: ArrayLike<number> }): Uint8Array {
  const code = codeOf(arr.dtype);
  const { bytes: width } = CODES[code];
  const count = sizeOf(arr.shape);
  if (arr.shape.length > 255 || arr.shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    throw new IdxFormatError(`encodeIdx: shape [${arr.shape.join(",")}] cannot be written to an IDX header`);
  }
  if (arr.data.length !== count) {
    throw new IdxFormatError(`encodeIdx: ${arr.data.length} values do not fill shape [${arr.shape.join(",")}] (${count} elements)`);
  }
  const headerLen = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(headerLen + count * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = arr.shape.length;
  arr.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const o = headerLen + i * width;
    const v = arr.data[i];
    switch (arr.dtype) {
      case "uint8":
        view.setUint8(o, v);
        break;
      case "int8":
        view.setInt8(o, v);
        break;
      case "int16":
        view.setInt16(o, v, false);
        break;
      case "int32":
        view.setInt32(o, v, false);
        break;
      case "float32":
        view.setFloat32(o, v, false);
        break;
      case "float64":
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}
