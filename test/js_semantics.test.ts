// How arrays behave under JS's own operators and protocols (Symbol.toPrimitive,
// valueOf, toString, toJSON, util.inspect, structuredClone), eagerly and
// under jit, grad and vmap. A concrete 0-d array converts to its number; a
// non-scalar one throws ArrayConversionError; an abstract tracer (jit, vmap)
// throws ConcretizationError naming the fix; grad's tracers of eager values
// are concrete, so JS control flow on them works, as in JAX.

import util from "node:util";
import { describe, expect, it } from "vitest";
import { ArrayConversionError, ConcretizationError, TracerError, grad, jit, lax, makeJaxpr, np, vmap, type Tracer } from "../src/index";

/** Each JS use of an array that needs a primitive value. */
const traps: Record<string, (x: Tracer) => unknown> = {
  comparison: (x) => (x as unknown as number) > 0,
  arithmetic: (x) => (x as unknown as number) * 2,
  "addition (default hint)": (x) => (x as unknown as number) + 1,
  "if on a comparison": (x) => {
    if ((x as unknown as number) > 0) return 1;
    return -1;
  },
  "loop bound": (x) => {
    let n = 0;
    for (let i = 0; i < (x as unknown as number); i++) n++;
    return n;
  },
  "Number()": (x) => Number(x),
  "JSON.stringify": (x) => JSON.stringify(x),
};

/** float32 whatever the number policy makes of integer-valued JS numbers. */
const f32 = (v: number | number[] | number[][]) => np.array(v, { dtype: "float32" });

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

const FIXES = /np\.greater[\s\S]*np\.where[\s\S]*lax\.cond[\s\S]*lax\.foriLoop[\s\S]*lax\.whileLoop[\s\S]*staticArgnums/;

describe("eager arrays", () => {
  const s = f32(2.5);
  it("a concrete scalar converts to its number for every operator", () => {
    expect(traps.comparison(s)).toBe(true);
    expect(traps.arithmetic(s)).toBe(5);
    expect(traps["addition (default hint)"](s)).toBe(3.5);
    expect(traps["if on a comparison"](s)).toBe(1);
    expect(traps["loop bound"](s)).toBe(3);
    expect(traps["Number()"](s)).toBe(2.5);
    expect(JSON.parse(traps["JSON.stringify"](s) as string)).toEqual({ dtype: "float32", shape: [], data: 2.5 });
  });
  it("reductions feed JS control flow: if (x.sum() > 3)", () => {
    const x = f32([1, 2, 3]);
    expect((x.sum() as unknown as number) > 3).toBe(true);
    expect((x.max() as unknown as number) < 3).toBe(false);
    expect(Number(np.array([1, 2], { dtype: "int32" }).sum())).toBe(3);
  });
  it("bool and int scalars: number hint gives 0/1 and integers, the default hint the item", () => {
    const t = np.greater(f32(2), 1);
    expect(Number(t)).toBe(1);
    expect(t.valueOf()).toBe(true);
    expect(+np.array(7, { dtype: "int32" })).toBe(7);
  });
  for (const [name, use] of Object.entries(traps)) {
    if (name === "JSON.stringify") continue;
    it(`${name} on a non-scalar array throws ArrayConversionError naming the elementwise forms`, () => {
      const err = thrown(() => use(f32([1, 2, 3])));
      expect(err).toBeInstanceOf(ArrayConversionError);
      expect(err.message).toMatch(/shape \[3\]/);
      expect(err.message).toMatch(/np\.greater[\s\S]*np\.where/);
    });
  }
  it("template literals and String() print like numpy", () => {
    const x = f32([[1, 2], [3, 4.5]]);
    expect(`${x}`).toBe(String(x));
    expect(`${x}`).toMatch(/^Array\(\[\[1\. *, 2\. *\],\n\s+\[3\. *, 4\.5\]\], dtype=float32\)$/);
    expect(`${np.array(3, { dtype: "int32" })}`).toBe("Array(3, dtype=int32)");
  });
  it("util.inspect (console.log) prints the numpy form, not backend state", () => {
    const x = f32([1.5, 2]);
    expect(util.inspect(x)).toBe(String(x));
    expect(util.inspect({ w: x })).toContain("Array([1.5, 2. ], dtype=float32)");
  });
  it("JSON.stringify writes { dtype, shape, data } with nested data, and np.fromJSON reads it back", () => {
    const x = f32([[1.5, -2], [NaN, Infinity]]);
    const text = JSON.stringify(x);
    expect(text.length).toBeLessThan(200);
    expect(JSON.parse(text)).toEqual({ dtype: "float32", shape: [2, 2], data: [[1.5, -2], ["NaN", "Infinity"]] });
    const back = np.fromJSON(JSON.parse(text));
    expect(back.dtype).toBe("float32");
    expect(back.shape).toEqual([2, 2]);
    expect(Array.from(back.dataSync())).toEqual([1.5, -2, NaN, Infinity]);
    const b = np.array([true, false]);
    expect(JSON.parse(JSON.stringify(b))).toEqual({ dtype: "bool", shape: [2], data: [true, false] });
    expect(np.fromJSON(JSON.parse(JSON.stringify(b))).tolist()).toEqual([true, false]);
    const i = np.array([[7], [-3]], { dtype: "int32" });
    expect(np.fromJSON(JSON.parse(JSON.stringify({ i })).i).tolist()).toEqual([[7], [-3]]);
  });
  it("np.fromJSON rejects malformed input with a typed error", () => {
    expect(() => np.fromJSON('{"dtype":"float32"}')).toThrow(/parse it first/);
    expect(() => np.fromJSON({ dtype: "float64", shape: [1], data: [1] })).toThrow(/dtype float64 is not supported/);
    expect(() => np.fromJSON({ dtype: "float32", shape: [2], data: [1] })).toThrow(/length 2/);
    expect(() => np.fromJSON({ dtype: "float32", shape: [1], data: ["x"] })).toThrow(/data\[0\]/);
  });
  it("structuredClone of an Array throws DataCloneError; toTransferable / np.fromTransferable carry it", () => {
    const x = f32([[1, 2, 3]]);
    expect(() => structuredClone(x)).toThrow(expect.objectContaining({ name: "DataCloneError" }));
    const t = x.toTransferable();
    const cloned = structuredClone(t, { transfer: [t.data.buffer] });
    expect(cloned.data).toBeInstanceOf(Float32Array);
    const back = np.fromTransferable(cloned);
    expect(back.shape).toEqual([1, 3]);
    expect(back.tolist()).toEqual([[1, 2, 3]]);
    // the transferable form is a copy: moving it leaves x intact
    expect(x.tolist()).toEqual([[1, 2, 3]]);
    expect(() => np.fromTransferable({ dtype: "float32", shape: [2], data: [1, 2] })).toThrow(/typed array/);
  });
});

describe("abstract tracers (jit, vmap, makeJaxpr) throw ConcretizationError", () => {
  const transforms: Record<string, (f: (x: Tracer) => unknown, x: Tracer) => unknown> = {
    jit: (f, x) => jit((a: Tracer) => (f(a), a))(x),
    vmap: (f, x) => vmap((a: Tracer) => (f(a), a))(x),
    makeJaxpr: (f, x) => makeJaxpr((a: Tracer) => (f(a), a))(x),
    "grad inside jit": (f, x) => jit(grad((a: Tracer) => (f(a), a.sum())))(x),
  };
  for (const [tname, apply] of Object.entries(transforms)) {
    for (const [name, use] of Object.entries(traps)) {
      it(`${tname}: ${name}`, () => {
        const arg = tname === "vmap" ? f32([1, 2]) : f32(1.5);
        const err = thrown(() => apply(use, arg));
        expect(err).toBeInstanceOf(ConcretizationError);
        expect(err).toBeInstanceOf(TracerError);
        expect(err.message).toMatch(/abstract tracer \(f32\[\]\)/);
        expect(err.message).toMatch(FIXES);
      });
    }
    it(`${tname}: template literals and util.inspect describe the tracer instead of throwing`, () => {
      const seen: string[] = [];
      const arg = tname === "vmap" ? f32([1, 2]) : f32(1.5);
      apply((a) => seen.push(`${a}`, util.inspect(a)), arg);
      expect(seen[0]).toMatch(/^Traced<f32\[\]>with<\w+Trace>$/);
      expect(seen[1]).toBe(seen[0]);
    });
    it(`${tname}: structuredClone throws DataCloneError and toTransferable names the fix`, () => {
      const arg = tname === "vmap" ? f32([1, 2]) : f32(1.5);
      apply((a) => {
        expect(() => structuredClone(a)).toThrow(expect.objectContaining({ name: "DataCloneError" }));
        expect(() => a.toTransferable()).toThrow(ConcretizationError);
      }, arg);
    });
  }
  it("the fixes the message names work: np.where, lax.cond, lax.foriLoop, staticArgnums", () => {
    const x = f32([-1, 2]);
    const relu = jit((a: Tracer) => np.where(np.greater(a, 0), a, 0));
    expect(relu(x).tolist()).toEqual([0, 2]);
    const branch = jit((a: Tracer) => lax.cond(np.greater(a.sum(), 0), (b: Tracer) => b.mul(2), (b: Tracer) => b.neg(), a));
    expect(branch(x).tolist()).toEqual([-2, 4]);
    const loop = jit((n: Tracer, a: Tracer) => lax.foriLoop(0, n, (_i: Tracer, acc: Tracer) => acc.add(1), a));
    expect(Number(loop(np.array(3, { dtype: "int32" }), f32(0.5)))).toBe(3.5);
    const unrolled = jit((n: number, a: Tracer) => {
      let acc = a;
      for (let i = 0; i < n; i++) acc = acc.add(1);
      return acc;
    }, { staticArgnums: [0] });
    expect(Number(unrolled(3, f32(0.5)))).toBe(3.5);
  });
});

describe("grad of an eager function sees concrete values (as in JAX)", () => {
  it("JS control flow on the differentiated input works", () => {
    const absLike = (x: Tracer) => ((x as unknown as number) > 0 ? x.mul(x) : x.neg());
    expect(Number(grad(absLike)(f32(3)))).toBe(6);
    expect(Number(grad(absLike)(f32(-3)))).toBe(-1);
  });
  it("a loop bounded by a concrete intermediate value runs", () => {
    const f = (x: Tracer) => {
      let acc = x;
      for (let i = 1; i < (x.mul(2) as unknown as number); i++) acc = acc.mul(x);
      return acc;
    };
    // x = 2: the loop runs 3 times, f = x^4, f' = 4x^3 = 32
    expect(Number(grad(f)(f32(2)))).toBe(32);
  });
  it("Number(), JSON.stringify and item() of a concrete tracer give its value", () => {
    const seen: unknown[] = [];
    grad((x: Tracer) => {
      seen.push(Number(x), JSON.parse(JSON.stringify(x)), x.item(), `${x}`);
      return x;
    })(f32(1.5));
    expect(seen.slice(0, 3)).toEqual([1.5, { dtype: "float32", shape: [], data: 1.5 }, 1.5]);
    expect(seen[3]).toBe("Array(1.5, dtype=float32)");
  });
  it("a non-scalar tracer under grad still throws ArrayConversionError", () => {
    const err = thrown(() => grad((x: Tracer) => ((x as unknown as number) > 0 ? x.sum() : x.sum()))(f32([1, 2])));
    expect(err).toBeInstanceOf(ArrayConversionError);
  });
  it("vmap under grad is abstract again", () => {
    const err = thrown(() => grad((x: Tracer) => vmap((r: Tracer) => ((r as unknown as number) > 0 ? r : r.neg()))(x).sum())(f32([1, 2])));
    expect(err).toBeInstanceOf(ConcretizationError);
  });
});
