// The threefry-2x32 PRNG of JAX: raw keys are uint32 arrays of shape [2];
// `key` seeds, `split`/`foldIn` derive new keys and `randomBits` draws uint32
// streams. Every function is a pure function of its key built from lax
// primitives (threefry2x32, iota, slices), so it stages under jit and batches
// under vmap.
//
// Two bit streams exist, as in JAX. The default is JAX's current one
// (`jax_threefry_partitionable=True`, the default since JAX 0.5): element i of
// a draw hashes the 64-bit counter (hi, lo) = (0, i) as one threefry block and
// xors the two output words; split(key, n)[i] is that block's two words, so
// split and foldIn agree (foldIn(key, i) = split(key, n)[i]). The legacy
// stream (`setThreefryPartitionable(false)`) hashes the flat counter array
// split in two halves that feed the two words of each block (JAX's
// `threefry_2x32` over `iota`), as JAX did before 0.5.

import * as lax from "../lax";
import { Array as TfArray } from "../core/array";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { sizeOf } from "../core/shape";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { registerTraceSetting } from "../core/trace_settings";

/** A raw PRNG key: a uint32 array of shape [2] (or a stack [..., 2] of them from split). */
export type PRNGKey = Tracer;

function describe(x: unknown): string {
  if (isTracer(x)) return x.aval.str();
  if (Array.isArray(x)) return "a JS array";
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

/** Validate a single raw key. */
export function checkKey(where: string, key: unknown): Tracer {
  if (!isTracer(key)) {
    throw new ArgumentError(`random.${where}: key must be a PRNG key (a uint32 array of shape [2] from random.key), got ${describe(key)}`);
  }
  if (key.dtype !== "uint32") {
    throw new DTypeError(`random.${where}: key must be a uint32 array of shape [2] (from random.key), got ${key.aval.str()}`);
  }
  if (key.ndim !== 1 || key.shape[0] !== 2) {
    throw new ShapeError(
      `random.${where}: key must have shape [2], got ${key.aval.str()}; for a batch of keys use vmap, or index one key out of a split`,
    );
  }
  return key;
}

/** Validate a static shape argument. */
export function checkShapeArg(where: string, shape: unknown): number[] {
  const s = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`random.${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...s];
}


function keyWords(key: Tracer): [Tracer, Tracer] {
  const k0 = lax.reshape(lax.slice(key, [0], [1]), []);
  const k1 = lax.reshape(lax.slice(key, [1], [2]), []);
  return [k0, k1];
}

/**
 * JAX's threefry_2x32(keypair, count): hashes a uint32 array of counts with the
 * key. The flattened counts (padded with one 0 when odd) are split in halves
 * x0 | x1; the output is concat(y0, y1) with the padding dropped, reshaped to
 * count's shape.
 */
export function threefry2x32(key: ArrayLike, count: ArrayLike): Tracer {
  const k = checkKey("threefry2x32", key);
  if (!isTracer(count) || count.dtype !== "uint32") {
    throw new DTypeError(`random.threefry2x32: count must be a uint32 array, got ${describe(count)}`);
  }
  const n = count.size;
  if (n === 0) return count;
  const odd = n % 2 === 1;
  let flat = lax.reshape(count, [n]);
  if (odd) flat = lax.concatenate([flat, lax.full([1], 0, "uint32")], 0);
  const half = flat.shape[0] / 2;
  const x0 = lax.slice(flat, [0], [half]);
  const x1 = lax.slice(flat, [half], [2 * half]);
  const [k0, k1] = keyWords(k);
  const [y0, y1] = lax.threefry2x32(lax.broadcast(k0, [half]), lax.broadcast(k1, [half]), x0, x1);
  let out = lax.concatenate([y0, y1], 0);
  if (odd) out = lax.slice(out, [0], [n]);
  return lax.reshape(out, count.shape);
}

/**
 * A PRNG key from an integer seed, as jax.random.PRNGKey: [high 32 bits, low 32 bits].
 * Seeds in the int32 range give [0, seed mod 2^32] (JAX's default 32-bit mode);
 * larger non-negative seeds up to 2^53 keep their high word. A traced int32/uint32
 * scalar seed works too (under jit).
 */
export function key(seed: number | Tracer): PRNGKey {
  if (isTracer(seed)) {
    if (seed.ndim !== 0 || (seed.dtype !== "int32" && seed.dtype !== "uint32")) {
      throw new DTypeError(`random.key: a seed array must be an int32 or uint32 scalar, got ${seed.aval.str()}`);
    }
    const lo = seed.dtype === "uint32" ? seed : lax.bitcastConvertType(seed, "uint32");
    return lax.concatenate([lax.full([1], 0, "uint32"), lax.reshape(lo, [1])], 0);
  }
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new ArgumentError(`random.key: seed must be an integer (a safe JS integer or an int32 scalar array), got ${describe(seed)}`);
  }
  let hi: number;
  let lo: number;
  if (seed >= -(2 ** 31) && seed < 2 ** 31) {
    hi = 0;
    lo = seed >>> 0;
  } else if (seed >= 0) {
    hi = Math.floor(seed / 2 ** 32) >>> 0;
    lo = seed % 2 ** 32 >>> 0;
  } else {
    // 64-bit two's complement of a large negative seed.
    const big = BigInt.asUintN(64, BigInt(seed));
    hi = Number(big >> 32n);
    lo = Number(big & 0xffffffffn);
  }
  return TfArray.fromTyped(Uint32Array.from([hi, lo]), [2], "uint32");
}
/** jax.random.PRNGKey's name. */
export const PRNGKey = key;

let partitionable = true;
registerTraceSetting("threefryPartitionable", () => (partitionable ? "1" : "0"));

/**
 * Choose the threefry bit stream: true (the default) matches current JAX
 * (`jax_threefry_partitionable=True`), false the legacy stream of JAX before
 * 0.5. Returns the previous setting. The choice is read when a function is
 * traced; jit keys its cache on it, so a jitted function retraces after a
 * toggle and draws from the stream in force at the call.
 */
export function setThreefryPartitionable(enabled: boolean): boolean {
  if (typeof enabled !== "boolean") throw new ArgumentError(`random.setThreefryPartitionable: expected true or false, got ${describe(enabled)}`);
  const previous = partitionable;
  partitionable = enabled;
  return previous;
}

/** Whether the partitionable (current JAX) threefry stream is in use. */
export function isThreefryPartitionable(): boolean {
  return partitionable;
}

/** Run `fn` with the given stream setting, restoring the previous one afterwards (JAX's `jax.threefry_partitionable(...)` context). */
export function withThreefryPartitionable<T>(enabled: boolean, fn: () => T): T {
  if (typeof enabled !== "boolean") throw new ArgumentError(`random.withThreefryPartitionable: expected true or false, got ${describe(enabled)}`);
  if (typeof fn !== "function") throw new ArgumentError(`random.withThreefryPartitionable: expected a function to run, got ${describe(fn)}`);
  const previous = setThreefryPartitionable(enabled);
  try {
    return fn();
  } finally {
    partitionable = previous;
  }
}

/**
 * The partitionable stream's blocks: threefry of the counters (hi, lo) = (0, i)
 * for i over `shape` in row-major order (JAX's iota_2x32_shape; the high word
 * is 0 since one draw never exceeds 2^32 elements). Returns both output words.
 */
function counterBlocks(k: Tracer, shape: readonly number[]): [Tracer, Tracer] {
  const n = sizeOf(shape);
  const [k0, k1] = keyWords(k);
  const lo = lax.reshape(lax.iota("uint32", n), [...shape]);
  const hi = lax.full([...shape], 0, "uint32");
  const [y0, y1] = lax.threefry2x32(lax.broadcast(k0, [...shape]), lax.broadcast(k1, [...shape]), hi, lo);
  return [y0, y1];
}

/** `num` new keys (shape [num, 2]), or a [...shape, 2] stack when given a shape. */
export function split(key: ArrayLike, num: number | readonly number[] = 2): PRNGKey {
  const k = checkKey("split", key);
  const shape = checkShapeArg("split", num);
  const n = sizeOf(shape);
  if (n === 0) return lax.full([...shape, 2], 0, "uint32");
  if (n >= 2 ** 32) throw new ShapeError(`random.split: ${n} keys exceed one threefry stream (2^32)`);
  if (partitionable) {
    const [y0, y1] = counterBlocks(k, shape);
    return lax.concatenate([lax.reshape(y0, [...shape, 1]), lax.reshape(y1, [...shape, 1])], shape.length);
  }
  return lax.reshape(threefry2x32(k, lax.iota("uint32", 2 * n)), [...shape, 2]);
}

/** A new key from a key and an integer (e.g. a step or a layer index), as jax.random.fold_in. */
export function foldIn(key: ArrayLike, data: number | Tracer): PRNGKey {
  const k = checkKey("foldIn", key);
  let d: Tracer;
  if (isTracer(data)) {
    if (data.ndim !== 0 || (data.dtype !== "int32" && data.dtype !== "uint32")) {
      throw new DTypeError(`random.foldIn: data must be an integer scalar, got ${data.aval.str()}`);
    }
    d = data.dtype === "uint32" ? data : lax.bitcastConvertType(data, "uint32");
  } else {
    if (typeof data !== "number" || !Number.isInteger(data)) throw new ArgumentError(`random.foldIn: data must be an integer, got ${describe(data)}`);
    d = TfArray.scalar(data >>> 0, "uint32");
  }
  // threefry_seed(data) = [data >> 32 (= 0 for 32-bit data), data].
  const count = lax.concatenate([lax.full([1], 0, "uint32"), lax.reshape(d, [1])], 0);
  return threefry2x32(k, count);
}

/** uint32 random bits of `shape` (jax.random.bits with the default 32-bit width). */
export function randomBits(key: ArrayLike, shape: number | readonly number[] = []): Tracer {
  const k = checkKey("randomBits", key);
  const s = checkShapeArg("randomBits", shape);
  const n = sizeOf(s);
  if (n === 0) return lax.full(s, 0, "uint32");
  if (n >= 2 ** 32 - 1) throw new ShapeError(`random.randomBits: ${n} values exceed one threefry stream (2^32 - 1)`);
  if (partitionable) {
    const [y0, y1] = counterBlocks(k, s);
    return lax.xor(y0, y1);
  }
  return lax.reshape(threefry2x32(k, lax.iota("uint32", n)), s);
}
/** jax.random.bits' name. */
export const bits = randomBits;

/** The raw key data (identity for raw uint32 keys; for parity with jax.random.key_data). */
export function keyData(key: ArrayLike): Tracer {
  return checkKey("keyData", key);
}
