// WGSL for the kernel graph's scalar ops: one entry per op (typed over
// ScalarOp, so a new op is a compile error here until it has WGSL), and the
// prelude of helper functions they call. Semantics follow the reference
// interpreter as the wasm kernels do (see wasm/codegen/kernel.ts): max/min
// propagate NaN, round is half away from zero, integer x/0 = -1 (all ones) and
// x%0 = x, shifts by >= 32 give 0, float->int converts truncate and saturate
// (NaN -> 0), anything->bool is x != 0, and NaN/±0 are handled by bit tests
// rather than by comparisons a shader compiler may fold away. Transcendental
// functions use WGSL's builtins where their error is small and guarded forms
// elsewhere (exp, log, log1p, expm1, erf, pow, tanh, sin, cos), so results agree with the
// interpreter to a few ulp, not bitwise; sin and cos are evaluated here
// (the builtins may be as coarse as 2^-11 absolute).

import type { KDType, ScalarOp } from "../../plan/kernel_graph";

/** The WGSL type a kernel value of `d` lives in, in registers. */
export const WGSL_TYPE: Record<KDType, string> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };

/** A register value of `d` read from a storage word (every buffer is an array<u32>). */
export function fromWord(word: string, d: KDType): string {
  switch (d) {
    case "float32":
      return `bitcast<f32>(${word})`;
    case "int32":
      return `bitcast<i32>(${word})`;
    case "uint32":
      return word;
    case "bool":
      return `(${word} != 0u)`;
  }
}

/** The storage word of a register value of `d`. */
export function toWord(value: string, d: KDType): string {
  switch (d) {
    case "float32":
    case "int32":
      return `bitcast<u32>(${value})`;
    case "uint32":
      return value;
    case "bool":
      return `select(0u, 1u, ${value})`;
  }
}

/** A literal of `d`. */
/** The stored word of the value `v` of dtype `d` (float32 bits, int32 two's complement, bool 0/1). */
export function wordOf(v: number, d: KDType): number {
  if (d === "float32") return new Uint32Array(new Float32Array([v]).buffer)[0];
  if (d === "bool") return v ? 1 : 0;
  return v >>> 0;
}

export function literal(value: number, d: KDType): string {
  switch (d) {
    case "float32": {
      const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
      // NaN and infinities cannot be const-expressions in WGSL: tf_f32 makes them at run time.
      return Number.isFinite(value) ? `bitcast<f32>(0x${bits.toString(16)}u)` : `tf_f32(0x${bits.toString(16)}u)`;
    }
    case "int32":
      return value === -2147483648 ? "i32(-2147483647 - 1)" : `i32(${value | 0})`;
    case "uint32":
      return `${value >>> 0}u`;
    case "bool":
      return value ? "true" : "false";
  }
}

/** The expression of one op: its WGSL operands, their dtypes and the result dtype. */
type OpEmitter = (a: string[], types: KDType[], out: KDType) => string;

const isF = (d: KDType) => d === "float32";
const zeroOf = (d: KDType) => literal(0, d);

const arith = (sym: string): OpEmitter => (a, types) => (types[0] === "bool" ? `(${a[0]} ${sym === "+" ? "||" : sym === "*" ? "&&" : "!="} ${a[1]})` : `(${a[0]} ${sym} ${a[1]})`);
/** Orderings of bools compare them as 0/1 (false < true). */
const compare = (sym: string): OpEmitter => (a, t) => (t[0] === "bool" ? `(select(0u, 1u, ${a[0]}) ${sym} select(0u, 1u, ${a[1]}))` : `(${a[0]} ${sym} ${a[1]})`);
const floatOnly = (f: string): OpEmitter => (a) => `${f}(${a[0]})`;

function convert(x: string, from: KDType, to: KDType): string {
  if (from === to) return x;
  if (to === "bool") return from === "float32" ? `tf_f2b(${x})` : `(${x} != ${zeroOf(from)})`;
  if (from === "bool") return `select(${zeroOf(to)}, ${literal(1, to)}, ${x})`;
  if (from === "float32") return to === "int32" ? `tf_f2i(${x})` : `tf_f2u(${x})`;
  if (to === "float32") return `f32(${x})`;
  return `bitcast<${WGSL_TYPE[to]}>(${x})`;
}

export const SCALAR_WGSL: { [O in ScalarOp]: OpEmitter } = {
  neg: (a, t) => (t[0] === "uint32" ? `(0u - ${a[0]})` : `(-${a[0]})`),
  abs: (a, t) => (t[0] === "uint32" ? a[0] : `abs(${a[0]})`),
  sign: (a, t) => (isF(t[0]) ? `tf_sign(${a[0]})` : t[0] === "uint32" ? `select(0u, 1u, ${a[0]} > 0u)` : `sign(${a[0]})`),
  not: (a, t) => (t[0] === "bool" ? `(!${a[0]})` : `(~${a[0]})`),
  floor: floatOnly("floor"),
  ceil: floatOnly("ceil"),
  round: floatOnly("tf_round_away"),
  nearest: floatOnly("round"),
  trunc: floatOnly("trunc"),
  is_finite: (a) => `tf_is_finite(${a[0]})`,
  exp: floatOnly("tf_exp"),
  log: floatOnly("tf_log"),
  log1p: floatOnly("tf_log1p"),
  expm1: floatOnly("tf_expm1"),
  tanh: floatOnly("tf_tanh"),
  logistic: (a) => `(1.0 / (1.0 + tf_exp(-${a[0]})))`,
  erf: floatOnly("tf_erf"),
  sin: floatOnly("tf_sin"),
  cos: floatOnly("tf_cos"),
  sqrt: floatOnly("tf_sqrt"),
  rsqrt: floatOnly("tf_rsqrt"),
  convert: (a, t, out) => convert(a[0], t[0], out),
  round_f16: floatOnly("tf_round_f16"),
  add: arith("+"),
  sub: arith("-"),
  mul: arith("*"),
  div: (a, t) => (isF(t[0]) ? `(${a[0]} / ${a[1]})` : t[0] === "int32" ? `tf_idiv(${a[0]}, ${a[1]})` : `tf_udiv(${a[0]}, ${a[1]})`),
  rem: (a, t) => (isF(t[0]) ? `tf_frem(${a[0]}, ${a[1]})` : `select(${a[0]} % ${a[1]}, ${a[0]}, ${a[1]} == ${zeroOf(t[0])})`),
  max: (a, t) => (isF(t[0]) ? `tf_fmax(${a[0]}, ${a[1]})` : t[0] === "bool" ? `(${a[0]} || ${a[1]})` : `max(${a[0]}, ${a[1]})`),
  min: (a, t) => (isF(t[0]) ? `tf_fmin(${a[0]}, ${a[1]})` : t[0] === "bool" ? `(${a[0]} && ${a[1]})` : `min(${a[0]}, ${a[1]})`),
  pow: (a, t) => (isF(t[0]) ? `tf_pow(${a[0]}, ${a[1]})` : `${t[0] === "int32" ? "tf_ipow" : "tf_upow"}(${a[0]}, ${a[1]})`),
  and: (a, t) => (t[0] === "bool" ? `(${a[0]} && ${a[1]})` : `(${a[0]} & ${a[1]})`),
  or: (a, t) => (t[0] === "bool" ? `(${a[0]} || ${a[1]})` : `(${a[0]} | ${a[1]})`),
  xor: (a, t) => (t[0] === "bool" ? `(${a[0]} != ${a[1]})` : `(${a[0]} ^ ${a[1]})`),
  eq: (a, t) => (isF(t[0]) ? `tf_feq(${a[0]}, ${a[1]})` : compare("==")(a, t, "bool")),
  ne: (a, t) => (isF(t[0]) ? `(!tf_feq(${a[0]}, ${a[1]}))` : compare("!=")(a, t, "bool")),
  lt: compare("<"),
  le: compare("<="),
  gt: compare(">"),
  ge: compare(">="),
  shift_left: (a, t) => `select(${a[0]} << u32(${a[1]}), ${zeroOf(t[0])}, u32(${a[1]}) >= 32u)`,
  shift_right_logical: (a, t) =>
    t[0] === "int32"
      ? `select(bitcast<i32>(bitcast<u32>(${a[0]}) >> u32(${a[1]})), 0, u32(${a[1]}) >= 32u)`
      : `select(${a[0]} >> ${a[1]}, 0u, ${a[1]} >= 32u)`,
  select: (a, t) => `select(${a[1]}, ${a[2]}, ${t[0] === "bool" ? a[0] : `${a[0]} > ${zeroOf(t[0])}`})`,
  clamp: (a, t) =>
    isF(t[1]) ? `tf_fmin(tf_fmax(${a[1]}, ${a[0]}), ${a[2]})` : t[1] === "bool" ? `((${a[1]} || ${a[0]}) && ${a[2]})` : `min(max(${a[1]}, ${a[0]}), ${a[2]})`,
};

/** x ** y for a constant integer y by binary exponentiation (in the element type, as the interpreter). */
export function integerPow(x: string, y: number, d: KDType, fresh: () => string, lines: string[]): string {
  let acc: string | null = null;
  let base = x;
  for (let n = Math.abs(y); n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) {
      if (acc === null) acc = base;
      else {
        const v = fresh();
        lines.push(`let ${v} = ${acc} * ${base};`);
        acc = v;
      }
    }
    if (n > 1) {
      const v = fresh();
      lines.push(`let ${v} = ${base} * ${base};`);
      base = v;
    }
  }
  const one = literal(1, d);
  if (acc === null) return one;
  if (y >= 0) return acc;
  return isF(d) ? `(1.0 / ${acc})` : `tf_ipow(${acc}, -1)`;
}

/** Helper functions the op table calls; emitted once per shader. */
export const SCALAR_PRELUDE = /* wgsl */ `
// A function call is never a const-expression, so NaN and infinity can be made from their bits at run time.
fn tf_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }
fn tf_nan() -> f32 { return tf_f32(0x7fc00000u); }
fn tf_inf() -> f32 { return tf_f32(0x7f800000u); }
fn tf_is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn tf_is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn tf_feq(a: f32, b: f32) -> bool {
  if (tf_is_nan(a) || tf_is_nan(b)) { return false; }
  return a == b || ((bitcast<u32>(a) | bitcast<u32>(b)) & 0x7fffffffu) == 0u;
}
fn tf_fmax(a: f32, b: f32) -> f32 {
  if (tf_is_nan(a) || tf_is_nan(b)) { return tf_nan(); }
  if (tf_feq(a, b)) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}
fn tf_fmin(a: f32, b: f32) -> f32 {
  if (tf_is_nan(a) || tf_is_nan(b)) { return tf_nan(); }
  if (tf_feq(a, b)) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, a < b);
}
fn tf_sign(x: f32) -> f32 {
  if (tf_is_nan(x)) { return x; }
  if (x > 0.0) { return 1.0; }
  if (x < 0.0) { return -1.0; }
  return x;
}
fn tf_round_away(x: f32) -> f32 {
  let t = trunc(x);
  return select(t, t + sign(x), abs(x - t) >= 0.5);
}
fn tf_f2b(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }
fn tf_f2i(x: f32) -> i32 {
  if (tf_is_nan(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return -2147483647 - 1; }
  return i32(x);
}
fn tf_f2u(x: f32) -> u32 {
  if (tf_is_nan(x) || x <= 0.0) { return 0u; }
  if (x >= 4294967296.0) { return 4294967295u; }
  return u32(x);
}
fn tf_idiv(a: i32, b: i32) -> i32 {
  if (b == 0) { return -1; }
  if (b == -1) { return bitcast<i32>(0u - bitcast<u32>(a)); }
  return a / b;
}
fn tf_udiv(a: u32, b: u32) -> u32 { return select(a / b, 4294967295u, b == 0u); }
fn tf_frem(a: f32, b: f32) -> f32 {
  if (tf_is_nan(a) || tf_is_nan(b) || !tf_is_finite(a) || b == 0.0) { return tf_nan(); }
  if (!tf_is_finite(b)) { return a; }
  return a - b * trunc(a / b);
}
// SwiftShader's exp(NaN) is +Inf.
fn tf_exp(x: f32) -> f32 {
  if (tf_is_nan(x)) { return x; }
  return exp(x);
}
fn tf_log(x: f32) -> f32 {
  if (tf_is_nan(x) || x < 0.0) { return tf_nan(); }
  if (x == 0.0) { return -tf_inf(); }
  if (!tf_is_finite(x)) { return x; }
  return log(x);
}
fn tf_log1p(x: f32) -> f32 {
  if (tf_is_nan(x) || x < -1.0) { return tf_nan(); }
  if (x == -1.0) { return -tf_inf(); }
  if (!tf_is_finite(x)) { return x; }
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
fn tf_expm1(x: f32) -> f32 {
  if (tf_is_nan(x)) { return x; }
  if (x > 88.7) { return tf_inf(); }
  if (x < -17.0) { return -1.0; }
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * x / log(u);
}
fn tf_tanh(x: f32) -> f32 {
  if (tf_is_nan(x)) { return x; }
  let ax = abs(x);
  if (ax < 0.0004) { return x; }
  let e = exp(-2.0 * min(ax, 20.0));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn tf_erf(x: f32) -> f32 {
  if (tf_is_nan(x)) { return x; }
  let ax = abs(x);
  if (ax < 0.5) {
    let z = x * x;
    return x * (1.1283791671 + z * (-0.3761263890 + z * (0.1128379167 + z * (-0.0268661706 + z * (0.0052239776 + z * -0.0008548327)))));
  }
  if (ax >= 4.0) { return sign(x); }
  // Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-ax * ax));
}
// sin and cos: WGSL only promises 2^-11 absolute error (SwiftShader's builtins are that coarse),
// so the argument is reduced by π/2 in three parts (Cody-Waite) and the quadrant's polynomial evaluated.
fn tf_sincos_reduce(x: f32) -> vec2<f32> {
  let k = round(x * 0.63661977236);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  return vec2<f32>(r, k);
}
fn tf_sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
}
fn tf_cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
}
fn tf_sin(x: f32) -> f32 {
  if (!tf_is_finite(x)) { return tf_nan(); }
  let rk = tf_sincos_reduce(x);
  let q = i32(rk.y) & 3;
  let v = select(tf_sin_poly(rk.x), tf_cos_poly(rk.x), (q & 1) == 1);
  return select(v, -v, q >= 2);
}
fn tf_cos(x: f32) -> f32 {
  if (!tf_is_finite(x)) { return tf_nan(); }
  let rk = tf_sincos_reduce(x);
  let q = i32(rk.y) & 3;
  let v = select(tf_cos_poly(rk.x), tf_sin_poly(rk.x), (q & 1) == 1);
  return select(v, -v, q == 1 || q == 2);
}
fn tf_sqrt(x: f32) -> f32 {
  if (tf_is_nan(x) || x < 0.0) { return tf_nan(); }
  return sqrt(x);
}
fn tf_rsqrt(x: f32) -> f32 {
  if (tf_is_nan(x) || x < 0.0) { return tf_nan(); }
  if (x == 0.0) { return select(tf_inf(), -tf_inf(), bitcast<u32>(x) != 0u); }
  if (!tf_is_finite(x)) { return 0.0; }
  return inverseSqrt(x);
}
fn tf_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (tf_is_nan(x) || tf_is_nan(y)) { return tf_nan(); }
  let ay = abs(y);
  let y_int = trunc(y) == y;
  let y_odd = y_int && ay < 16777216.0 && (trunc(ay * 0.5) * 2.0 != ay);
  let ax = abs(x);
  if (!tf_is_finite(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(0.0, tf_inf(), (ax > 1.0) == (y > 0.0));
  }
  if (!tf_is_finite(ax)) {
    let r = select(0.0, tf_inf(), y > 0.0);
    return select(r, -r, x < 0.0 && y_odd);
  }
  if (x == 0.0) {
    let neg_zero = bitcast<u32>(x) != 0u;
    if (y < 0.0) { return select(tf_inf(), -tf_inf(), neg_zero && y_odd); }
    return select(0.0, x, y_odd);
  }
  if (x < 0.0 && !y_int) { return tf_nan(); }
  let r = exp2(y * log2(ax));
  return select(r, -r, x < 0.0 && y_odd);
}
fn tf_ipow(x: i32, y: i32) -> i32 {
  if (y < 0) { return select(select(0, 1, x == 1), select(-1, 1, (y & 1) == 0), x == -1); }
  var acc = 1;
  var b = x;
  var n = y;
  loop {
    if (n == 0) { break; }
    if ((n & 1) == 1) { acc = acc * b; }
    b = b * b;
    n = n >> 1u;
  }
  return acc;
}
fn tf_upow(x: u32, y: u32) -> u32 {
  var acc = 1u;
  var b = x;
  var n = y;
  loop {
    if (n == 0u) { break; }
    if ((n & 1u) == 1u) { acc = acc * b; }
    b = b * b;
    n = n >> 1u;
  }
  return acc;
}
fn tf_round_f16(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let s = b & 0x80000000u;
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) { return x; }
  if (a >= 0x477ff000u) { return bitcast<f32>(s | 0x7f800000u); }
  if (a < 0x38800000u) {
    // Below float16's smallest normal the quantum is 2^-24: round the scaled value to an integer, ties to even.
    let q = round(bitcast<f32>(a) * 16777216.0) / 16777216.0;
    return bitcast<f32>(s | bitcast<u32>(q));
  }
  let r = a + 0xfffu + ((a >> 13u) & 1u);
  return bitcast<f32>(s | (r & 0xffffe000u));
}
`;
