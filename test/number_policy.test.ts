// Tests of tinyflow's number policy: how JS values become arrays. JS numbers
// and nested number lists are float32 (scalars weakly typed, as Python
// scalars in JAX), booleans bool, typed arrays keep their element type, and
// integer dtypes come only from { dtype }, integer typed arrays or index
// functions. Every way a value can fail to fit an integer dtype, and every
// unknown dtype, is a DTypeError naming the API, the value and the fix. The
// front ends (tf1, eager) and the transformations follow the same policy.

import { describe, expect, it } from "vitest";
import { DTypeError, grad, jit, jvp, lax, np, vmap, type Tracer } from "../src/index";
import * as random from "../src/random";
import * as tf from "../src/frontends/tf1";
import { tensor } from "../src/frontends/eager";

const L = (x: Tracer) => x.tolist();

describe("JS values become arrays of documented dtypes", () => {
  it("numbers and nested number lists are float32 whatever their values", () => {
    for (const data of [[1, 2, 3], [1.0, 2.0], [[1, 2], [3, 4]], [0], []]) {
      expect(np.array(data as number[]).dtype).toBe("float32");
    }
    expect(np.array([1, 2.5]).dtype).toBe("float32");
    // Values JAX would put in an integer dtype stay exact floats instead of clamping.
    expect(L(np.array([2 ** 31]))).toEqual([2147483648]);
    expect(L(np.array([1e40]))).toEqual([Infinity]);
    expect(L(np.array([0.1]))).toEqual([Math.fround(0.1)]);
  });

  it("a bare number is a weakly typed float32 scalar; a dtype makes it strong", () => {
    const s = np.array(2);
    expect([s.dtype, s.weakType, s.shape]).toEqual(["float32", true, []]);
    expect(np.array(2.0).dtype).toBe("float32");
    const i = np.array(2, { dtype: "int32" });
    expect([i.dtype, i.weakType]).toEqual(["int32", false]);
  });

  it("booleans are bool; numbers mixed with booleans are float32", () => {
    expect(np.array(true).dtype).toBe("bool");
    expect(np.array([[true], [false]]).dtype).toBe("bool");
    const m = np.array([true, 2]);
    expect(m.dtype).toBe("float32");
    expect(L(m)).toEqual([1, 2]);
  });

  it("typed arrays keep their element type (narrow integers widen to int32, Float64Array narrows to float32)", () => {
    const cases: [ArrayBufferView, string][] = [
      [new Float32Array([1.5]), "float32"],
      [new Float64Array([1.5]), "float32"],
      [new Int32Array([-7]), "int32"],
      [new Int16Array([-7]), "int32"],
      [new Int8Array([-7]), "int32"],
      [new Uint8Array([7]), "int32"],
      [new Uint8ClampedArray([7]), "int32"],
      [new Uint16Array([7]), "int32"],
      [new Uint32Array([4294967295]), "uint32"],
    ];
    for (const [data, dtype] of cases) expect(np.array(data as never).dtype, data.constructor.name).toBe(dtype);
    expect(L(np.array(new Uint32Array([4294967295])))).toEqual([4294967295]);
    expect(L(np.array(new Float64Array([0.1])))).toEqual([Math.fround(0.1)]);
  });

  it("nested arrays promote with the numbers around them", () => {
    const i = np.array([1, 2], { dtype: "int32" });
    expect(np.array([i, i]).dtype).toBe("int32");
    expect(np.array([i, [3, 4]]).dtype).toBe("int32"); // integer-valued numbers next to int arrays are weak ints
    expect(np.array([i, [3, 4.5]]).dtype).toBe("float32");
    expect(np.array([new Int32Array([1]), new Int32Array([2])]).dtype).toBe("int32");
  });

  it("zeros/ones/full/*Like/eye/linspace default to float32; iota, argmax and randint give int32", () => {
    expect(np.full([2], 7).dtype).toBe("float32");
    expect(np.fullLike(3, 1).dtype).toBe("float32");
    expect(np.zerosLike(3).dtype).toBe("float32");
    expect(np.onesLike(true).dtype).toBe("bool");
    expect(np.iota(3).dtype).toBe("int32");
    expect(np.argmax(np.array([1, 3, 2])).dtype).toBe("int32");
    expect(np.argsort(np.array([3, 1, 2])).dtype).toBe("int32");
    expect(random.randint(random.key(0), [4], 0, 10).dtype).toBe("int32");
  });
});

describe("arange", () => {
  it("is float32 by default: arange(5) and arange(5.0) are the same call in JS", () => {
    const a = np.arange(5.0);
    expect(a.dtype).toBe("float32");
    expect(L(a)).toEqual([0, 1, 2, 3, 4]);
    expect(np.arange(5).dtype).toBe("float32");
    expect(np.arange(1, 7, 2).dtype).toBe("float32");
  });

  it("gives int32 (or uint32) when asked, checking start, step and the last value", () => {
    const a = np.arange(5, { dtype: "int32" });
    expect(a.dtype).toBe("int32");
    expect(L(a)).toEqual([0, 1, 2, 3, 4]);
    expect(L(np.arange(5, 0, -2, { dtype: "int32" }))).toEqual([5, 3, 1]);
    expect(L(np.arange(0, 2.5, 1, { dtype: "int32" }))).toEqual([0, 1, 2]); // stop need not be an integer
    expect(() => np.arange(0, 2, 0.5, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => np.arange(0, 2, 0.5, { dtype: "int32" })).toThrow(/arange \(step\): 0\.5 is not an integer and cannot be stored as int32/);
    expect(() => np.arange(0.5, 2, { dtype: "int32" })).toThrow(/arange \(start\)/);
    expect(() => np.arange(-3, 0, { dtype: "uint32" })).toThrow(/arange \(start\): -3 is out of range for uint32/);
    expect(() => np.arange(2 ** 31 - 2, 2 ** 31 + 1, { dtype: "int32" })).toThrow(/arange \(last value\): 2147483648 is out of range for int32/);
  });
});

describe("linspace", () => {
  it("is float32 by default; integer dtypes floor each point and reject points out of range", () => {
    expect(np.linspace(0, 1, 3).dtype).toBe("float32");
    const i = np.linspace(-1, 1, 5, { dtype: "int32" });
    expect([i.dtype, L(i)]).toEqual(["int32", [-1, -1, 0, 0, 1]]);
    expect(() => np.linspace(-1, 1, 3, { dtype: "uint32" })).toThrow(/linspace: -1 is out of range for uint32/);
  });
});

describe("integer dtypes accept integers in range, nothing else", () => {
  it("out-of-range values are errors, not clamps", () => {
    expect(() => np.array(3e9, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => np.array(3e9, { dtype: "int32" })).toThrow(/array: 3000000000 is out of range for int32 \[-2147483648, 2147483647\]/);
    expect(() => np.array(2 ** 40, { dtype: "int32" })).toThrow(/out of range for int32/);
    expect(() => np.array(-1, { dtype: "uint32" })).toThrow(/array: -1 is out of range for uint32 \[0, 4294967295\]/);
    expect(() => np.array([1, 2 ** 32], { dtype: "uint32" })).toThrow(/4294967296 is out of range for uint32/);
    expect(() => np.array(new Uint32Array([2 ** 31]), { dtype: "int32" })).toThrow(/2147483648 is out of range for int32/);
    expect(() => np.array(new Int32Array([-1]), { dtype: "uint32" })).toThrow(/-1 is out of range for uint32/);
    expect(() => np.full([2], 2 ** 32, { dtype: "uint32" })).toThrow(/full: 4294967296 is out of range for uint32/);
    // The extremes themselves fit.
    expect(L(np.array([-(2 ** 31), 2 ** 31 - 1], { dtype: "int32" }))).toEqual([-2147483648, 2147483647]);
    expect(L(np.array(2 ** 32 - 1, { dtype: "uint32" }))).toBe(4294967295);
  });

  it("fractions are errors (numpy and JAX truncate; a JS user cannot see the difference between 1.5 and a bug)", () => {
    expect(() => np.array(1.5, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => np.array(1.5, { dtype: "int32" })).toThrow(/array: 1\.5 is not an integer and cannot be stored as int32; round it first/);
    expect(() => np.array([1, 2.5], { dtype: "uint32" })).toThrow(/2\.5 is not an integer/);
    expect(() => np.array(new Float32Array([0.5]), { dtype: "int32" })).toThrow(/0\.5 is not an integer/);
    // The explicit cast of an array keeps C-style truncation, as astype does in JAX.
    expect(L(np.array([1.5, -1.5]).astype("int32"))).toEqual([1, -1]);
  });

  it("NaN and ±Infinity are errors for integer dtypes", () => {
    for (const v of [NaN, Infinity, -Infinity]) {
      expect(() => np.array(v, { dtype: "int32" })).toThrow(DTypeError);
      expect(() => np.array([v], { dtype: "uint32" })).toThrow(/is not an integer and cannot be stored as uint32; use a float dtype/);
    }
  });

  it("a JS number meeting an integer array must fit it (JAX raises OverflowError)", () => {
    const i = np.array([1, 2], { dtype: "int32" });
    expect(() => i.add(2 ** 40)).toThrow(DTypeError);
    expect(() => i.add(2 ** 40)).toThrow(/add: 1099511627776 is out of range for int32/);
    expect(() => np.array([1], { dtype: "uint32" }).add(-1)).toThrow(/add: -1 is out of range for uint32/);
    // lax does not promote: a fraction cannot silently become an integer there either.
    expect(() => lax.add(i, 1.5)).toThrow(/lax\.add|add: 1\.5 is not an integer/);
  });
});

describe("unknown and unsupported dtypes", () => {
  it("np.float64 exists and is rejected with the reason", () => {
    expect(np.float64).toBe("float64");
    expect(() => np.array([1], { dtype: np.float64 as never })).toThrow(DTypeError);
    expect(() => np.array([1], { dtype: np.float64 as never })).toThrow(
      /array: dtype float64 is not supported: tinyflow computes in float32 \(as JAX does without jax_enable_x64\).*tinyflow's dtypes are bool, int32, uint32, float16, float32/,
    );
    expect(() => np.zeros([2], { dtype: np.int64 as never })).toThrow(/zeros: dtype int64 is not supported: tinyflow's integers are 32-bit/);
    expect(() => np.array([1]).astype(np.float64 as never)).toThrow(/dtype float64 is not supported/);
    expect(() => np.array([1], "uint8" as never)).toThrow(/dtype uint8 is not supported/);
  });

  it("a typo or a non-string is an unknown dtype naming the accepted ones", () => {
    expect(() => np.array([1], { dtype: "flaot32" as never })).toThrow(/array: unknown dtype "flaot32"; tinyflow's dtypes are bool, int32, uint32, float16, float32/);
    expect(() => np.arange(3, { dtype: 32 as never })).toThrow(/arange: unknown dtype 32/);
  });

  it("{ dtype: undefined } and { dtype: null } mean the default", () => {
    expect(np.array([1], { dtype: undefined }).dtype).toBe("float32");
    expect(np.array([1], { dtype: null }).dtype).toBe("float32");
    expect(np.zeros([1], { dtype: undefined }).dtype).toBe("float32");
  });

  it("64-bit integer typed arrays are rejected with the fix", () => {
    expect(() => np.array(new BigInt64Array([1n]) as never)).toThrow(/array: BigInt64Array is not supported.*convert it to an Int32Array/);
  });
});

describe("JS numbers meeting arrays (weak typing)", () => {
  it("take the array's dtype when they fit it", () => {
    const i = np.array([1, 2], { dtype: "int32" });
    expect(i.add(1).dtype).toBe("int32");
    expect(L(i.add(1))).toEqual([2, 3]);
    expect(np.array([1], { dtype: "uint32" }).mul(3).dtype).toBe("uint32");
    const h = np.array([1.5], { dtype: "float16" });
    expect(h.mul(2).dtype).toBe("float16");
    expect(h.add(0.1).dtype).toBe("float16");
    const f = np.array([1, 2]);
    expect(f.add(1).dtype).toBe("float32");
    expect(f.add(1).weakType).toBe(false);
  });

  it("a fraction promotes an integer array to float32, as a Python float does", () => {
    const i = np.array([1, 2], { dtype: "int32" });
    const r = i.add(0.5);
    expect(r.dtype).toBe("float32");
    expect(L(r)).toEqual([1.5, 2.5]);
    expect(np.clip(i, 0, 1.5).dtype).toBe("float32");
    expect(np.clip(i, 0, 1).dtype).toBe("int32");
  });

  it("two JS numbers give a weak float32", () => {
    const r = np.add(1, 2);
    expect([r.dtype, r.weakType, L(r)]).toEqual(["float32", true, 3]);
  });

  it("JS lists and numbers used as indices are int32, checked", () => {
    const x = np.array([10, 20, 30]);
    expect(L(np.take(x, 2))).toBe(30);
    expect(L(np.take(x, [0, 2]))).toEqual([10, 30]);
    expect(() => np.take(x, [0.5])).toThrow(/take \(indices\): 0\.5 is not an integer/);
    expect(() => np.take(x, np.array([0, 2]))).toThrow(/take: indices must be integers, got f32\[2\]; build them with \{ dtype: "int32" \}/);
    expect(() => x.slice(np.array([0, 2]))).toThrow(/index arrays must be integers or booleans.*\{ dtype: "int32" \}/);
    expect(L(x.slice(np.array([0, 2], { dtype: "int32" })))).toEqual([10, 30]);
  });

  it("branch indices and loop bounds given as JS numbers are integers", () => {
    const branches = [(v: Tracer) => v.add(1), (v: Tracer) => v.mul(10)];
    expect(L(lax.switch(1, branches, np.array(2)) as Tracer)).toBe(20);
    expect(() => lax.switch(0.5, branches, np.array(2))).toThrow(DTypeError);
    expect(() => lax.switch(0.5, branches, np.array(2))).toThrow(/switch: index must be an integer, got 0\.5/);
    expect(L(lax.foriLoop(0, 4, (i: Tracer, v: Tracer) => v.add(i), np.array(0, { dtype: "int32" })) as Tracer)).toBe(6);
  });
});

describe("transformations take JS numbers as JAX takes Python floats", () => {
  const f = (x: Tracer | number) => np.multiply(np.sin(x), x);
  const df = (x: number) => Math.cos(x) * x + Math.sin(x);

  it("grad(f)(2) and grad(f)(2.0) give the float32 gradient", () => {
    for (const x of [2, 2.0, 0.5]) {
      const g = grad(f)(x) as Tracer;
      expect(g.dtype).toBe("float32");
      expect(g.item() as number).toBeCloseTo(df(x), 5);
    }
    expect((grad((x: number) => np.multiply(x, x))(3) as Tracer).item()).toBe(6);
  });

  it("jvp, vmap and jit accept JS numbers as weak float32 scalars", () => {
    const [y, t] = jvp(f, [2], [1]) as [Tracer, Tracer];
    expect(y.dtype).toBe("float32");
    expect(y.item() as number).toBeCloseTo(Math.sin(2) * 2, 5);
    expect(t.item() as number).toBeCloseTo(df(2), 5);
    const v = vmap((x: Tracer, c: Tracer | number) => x.mul(c), { inAxes: [0, null] })(np.array([1, 2]), 3) as Tracer;
    expect([v.dtype, L(v)]).toEqual(["float32", [3, 6]]);
    const j = jit((x: Tracer, c: Tracer | number) => x.add(c));
    const out = j(np.array([1, 2], { dtype: "float16" }), 2) as Tracer;
    expect(out.dtype).toBe("float16"); // the weak scalar argument takes the array's dtype
    expect(L(out)).toEqual([3, 4]);
    expect((jit(f)(2) as Tracer).dtype).toBe("float32");
  });
});

describe("the front ends follow the same policy", () => {
  it("tf1: tf.constant, tf.fill and tf.range make float32 from JS numbers; typed arrays and dtypes give integers", () => {
    expect(tf.constant(1).dtype).toBe("float32");
    expect(tf.constant([1, 2]).dtype).toBe("float32");
    expect(tf.constant(new Int32Array([1, 2])).dtype).toBe("int32");
    expect(tf.constant([1, 2], tf.int32).dtype).toBe("int32");
    expect(() => tf.constant([1.5], tf.int32)).toThrow(DTypeError);
    expect(tf.fill([2], 3).dtype).toBe("float32");
    expect(tf.range(4).dtype).toBe("float32");
    expect(tf.range(4, undefined, 1, tf.int32).dtype).toBe("int32");
    const sess = new tf.Session();
    const i = tf.constant([1, 2], tf.int32);
    const r = sess.run(tf.add(i, 1)) as Tracer;
    expect([r.dtype, L(r)]).toEqual(["int32", [2, 3]]);
  });

  it("eager: tensor() makes strong float32 from JS numbers; typed arrays and dtypes give integers", () => {
    const t = tensor(3);
    expect([t.dtype, t.value.weakType]).toEqual(["float32", false]);
    expect(tensor([1, 2]).dtype).toBe("float32");
    expect(tensor(new Int32Array([1])).dtype).toBe("int32");
    expect(tensor(new Uint32Array([1]) as never).dtype).toBe("uint32");
    expect(tensor([1, 2], { dtype: "int32" }).dtype).toBe("int32");
    expect(tensor([true]).dtype).toBe("bool");
    expect(() => tensor([2 ** 31], { dtype: "int32" })).toThrow(DTypeError);
  });
});
