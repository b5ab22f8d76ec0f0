// float16 on the device: two halves packed in each 32-bit word (element 2w in
// the low 16 bits of word w, 2w+1 in the high bits), so float16 arrays take
// half the memory and bandwidth of float32 on every adapter — no `shader-f16`
// needed; shaders compute in f32. The conversions are written with integer
// operations, here for the host and in WGSL for shaders, rather than with
// WGSL's pack2x16float/unpack2x16float: those are indeterminate for values
// outside f16's finite range (infinities, NaN, overflow) and do not fix the
// rounding mode, while the interpreter rounds to nearest even and keeps
// infinities and NaN.

/** Device words of an array of `elements` float16 values. */
export const halfWords = (elements: number): number => Math.ceil(elements / 2);

const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);

/** The float16 bits nearest to `x` (round to nearest even; overflow to ±Inf; NaN stays NaN). */
export function halfBits(x: number): number {
  f32[0] = x;
  const b = bits[0];
  const sign = (b >>> 16) & 0x8000;
  const a = b & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to infinity
  if (a >= 0x38800000) {
    // A normal half: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
    const m = a - 0x38000000;
    return sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
  }
  if (a < 0x33000000) return sign; // below 2^-25 (and 2^-25 itself, a tie to even) rounds to zero
  // A subnormal half: the value in units of 2^-24, rounded to nearest even.
  const shift = 126 - (a >>> 23);
  const mant = (a & 0x7fffff) | 0x800000;
  const half = 1 << (shift - 1);
  const rem = mant & ((1 << shift) - 1);
  let h = mant >>> shift;
  if (rem > half || (rem === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** The value of float16 bits `h`. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** Host values (float16 widened to float32, as the host stores them) packed two per word. */
export function packHalves(data: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(halfWords(data.length));
  for (let i = 0; i < data.length; i++) out[i >>> 1] |= halfBits(data[i]) << ((i & 1) * 16);
  return out;
}

/** `length` float16 values unpacked from device words, widened to float32. */
export function unpackHalves(words: ArrayBuffer, length: number): Float32Array {
  const w = new Uint32Array(words, 0, halfWords(length));
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = halfValue((w[i >>> 1] >>> ((i & 1) * 16)) & 0xffff);
  return out;
}

/** WGSL functions: tf_h2f (a half's bits to f32), tf_f2h (f32 to a half's bits, rounded to nearest even), tf_pack_halves. */
export const HALF_WGSL = /* wgsl */ `
fn tf_h2f(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  // Subnormal halves are m * 2^-24, exact in f32 (a normal f32).
  if (e == 0u) { return bitcast<f32>(sign | bitcast<u32>(f32(m) * bitcast<f32>(0x33800000u))); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}
fn tf_f2h(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u | ((a >> 13u) & 0x3ffu); }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) {
    let m = a - 0x38000000u;
    return sign | ((m + 0xfffu + ((m >> 13u) & 1u)) >> 13u);
  }
  if (a < 0x33000000u) { return sign; }
  let shift = 126u - (a >> 23u);
  let mant = (a & 0x7fffffu) | 0x800000u;
  let half = 1u << (shift - 1u);
  let rem = mant & ((1u << shift) - 1u);
  var h = mant >> shift;
  if (rem > half || (rem == half && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}
/** Element e of a packed float16 array, given the word holding it. */
fn tf_half_at(word: u32, e: u32) -> f32 { return tf_h2f((word >> ((e & 1u) * 16u)) & 0xffffu); }
fn tf_pack_halves(lo: f32, hi: f32) -> u32 { return tf_f2h(lo) | (tf_f2h(hi) << 16u); }
`;

/** Widens a packed float16 array (binding 0) into f32 words (binding 1); the uniform holds the element count. */
export const WIDEN_HALVES_WGSL = /* wgsl */ `${HALF_WGSL}
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> n: vec4<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= n.x) { return; }
  dst[i] = bitcast<u32>(tf_half_at(src[i >> 1u], i));
}
`;

/** Narrows f32 words (binding 0) to a packed float16 array (binding 1), a word per invocation, rounding to nearest even. */
export const NARROW_HALVES_WGSL = /* wgsl */ `${HALF_WGSL}
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> n: vec4<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * 256u;
  if (2u * w >= n.x) { return; }
  var hi = 0.0;
  if (2u * w + 1u < n.x) { hi = bitcast<f32>(src[2u * w + 1u]); }
  dst[w] = tf_pack_halves(bitcast<f32>(src[2u * w]), hi);
}
`;
