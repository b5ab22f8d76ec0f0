// Tests of the run-time WASM code generator (src/backends/wasm/codegen): the
// assembler's modules validate and run (plain and shared memories); every
// scalar op of the kernel compiler, vectorised, against a JS reference that
// follows the interpreter's semantics, on sizes 0..1000, strided, broadcast and
// reversed operands, for float32 / int32 / uint32 / bool; reductions over
// inner / outer / all axes; fused DAGs; the kernel cache; and the ulp accuracy
// of the vectorised special functions against Math.* in f64.
import { describe, expect, it } from "vitest";
import { roundToDType } from "../src/core/dtype";
import { erf, intDiv, intRem, powC, roundHalfAway, shiftLeft, shiftRightLogical, sign, wrapFor } from "../src/backends/interpreter/math";
import { FuncBuilder, ModuleBuilder, memoryImportFor, probeRelaxedSimd } from "../src/backends/wasm/codegen/assembler";
import { sleb, uleb } from "../src/backends/wasm/codegen/wasm_encoding";
import {
  compileKernel,
  compiledModuleCount,
  relaxedSimdAvailable,
  type KDType,
  type KernelNode,
  type KernelSpec,
  type ReduceOp,
} from "../src/backends/wasm/codegen/kernel";
import { binarySpec, contiguous, tanhSpec, unarySpec } from "./kernel_specs";

// --- helpers ---------------------------------------------------------------------------

let seed = 1;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

/** A bump allocator over a memory, 16-byte aligned. */
class Arena {
  private top = 64;
  constructor(readonly memory: WebAssembly.Memory) {}
  alloc(bytes: number): number {
    const p = this.top;
    this.top += Math.ceil(Math.max(bytes, 1) / 16) * 16 + 16;
    const need = this.top - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return p;
  }
  reset(): void {
    this.top = 64;
  }
}

const esize = (d: KDType): number => (d === "bool" ? 1 : 4);

function view(memory: WebAssembly.Memory, d: KDType, ptr: number, n: number): Float32Array | Int32Array | Uint32Array | Uint8Array {
  const buf = memory.buffer;
  if (d === "float32") return new Float32Array(buf, ptr, n);
  if (d === "int32") return new Int32Array(buf, ptr, n);
  if (d === "uint32") return new Uint32Array(buf, ptr, n);
  return new Uint8Array(buf, ptr, n);
}

const SPECIAL_F = [0, -0, NaN, Infinity, -Infinity, 1, -1, 0.5, -0.5, 1.5, -2.5, 2.5, 3e38, -3e38, 1e-40, -7];
const SPECIAL_I = [0, 1, -1, 2, -2, 7, -7, 31, 32, 33, -2147483648, 2147483647];

function randomValues(d: KDType, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (d === "bool") out.push(r < 0.5 ? 1 : 0);
    else if (d === "float32") out.push(Math.fround(r < 0.15 ? SPECIAL_F[Math.floor(rnd() * SPECIAL_F.length)] : (rnd() - 0.5) * 10));
    else if (d === "int32") out.push(r < 0.2 ? SPECIAL_I[Math.floor(rnd() * SPECIAL_I.length)] : r < 0.6 ? Math.floor((rnd() - 0.5) * 40) : (rnd() * 2 ** 32) | 0);
    else out.push(r < 0.2 ? SPECIAL_I[Math.floor(rnd() * SPECIAL_I.length)] >>> 0 : r < 0.6 ? Math.floor(rnd() * 40) : (rnd() * 2 ** 32) >>> 0);
  }
  return out;
}

// --- a JS reference with the interpreter's semantics -----------------------------------------

function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : Object.is(x, -0) || (x < 0 && r === 0) ? -0 : r;
}

function refOp(node: Exclude<KernelNode, { op: "input" } | { op: "const" }>, args: number[], adt: KDType[]): number {
  const dt = node.dtype;
  const a0 = adt[0];
  const [a, b, c] = args;
  const F = a0 === "float32";
  const B = a0 === "bool";
  const w = wrapFor(dt);
  const fin = (v: number): number => roundToDType(dt, v);
  switch (node.op) {
    case "add": return F ? fin(a + b) : w(a + b);
    case "sub": return F ? fin(a - b) : w(a - b);
    case "mul": return F ? fin(a * b) : B ? a & b : dt === "int32" ? Math.imul(a, b) : Math.imul(a, b) >>> 0;
    case "div": return F ? fin(a / b) : intDiv(a, b, dt);
    case "rem": return w(intRem(a, b));
    case "max": return Math.max(a, b);
    case "min": return Math.min(a, b);
    case "pow": return fin(powC(a, b));
    case "and": return w(a & b);
    case "or": return w(a | b);
    case "xor": return w(a ^ b);
    case "not": return B ? (a ? 0 : 1) : w(~a);
    case "shift_left": return w(shiftLeft(a, b));
    case "shift_right_logical": return w(shiftRightLogical(a, b));
    case "neg": return F ? -a : w(-a);
    case "abs": return F ? Math.abs(a) : w(Math.abs(a));
    case "sign": return sign(a);
    case "floor": return Math.floor(a);
    case "ceil": return Math.ceil(a);
    case "round": return roundHalfAway(a);
    case "nearest": return roundHalfEven(a);
    case "trunc": return Math.trunc(a);
    case "is_finite": return Number.isFinite(a) ? 1 : 0;
    case "exp": return fin(Math.exp(a));
    case "log": return fin(Math.log(a));
    case "log1p": return fin(Math.log1p(a));
    case "expm1": return fin(Math.expm1(a));
    case "tanh": return fin(Math.tanh(a));
    case "logistic": return fin(1 / (1 + Math.exp(-a)));
    case "erf": return fin(erf(a));
    case "sin": return fin(Math.sin(a));
    case "cos": return fin(Math.cos(a));
    case "sqrt": return fin(Math.sqrt(a));
    case "rsqrt": return fin(1 / Math.sqrt(a));
    case "eq": return a === b ? 1 : 0;
    case "ne": return a !== b ? 1 : 0;
    case "lt": return a < b ? 1 : 0;
    case "le": return a <= b ? 1 : 0;
    case "gt": return a > b ? 1 : 0;
    case "ge": return a >= b ? 1 : 0;
    case "select": return Math.min(Math.max(a0 === "uint32" ? (a ? 1 : 0) : a, 0), 1) === 1 ? c : b;
    case "clamp": return Math.min(Math.max(b, a), c);
    case "convert": {
      if (dt === "bool") return a !== 0 ? 1 : 0;
      if (dt === "float32" || F) return roundToDType(dt, a);
      return w(a);
    }
    case "integer_pow": {
      const y = node.y;
      const mul = (p: number, q: number): number => (F ? Math.fround(p * q) : B ? p & q : dt === "int32" ? Math.imul(p, q) : Math.imul(p, q) >>> 0);
      if (y === 0) return 1;
      let acc: number | null = null;
      let base = a;
      for (let e = Math.abs(y); e > 0; e = Math.floor(e / 2)) {
        if (e % 2 === 1) acc = acc === null ? base : mul(acc, base);
        if (e > 1) base = mul(base, base);
      }
      return y < 0 ? Math.fround(1 / acc!) : acc!;
    }
  }
  throw new Error(`no reference for ${(node as { op: string }).op}`);
}

const IDENT: Record<ReduceOp, (d: KDType) => number> = {
  sum: () => 0,
  prod: () => 1,
  max: (d) => (d === "float32" ? -Infinity : d === "int32" ? -2147483648 : 0),
  min: (d) => (d === "float32" ? Infinity : d === "int32" ? 2147483647 : d === "uint32" ? 4294967295 : 1),
  and: (d) => (d === "bool" ? 1 : d === "int32" ? -1 : 4294967295),
  or: () => 0,
};

/** Evaluates a spec on JS arrays of input values (indexed by strides); returns output arrays. */
function refEval(spec: KernelSpec, inputs: number[][]): number[][] {
  const shape = spec.shape;
  const nd = shape.length;
  const total = shape.reduce((p, s) => p * s, 1);
  const red = new Set(spec.reduction?.axes ?? []);
  const outSize = shape.reduce((p, s, d) => (red.has(d) ? p : p * s), 1);
  const dts: KDType[] = spec.nodes.map((n) => (n.op === "input" ? spec.inputs[n.input].dtype : n.dtype));
  const outs = spec.outputs.map((o) => new Array<number>(outSize).fill(spec.reduction ? IDENT[spec.reduction.op](o.dtype) : 0));
  const idx = new Array<number>(nd).fill(0);
  for (let flat = 0; flat < total; flat++) {
    let r = flat;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    const vals: number[] = [];
    spec.nodes.forEach((n, i) => {
      if (n.op === "input") {
        const st = spec.inputs[n.input].strides;
        let off = 0;
        for (let d = 0; d < nd; d++) off += idx[d] * st[d];
        vals[i] = inputs[n.input][off];
      } else if (n.op === "const") vals[i] = roundToDType(n.dtype, n.value);
      else vals[i] = refOp(n, n.args.map((a) => vals[a]), n.args.map((a) => dts[a]));
    });
    let o = 0;
    for (let d = 0; d < nd; d++) if (!red.has(d)) o = o * shape[d] + idx[d];
    spec.outputs.forEach((out, k) => {
      const v = vals[out.node];
      if (!spec.reduction) outs[k][o] = v;
      else {
        const acc = outs[k][o];
        const dt = out.dtype;
        const w = wrapFor(dt);
        switch (spec.reduction.op) {
          case "sum": outs[k][o] = dt === "float32" ? acc + v : w(acc + v); break;
          case "prod": outs[k][o] = dt === "float32" ? acc * v : dt === "bool" ? acc & v : dt === "int32" ? Math.imul(acc, v) : Math.imul(acc, v) >>> 0; break;
          case "max": outs[k][o] = Math.max(acc, v); break;
          case "min": outs[k][o] = Math.min(acc, v); break;
          case "and": outs[k][o] = w(acc & v); break;
          case "or": outs[k][o] = w(acc | v); break;
        }
      }
    });
  }
  return outs;
}

/** Smallest element offset and span (in elements) an input with these strides touches. */
function extent(shape: readonly number[], strides: readonly number[]): { lo: number; hi: number } {
  let lo = 0;
  let hi = 0;
  shape.forEach((s, d) => {
    if (s === 0) return;
    const span = (s - 1) * strides[d];
    if (span < 0) lo += span;
    else hi += span;
  });
  return { lo, hi };
}

interface RunResult {
  got: ArrayLike<number>[];
  want: number[][];
}

/** Compiles and runs `spec` on random (or given) inputs; returns outputs and the reference. */
function runSpec(spec: KernelSpec, opts: { memory?: WebAssembly.Memory; data?: number[][]; relaxed?: boolean } = {}): RunResult {
  const memory = opts.memory ?? new WebAssembly.Memory({ initial: 4 });
  const arena = new Arena(memory);
  const inData: number[][] = [];
  const inPtrs: number[] = [];
  spec.inputs.forEach((inp, k) => {
    const { lo, hi } = extent(spec.shape, inp.strides);
    const n = spec.shape.some((s) => s === 0) ? 0 : hi - lo + 1;
    const vals = opts.data?.[k] ?? randomValues(inp.dtype, n);
    const base = arena.alloc(n * esize(inp.dtype));
    view(memory, inp.dtype, base, n).set(vals);
    const ptr = base - lo * esize(inp.dtype); // the element at iteration index 0
    inPtrs.push(ptr);
    // reference indexing is relative to the element at iteration index 0
    inData.push(new Proxy(vals, { get: (t, p) => (typeof p === "string" && /^-?\d+$/.test(p) ? t[Number(p) - lo] : Reflect.get(t, p)) }));
  });
  const red = new Set(spec.reduction?.axes ?? []);
  const outSize = spec.shape.reduce((p, s, d) => (red.has(d) ? p : p * s), 1);
  const outPtrs = spec.outputs.map((o) => {
    const p = arena.alloc(outSize * esize(o.dtype));
    view(memory, o.dtype, p, outSize).fill(0x5a); // poison
    return p;
  });
  const k = compileKernel(spec, { memory, relaxedSimd: opts.relaxed });
  k.run(inPtrs, outPtrs, k.scratchBytes > 0 ? arena.alloc(k.scratchBytes) : undefined);
  const got = spec.outputs.map((o, i) => Array.from(view(memory, o.dtype, outPtrs[i], outSize)));
  return { got, want: refEval(spec, inData) };
}

function ulpDiff(got: number, ref: number): number {
  if (Number.isNaN(ref)) return Number.isNaN(got) ? 0 : Infinity;
  if (Number.isNaN(got)) return Infinity;
  const r32 = Math.fround(ref);
  if (!Number.isFinite(r32) || !Number.isFinite(got)) return got === r32 ? 0 : Infinity;
  const a = Math.abs(ref);
  const e = a === 0 ? -126 : Math.max(Math.floor(Math.log2(a)), -126);
  return Math.abs(got - ref) / 2 ** (e - 23);
}

/** Exact comparison (NaN == NaN, and -0 is distinguished from 0). */
function expectExact(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!Object.is(g, w)) throw new Error(`${what}: element ${i}: got ${g}, want ${w}`);
  }
}

function expectUlp(got: ArrayLike<number>, want: number[], maxUlp: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const d = ulpDiff(got[i], want[i]);
    if (!(d <= maxUlp)) throw new Error(`${what}: element ${i}: got ${got[i]}, want ${want[i]} (${d} ulp)`);
  }
}

const SIZES = [0, 1, 3, 4, 5, 17, 1000];

// --- assembler ---------------------------------------------------------------------------

describe("assembler", () => {
  it("encodes LEB128", () => {
    const u: number[] = [];
    uleb(624485, u);
    expect(u).toEqual([0xe5, 0x8e, 0x26]);
    const s: number[] = [];
    sleb(-123456, s);
    expect(s).toEqual([0xc0, 0xbb, 0x78]);
    const z: number[] = [];
    sleb(-1, z);
    sleb(63, z);
    sleb(64, z);
    expect(z).toEqual([0x7f, 0x3f, 0xc0, 0x00]);
  });

  for (const shared of [false, true]) {
    it(`builds a valid module with control flow on a ${shared ? "shared" : "plain"} imported memory`, () => {
      const memory = shared
        ? new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true })
        : new WebAssembly.Memory({ initial: 1 });
      const mb = new ModuleBuilder();
      mb.importMemory(memoryImportFor(memory));
      // sum(ptr, n): f32 sum with a block/loop/br_if, and an if/else
      const f = new FuncBuilder("sum", ["i32", "i32"], ["f32"]);
      const acc = f.local("f32");
      const i = f.local("i32");
      f.block().loop();
      f.localGet(i).localGet(1).op("i32.ge_s").brIf(1);
      f.localGet(acc).localGet(0).localGet(i).i32Const(2).op("i32.shl").op("i32.add").mem("f32.load").op("f32.add").localSet(acc);
      f.localGet(i).i32Const(1).op("i32.add").localSet(i);
      f.br(0).end().end();
      f.localGet(acc).f32Const(0).op("f32.lt").if_("f32").f32Const(-1).else_().localGet(acc).end();
      mb.addFunction(f, "sum");
      // vadd(a, b, out): one v128 add with a lane replace and an offset load
      const g = new FuncBuilder("vadd", ["i32", "i32", "i32"], []);
      g.localGet(2).localGet(0).mem("v128.load").localGet(1).mem("v128.load", 0, 2).op("f32x4.add");
      g.localGet(0).mem("f32.load", 12).lane("f32x4.replace_lane", 3).mem("v128.store");
      mb.addFunction(g, "vadd");
      const bytes = mb.encode();
      expect(WebAssembly.validate(bytes as BufferSource)).toBe(true);
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory } });
      const ex = inst.exports as { sum: (p: number, n: number) => number; vadd: (a: number, b: number, o: number) => void };
      const fa = new Float32Array(memory.buffer);
      fa.set([1, 2, 3, 4, 10, 20, 30, 40]);
      expect(ex.sum(0, 4)).toBe(10);
      fa.set([-5], 0);
      expect(ex.sum(0, 2)).toBe(-1);
      fa.set([1, 2, 3, 4], 0);
      ex.vadd(0, 16, 64);
      expect(Array.from(fa.slice(16, 20))).toEqual([11, 22, 33, 4]);
      expect(mb.text()).toContain("f32x4.add");
      expect(mb.text()).toContain(shared ? "shared" : "memory 0");
    });
  }

  it("rejects a shared memory import without a maximum and relaxed ops without the flag", () => {
    const mb = new ModuleBuilder();
    expect(() => mb.importMemory({ module: "env", name: "memory", initialPages: 0, shared: true })).toThrow(/maximum/);
    const f = new FuncBuilder("f", ["v128"], ["v128"]);
    f.localGet(0).localGet(0).localGet(0);
    expect(() => f.op("f32x4.relaxed_madd")).toThrow(/relaxed/);
  });

  it("probes relaxed SIMD and, where available, validates f32x4.relaxed_madd", () => {
    const ok = probeRelaxedSimd();
    expect(typeof ok).toBe("boolean");
    const mb = new ModuleBuilder();
    const f = new FuncBuilder("fma", ["v128", "v128", "v128"], ["v128"], { relaxedSimd: true });
    f.localGet(0).localGet(1).localGet(2).op("f32x4.relaxed_madd");
    mb.addFunction(f, "fma");
    const bytes = mb.encode();
    // opcode 0xfd 0x105 is LEB-encoded as fd 85 02
    expect(Array.from(bytes).join(",")).toContain([0xfd, 0x85, 0x02].join(","));
    expect(WebAssembly.validate(bytes as BufferSource)).toBe(ok);
  });
});

// --- elementwise ops ----------------------------------------------------------------------

const EXACT_FLOAT_UNARY = ["neg", "abs", "sign", "floor", "ceil", "round", "nearest", "trunc", "sqrt"];
const FLOAT_BINARY = ["add", "sub", "mul", "div", "max", "min"];
const COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"];
const INT_BINARY = ["add", "sub", "mul", "div", "rem", "max", "min", "and", "or", "xor", "shift_left", "shift_right_logical"];
const INT_UNARY = ["neg", "abs", "sign", "not"];

describe("elementwise kernels", () => {
  it("float32 exact unary ops on all sizes", () => {
    for (const op of EXACT_FLOAT_UNARY) {
      for (const n of SIZES) {
        const { got, want } = runSpec(unarySpec(op, "float32", "float32", [n], [1]));
        expectExact(got[0], want[0], `${op} n=${n}`);
      }
    }
  });

  it("float32 binary ops and comparisons, contiguous / broadcast / strided", () => {
    const layouts: [number[], number[], number[]][] = [
      [[1000], [1], [1]],
      [[17], [1], [0]],
      [[5], [0], [1]],
      [[7, 9], [9, 1], [1, 7]], // second operand transposed
      [[6, 5], [5, 1], [0, 1]], // row broadcast
      [[6, 5], [5, 1], [1, 0]], // column broadcast
      [[3, 4], [-4, -1], [4, 1]], // first operand reversed
      [[4, 3], [3, 1], [3, 2]], // gather stride 2
    ];
    for (const op of [...FLOAT_BINARY, ...COMPARE]) {
      const outDt: KDType = COMPARE.includes(op) ? "bool" : "float32";
      for (const [shape, sa, sb] of layouts) {
        const { got, want } = runSpec(binarySpec(op, "float32", outDt, shape, sa, sb));
        expectExact(got[0], want[0], `${op} shape=${shape} strides=${sa}/${sb}`);
      }
    }
  });

  it("int32 / uint32 ops on all sizes", () => {
    for (const dt of ["int32", "uint32"] as KDType[]) {
      for (const n of SIZES) {
        for (const op of INT_BINARY) {
          const { got, want } = runSpec(binarySpec(op, dt, dt, [n], [1], [1]));
          expectExact(got[0], want[0], `${dt} ${op} n=${n}`);
        }
        for (const op of COMPARE) {
          const { got, want } = runSpec(binarySpec(op, dt, "bool", [n], [1], [1]));
          expectExact(got[0], want[0], `${dt} ${op} n=${n}`);
        }
        for (const op of INT_UNARY) {
          const { got, want } = runSpec(unarySpec(op, dt, dt, [n], [1]));
          expectExact(got[0], want[0], `${dt} ${op} n=${n}`);
        }
      }
    }
    // strided and broadcast int operands
    const { got, want } = runSpec(binarySpec("div", "int32", "int32", [5, 6], [1, 5], [0, 1]));
    expectExact(got[0], want[0], "int32 div strided/broadcast");
  });

  it("bool ops, including strided and broadcast bool operands", () => {
    for (const op of ["and", "or", "xor", "add", "mul", "max", "min", "eq", "ne", "lt", "gt"]) {
      for (const n of [1, 3, 4, 17, 1000]) {
        const { got, want } = runSpec(binarySpec(op, "bool", "bool", [n], [1], [1]));
        expectExact(got[0], want[0], `bool ${op} n=${n}`);
      }
      const { got, want } = runSpec(binarySpec(op, "bool", "bool", [6, 7], [1, 6], [0, 1]));
      expectExact(got[0], want[0], `bool ${op} strided`);
    }
    const { got, want } = runSpec(unarySpec("not", "bool", "bool", [13], [1]));
    expectExact(got[0], want[0], "bool not");
  });

  it("convert between every pair of dtypes", () => {
    const dts: KDType[] = ["float32", "int32", "uint32", "bool"];
    for (const from of dts) {
      for (const to of dts) {
        for (const n of [0, 5, 1000]) {
          const { got, want } = runSpec(unarySpec("convert", from, to, [n], [1]));
          expectExact(got[0], want[0], `convert ${from}->${to} n=${n}`);
        }
      }
    }
    // saturation / NaN
    const data = [[NaN, Infinity, -Infinity, 3e9, -3e9, -1.5, 2.9, -0]];
    for (const to of ["int32", "uint32", "bool"] as KDType[]) {
      const { got, want } = runSpec(unarySpec("convert", "float32", to, [8], [1]), { data });
      expectExact(got[0], want[0], `convert float32->${to} edges`);
    }
  });

  it("select (bool and int predicates), clamp, is_finite, integer_pow", () => {
    for (const predDt of ["bool", "int32", "uint32"] as KDType[]) {
      for (const dt of ["float32", "int32", "bool"] as KDType[]) {
        const spec: KernelSpec = {
          shape: [4, 9],
          inputs: [
            { dtype: predDt, strides: [9, 1] },
            { dtype: dt, strides: [0, 1] },
            { dtype: dt, strides: [1, 4] },
          ],
          nodes: [
            { op: "input", input: 0 },
            { op: "input", input: 1 },
            { op: "input", input: 2 },
            { op: "select", args: [0, 1, 2], dtype: dt },
          ],
          outputs: [{ node: 3, dtype: dt }],
        };
        const { got, want } = runSpec(spec);
        expectExact(got[0], want[0], `select pred=${predDt} ${dt}`);
      }
    }
    for (const dt of ["float32", "int32", "uint32"] as KDType[]) {
      const spec: KernelSpec = {
        shape: [37],
        inputs: [
          { dtype: dt, strides: [0] },
          { dtype: dt, strides: [1] },
          { dtype: dt, strides: [0] },
        ],
        nodes: [
          { op: "input", input: 0 },
          { op: "input", input: 1 },
          { op: "input", input: 2 },
          { op: "clamp", args: [0, 1, 2], dtype: dt },
        ],
        outputs: [{ node: 3, dtype: dt }],
      };
      const { got, want } = runSpec(spec, { data: [[dt === "uint32" ? 3 : -2], randomValues(dt, 37), [4]] });
      expectExact(got[0], want[0], `clamp ${dt}`);
    }
    const fin = runSpec(unarySpec("is_finite", "float32", "bool", [50], [1]));
    expectExact(fin.got[0], fin.want[0], "is_finite");
    for (const y of [0, 1, 2, 3, 5, 8, -1, -3]) {
      const f = runSpec(unarySpec("integer_pow", "float32", "float32", [21], [1], { y }));
      expectExact(f.got[0], f.want[0], `integer_pow f32 y=${y}`);
      if (y >= 0) {
        const i = runSpec(unarySpec("integer_pow", "int32", "int32", [21], [1], { y }));
        expectExact(i.got[0], i.want[0], `integer_pow i32 y=${y}`);
      }
    }
  });

  it("transcendental ops on all sizes and layouts, within their ulp bounds", () => {
    const ops = ["exp", "log", "log1p", "expm1", "tanh", "logistic", "erf", "sin", "cos", "rsqrt"];
    for (const op of ops) {
      for (const n of SIZES) {
        const { got, want } = runSpec(unarySpec(op, "float32", "float32", [n], [1]));
        expectUlp(got[0], want[0], 3, `${op} n=${n}`);
      }
      const { got, want } = runSpec(unarySpec(op, "float32", "float32", [5, 7], [1, 5]));
      expectUlp(got[0], want[0], 3, `${op} strided`);
    }
    for (const n of SIZES) {
      const { got, want } = runSpec(binarySpec("pow", "float32", "float32", [n], [1], [1]));
      expectUlp(got[0], want[0], 1, `pow n=${n}`);
    }
  });

  it("rejects ill-typed specs with a message naming the node", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(() => compileKernel(unarySpec("exp", "int32", "int32", [4], [1]), { memory })).toThrow(/node 1 \(exp\).*float32/);
    expect(() => compileKernel(binarySpec("add", "float32", "int32", [4], [1], [1]), { memory })).toThrow(/result dtype/);
    expect(() => compileKernel(unarySpec("neg", "float32", "float32", [4], [1, 1]), { memory })).toThrow(/strides/);
    expect(() => compileKernel(binarySpec("rem", "float32", "float32", [4], [1], [1]), { memory })).toThrow(/int32 or uint32/);
  });
});

// --- reductions ----------------------------------------------------------------------------

function reduceSpec(op: ReduceOp, dt: KDType, shape: number[], axes: number[], strides = contiguous(shape)): KernelSpec {
  return {
    shape,
    inputs: [{ dtype: dt, strides }],
    nodes: [{ op: "input", input: 0 }],
    outputs: [{ node: 0, dtype: dt }],
    reduction: { op, axes },
  };
}

function expectClose(got: ArrayLike<number>, want: number[], rtol: number, atol: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) throw new Error(`${what}: element ${i}: got ${g}, want ${w}`);
  }
}

describe("reductions", () => {
  const cases: [number[], number[]][] = [
    [[1000], [0]],
    [[7], [0]],
    [[3], [0]],
    [[0], [0]],
    [[4, 0], [1]],
    [[0, 4], [1]],
    [[5, 17], [1]],
    [[5, 17], [0]],
    [[5, 17], [0, 1]],
    [[4, 6, 5], [0, 2]],
    [[4, 6, 5], [1]],
    [[3, 1, 9], [1, 2]],
    // a reduced dim of more than one block further out than just outside the innermost: levels in scratch
    [[300, 4, 5], [0, 2]],
    [[140, 3, 2, 5], [0, 2]],
    [[30, 33], [1]],
    // kept rows too wide for registers, summed into scratch rows a group of rows at a time:
    // whole groups and leftover rows, a row shorter than a vector's multiple, fewer rows than a group
    [[300, 40], [0]],
    [[130, 37], [0]],
    [[7, 50], [0]],
    [[20, 16, 36], [0, 1]],
  ];

  it("float32 sum / prod / max / min over inner, outer and all axes", () => {
    for (const op of ["sum", "prod", "max", "min"] as ReduceOp[]) {
      for (const [shape, axes] of cases) {
        const n = shape.reduce((p, s) => p * s, 1);
        // prod of values near 1 stays finite; sums of moderate values; max/min with the specials
        const data = [
          op === "prod"
            ? Array.from({ length: n }, () => Math.fround(0.9 + rnd() * 0.2))
            : op === "sum"
              ? Array.from({ length: n }, () => Math.fround(rnd() * 2 - 1))
              : randomValues("float32", n),
        ];
        const { got, want } = runSpec(reduceSpec(op, "float32", shape, axes), { data });
        if (op === "max" || op === "min") expectExact(got[0], want[0], `${op} ${shape} axes ${axes}`);
        else expectClose(got[0], want[0], 1e-5, 1e-5, `${op} ${shape} axes ${axes}`);
      }
    }
  });

  it("max propagates NaN and reductions of empty axes give the identity", () => {
    const data = [[1, 2, NaN, 4, 5, 6, 7, 8, 9]];
    const { got } = runSpec(reduceSpec("max", "float32", [9], [0]), { data });
    expect(Number.isNaN(got[0][0])).toBe(true);
    const e = runSpec(reduceSpec("min", "float32", [3, 0], [1]));
    expect(Array.from(e.got[0])).toEqual([Infinity, Infinity, Infinity]);
  });

  it("int32 / uint32 / bool reductions are exact", () => {
    for (const dt of ["int32", "uint32"] as KDType[]) {
      for (const op of ["sum", "prod", "max", "min", "and", "or"] as ReduceOp[]) {
        for (const [shape, axes] of cases) {
          const { got, want } = runSpec(reduceSpec(op, dt, shape, axes));
          expectExact(got[0], want[0], `${dt} ${op} ${shape} axes ${axes}`);
        }
      }
    }
    for (const op of ["and", "or", "max", "min"] as ReduceOp[]) {
      for (const [shape, axes] of cases) {
        const { got, want } = runSpec(reduceSpec(op, "bool", shape, axes));
        expectExact(got[0], want[0], `bool ${op} ${shape} axes ${axes}`);
      }
    }
  });

  it("reduces strided (transposed) and broadcast inputs", () => {
    // sum over axis 1 of the transpose of a [9, 6] array: iteration shape [6, 9], strides [1, 6]
    const t = runSpec(reduceSpec("sum", "float32", [6, 9], [1], [1, 6]), { data: [Array.from({ length: 54 }, (_, i) => i)] });
    expectExact(t.got[0], t.want[0], "sum of transpose");
    const b = runSpec(reduceSpec("max", "int32", [5, 8], [0], [0, 1]));
    expectExact(b.got[0], b.want[0], "max of broadcast");
    // broadcast strides keep dims apart, so the reduced dim further out is blocked with levels in scratch
    for (const [shape, axes, strides] of [[[300, 4, 5], [0], [0, 1, 0]], [[600, 3], [0, 1], [0, 1]], [[9000, 2, 3], [0], [1, 0, 9000]],
      // wide kept rows: an input broadcast along the summed rows (read at one offset by a whole group), and one broadcast along the kept row (summed row by row)
      [[300, 40], [0], [0, 1]], [[300, 40], [0], [1, 0]], [[150, 2, 40], [0, 1], [80, 40, 1]]]) {
      const n = 1 + shape.reduce((acc, len, d) => acc + (len - 1) * strides[d], 0);
      const r = runSpec(reduceSpec("sum", "float32", shape, axes, strides), { data: [Array.from({ length: n }, () => Math.fround(rnd() * 2 - 1))] });
      expectClose(r.got[0], r.want[0], 1e-5, 1e-5, `sum ${shape} axes ${axes} strides ${strides}`);
    }
  });
});

// --- fused DAGs -----------------------------------------------------------------------------

describe("fused kernels", () => {
  it("tanh(x*2+1)*x", () => {
    for (const n of SIZES) {
      const spec = tanhSpec([n], [1]);
      const { got, want } = runSpec(spec);
      expectUlp(got[0], want[0], 4, `tanh(x*2+1)*x n=${n}`);
    }
  });

  it("softmax pieces: row max, exp(x - max) with a broadcast, row sum; two outputs", () => {
    const rows = 7;
    const cols = 23;
    const memory = new WebAssembly.Memory({ initial: 2 });
    const x = Array.from({ length: rows * cols }, () => Math.fround((rnd() - 0.5) * 20));
    const m = runSpec(reduceSpec("max", "float32", [rows, cols], [1]), { memory, data: [x] });
    expectExact(m.got[0], m.want[0], "row max");
    const spec: KernelSpec = {
      shape: [rows, cols],
      inputs: [
        { dtype: "float32", strides: [cols, 1] },
        { dtype: "float32", strides: [1, 0] }, // the row max, broadcast along columns
      ],
      nodes: [
        { op: "input", input: 0 },
        { op: "input", input: 1 },
        { op: "sub", args: [0, 1], dtype: "float32" },
        { op: "exp", args: [2], dtype: "float32" },
        { op: "const", value: 0, dtype: "float32" },
        { op: "gt", args: [2, 4], dtype: "bool" },
      ],
      outputs: [
        { node: 3, dtype: "float32" },
        { node: 5, dtype: "bool" },
      ],
    };
    const e = runSpec(spec, { memory, data: [x, Array.from(m.got[0])] });
    expectUlp(e.got[0], e.want[0], 2, "exp(x - max)");
    expectExact(e.got[1], e.want[1], "x - max > 0");
    const sumSpec: KernelSpec = { ...spec, outputs: [{ node: 3, dtype: "float32" }], reduction: { op: "sum", axes: [1] } };
    const s = runSpec(sumSpec, { memory, data: [x, Array.from(m.got[0])] });
    expectClose(s.got[0], s.want[0], 1e-5, 0, "sum(exp(x - max))");
  });

  it("mixed dtypes: where(i % 3 == 0, float(i) * 0.5, -1)", () => {
    const spec: KernelSpec = {
      shape: [10, 11],
      inputs: [{ dtype: "int32", strides: [11, 1] }],
      nodes: [
        { op: "input", input: 0 },
        { op: "const", value: 3, dtype: "int32" },
        { op: "rem", args: [0, 1], dtype: "int32" },
        { op: "const", value: 0, dtype: "int32" },
        { op: "eq", args: [2, 3], dtype: "bool" },
        { op: "convert", args: [0], dtype: "float32" },
        { op: "const", value: 0.5, dtype: "float32" },
        { op: "mul", args: [5, 6], dtype: "float32" },
        { op: "const", value: -1, dtype: "float32" },
        { op: "select", args: [4, 8, 7], dtype: "float32" },
      ],
      outputs: [{ node: 9, dtype: "float32" }],
    };
    const { got, want } = runSpec(spec);
    expectExact(got[0], want[0], "where");
  });

  it("runs on a shared memory, survives memory growth, and caches compiled kernels", () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true });
    const spec = unarySpec("exp", "float32", "float32", [100], [1]);
    const r = runSpec(spec, { memory: shared });
    expectUlp(r.got[0], r.want[0], 2, "exp on shared memory");

    const memory = new WebAssembly.Memory({ initial: 1 });
    const k1 = compileKernel(spec, { memory });
    const count = compiledModuleCount();
    const k2 = compileKernel(JSON.parse(JSON.stringify(spec)) as KernelSpec, { memory });
    expect(k2).toBe(k1);
    // a different memory reuses the compiled module (same key), only instantiating again
    compileKernel(spec, { memory: new WebAssembly.Memory({ initial: 1 }) });
    expect(compiledModuleCount()).toBe(count);
    // [1, 100] canonicalises to [100]: same module
    compileKernel(unarySpec("exp", "float32", "float32", [1, 100], [0, 1]), { memory });
    expect(compiledModuleCount()).toBe(count);

    memory.grow(3);
    new Float32Array(memory.buffer, 0, 100).fill(1);
    k1.run([0], [200_000]);
    expect(new Float32Array(memory.buffer, 200_000, 100)[99]).toBe(Math.fround(Math.E));
    expect(k1.text()).toMatch(/loop[\s\S]*f32x4\.mul/);
  });

  if (probeRelaxedSimd()) {
    it("relaxed SIMD kernels stay within the same bounds", () => {
      for (const op of ["exp", "log", "tanh", "erf", "sin"]) {
        const { got, want } = runSpec(unarySpec(op, "float32", "float32", [1000], [1]), { relaxed: true });
        expectUlp(got[0], want[0], 3, `relaxed ${op}`);
      }
    });
  }
});

// --- small and oddly shaped iteration spaces ----------------------------------------------------
//
// Short rows are unrolled with the element offsets in the memargs, tails are one partial vector
// (1..3 lanes loaded and stored, masked in reductions), and the inner loop uses the parent's
// pointers: every layout of every operand, on every row length around the vector width, for
// each dtype, light and heavy (unrolled less) DAGs, elementwise and reduced over each axis.

type Layout = "contig" | "bcastRow" | "bcastCol" | "transposed" | "reversed" | "gather2";

function layoutStrides(l: Layout, [r, n]: number[]): number[] {
  switch (l) {
    case "contig": return [n, 1];
    case "bcastRow": return [0, 1]; // b[None, :]
    case "bcastCol": return [1, 0]; // m[:, None]
    case "transposed": return [1, r]; // the transpose of a row-major [n, r]
    case "reversed": return [n, -1];
    case "gather2": return [2 * n, 2];
  }
}

/** in0 (+) in1 (+) in2 over a 2-D space, then (heavy) exp / an int division; optionally reduced. */
function oddSpec(dt: KDType, shape: number[], layouts: Layout[], heavy: boolean, reduction?: { op: ReduceOp; axes: number[] }): KernelSpec {
  const comb = dt === "bool" ? "xor" : "add";
  const nodes: KernelNode[] = layouts.map((_, k) => ({ op: "input", input: k }));
  let last = 0;
  for (let k = 1; k < layouts.length; k++) {
    nodes.push({ op: comb, args: [last, k], dtype: dt } as KernelNode);
    last = nodes.length - 1;
  }
  if (heavy && dt === "float32") {
    nodes.push({ op: "const", value: 0.25, dtype: dt }, { op: "mul", args: [last, nodes.length], dtype: dt } as KernelNode);
    nodes.push({ op: "exp", args: [nodes.length - 1], dtype: dt } as KernelNode);
    last = nodes.length - 1;
  } else if (heavy && dt !== "bool") {
    nodes.push({ op: "div", args: [last, 0], dtype: dt } as KernelNode);
    last = nodes.length - 1;
  }
  return {
    shape,
    inputs: layouts.map((l) => ({ dtype: dt, strides: layoutStrides(l, shape) })),
    nodes,
    outputs: [{ node: last, dtype: dt }],
    reduction,
  };
}

/** Float inputs in [-2, 2] (exp stays tame, sums of a few stay exact enough). */
const tameData = (spec: KernelSpec): number[][] | undefined =>
  spec.inputs[0].dtype !== "float32"
    ? undefined
    : spec.inputs.map((inp) => {
        const { lo, hi } = extent(spec.shape, inp.strides);
        return Array.from({ length: hi - lo + 1 }, () => Math.fround(rnd() * 4 - 2));
      });

describe("small and oddly shaped iteration spaces", () => {
  const SHAPES = [[1, 1], [5, 1], [1, 7], [7, 2], [6, 3], [5, 5], [4, 6], [3, 7], [9, 10], [3, 13], [2, 17], [3, 21], [2, 34], [100, 10]];
  const COMBOS: Layout[][] = [
    ["contig", "bcastRow", "bcastCol"],
    ["transposed", "contig", "reversed"],
    ["gather2", "bcastCol", "transposed"],
    ["bcastRow", "reversed", "bcastCol"],
  ];

  it("elementwise: every layout, row lengths 1..34, float32 / int32 / bool, light and heavy", () => {
    for (const dt of ["float32", "int32", "bool"] as KDType[]) {
      for (const heavy of dt === "bool" ? [false] : [false, true]) {
        for (const shape of SHAPES) {
          for (const layouts of COMBOS) {
            const spec = oddSpec(dt, shape, layouts, heavy);
            const { got, want } = runSpec(spec, { data: tameData(spec) });
            const what = `${dt} ${heavy ? "heavy" : "light"} [${shape}] ${layouts.join(",")}`;
            if (heavy && dt === "float32") expectUlp(got[0], want[0], 2, what);
            else expectExact(got[0], want[0], what);
          }
        }
      }
    }
  });

  it("reductions over each axis and both, on the same layouts and row lengths", () => {
    const reds: [KDType, ReduceOp][] = [["float32", "sum"], ["float32", "max"], ["int32", "sum"], ["int32", "min"], ["bool", "or"], ["bool", "and"]];
    for (const [dt, op] of reds) {
      for (const heavy of dt === "bool" ? [false] : [false, true]) {
        for (const shape of SHAPES) {
          for (const axes of [[0], [1], [0, 1]]) {
            for (const layouts of COMBOS) {
              const spec = oddSpec(dt, shape, layouts, heavy, { op, axes });
              const { got, want } = runSpec(spec, { data: tameData(spec) });
              const what = `${dt} ${op} ${heavy ? "heavy" : "light"} [${shape}] axes ${axes} ${layouts.join(",")}`;
              if (dt === "float32" && (op === "sum" || heavy)) expectClose(got[0], want[0], 1e-5, 1e-5, what);
              else expectExact(got[0], want[0], what);
            }
          }
        }
      }
    }
  });

  it("3-d spaces with odd inner dims, a reduced middle dim and permuted operands", () => {
    const cases: [number[], number[][], number[]][] = [
      [[3, 5, 6], [[30, 6, 1], [0, 0, 1], [1, 3, 15]], [1]],
      [[4, 3, 5], [[15, 5, 1], [5, 20, 1], [0, 1, 0]], [2]],
      [[4, 3, 5], [[15, 5, 1], [1, 4, 12], [3, 1, 0]], [0, 2]],
      [[2, 7, 3], [[21, 3, 1], [21, 3, -1], [0, 1, 7]], [0]],
      [[2, 7, 3], [[21, 3, 1], [1, 2, 14], [0, 0, 0]], []],
    ];
    for (const [shape, strides, axes] of cases) {
      for (const heavy of [false, true]) {
        const spec = oddSpec("float32", [1, 1], ["contig", "contig", "contig"], heavy);
        const s3: KernelSpec = {
          ...spec,
          shape,
          inputs: strides.map((st) => ({ dtype: "float32", strides: st })),
          reduction: axes.length ? { op: "sum", axes } : undefined,
        };
        const { got, want } = runSpec(s3, { data: tameData(s3) });
        expectClose(got[0], want[0], 1e-5, 1e-5, `[${shape}] strides ${JSON.stringify(strides)} axes ${axes}`);
      }
    }
  });

  it("multi-output kernels with partial tails (float32 + bool outputs)", () => {
    for (const shape of [[3, 5], [4, 6], [2, 7], [5, 9]]) {
      const spec: KernelSpec = {
        shape,
        inputs: [{ dtype: "float32", strides: [shape[1], 1] }, { dtype: "float32", strides: [1, 0] }],
        nodes: [
          { op: "input", input: 0 },
          { op: "input", input: 1 },
          { op: "sub", args: [0, 1], dtype: "float32" },
          { op: "const", value: 0, dtype: "float32" },
          { op: "gt", args: [2, 3], dtype: "bool" },
        ],
        outputs: [{ node: 2, dtype: "float32" }, { node: 4, dtype: "bool" }],
      };
      const { got, want } = runSpec(spec);
      expectExact(got[0], want[0], `sub [${shape}]`);
      expectExact(got[1], want[1], `gt [${shape}]`);
    }
  });

  it("run() takes any number of pointers and checks their count", () => {
    for (const nIn of [0, 1, 3, 8, 9, 12]) {
      for (const nOut of [1, 2, 3]) {
        const nodes: KernelNode[] = Array.from({ length: nIn }, (_, k) => ({ op: "input", input: k }));
        if (nIn === 0) nodes.push({ op: "const", value: 1.5, dtype: "float32" });
        let last = 0;
        for (let k = 1; k < nIn; k++) {
          nodes.push({ op: "add", args: [last, k], dtype: "float32" });
          last = nodes.length - 1;
        }
        const outputs = Array.from({ length: nOut }, (_, o) => {
          nodes.push({ op: "const", value: o, dtype: "float32" }, { op: "add", args: [last, nodes.length], dtype: "float32" });
          return { node: nodes.length - 1, dtype: "float32" as KDType };
        });
        const spec: KernelSpec = { shape: [6], inputs: Array.from({ length: nIn }, () => ({ dtype: "float32", strides: [1] })), nodes, outputs };
        const { got, want } = runSpec(spec);
        got.forEach((g, o) => expectExact(g, want[o], `${nIn} inputs, output ${o}`));
        const memory = new WebAssembly.Memory({ initial: 1 });
        const k = compileKernel(spec, { memory });
        expect(() => k.run(new Array(nIn + 1).fill(0), new Array(nOut).fill(0))).toThrow(/expected \d+ input and \d+ output pointers/);
      }
    }
  });

  it("exp builds subnormal results without underflowing products, exactly as before", () => {
    // every result in the subnormal range, its boundaries, and saturation to 0
    const xs: number[] = [-87.3365478515625, -87.33654022216797, -88, -90, -100, -103.27892303466797, -103.97207641601562, -104, -110, -1e30, -Infinity, NaN];
    for (let i = 0; i < 5000; i++) xs.push(Math.fround(-87 - 17 * rnd()));
    const { got } = runSpec(unarySpec("exp", "float32", "float32", [xs.length], [1]), { data: [xs] });
    const ref = (x: number): number => Math.fround(Math.exp(x));
    for (let i = 0; i < xs.length; i++) {
      const want = ref(xs[i]);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(got[0][i])).toBe(true);
        continue;
      }
      // within one subnormal step (2^-149) of the correctly rounded result
      if (!(Math.abs(got[0][i] - want) <= 2 ** -149)) throw new Error(`exp(${xs[i]}) = ${got[0][i]}, want ${want}`);
    }
    const all = runSpec(unarySpec("exp", "float32", "float32", [4], [1]), { data: [[-1e30, -Infinity, -104, -200]] });
    expect(Array.from(all.got[0])).toEqual([0, 0, 0, 0]);
  });

  it("relaxedSimdAvailable() matches the probe; requesting relaxed SIMD without it is an error", () => {
    expect(relaxedSimdAvailable()).toBe(probeRelaxedSimd());
    const memory = new WebAssembly.Memory({ initial: 1 });
    const spec = unarySpec("exp", "float32", "float32", [8], [1]);
    if (!relaxedSimdAvailable()) expect(() => compileKernel(spec, { memory, relaxedSimd: true })).toThrow(/relaxed SIMD/);
    else expect(compileKernel(spec, { memory, relaxedSimd: true }).text()).toMatch(/relaxed_madd/);
    expect(compileKernel(spec, { memory, relaxedSimd: false }).text()).not.toMatch(/relaxed_madd/);
  });
});

// --- vecmath accuracy --------------------------------------------------------------------------

describe("vecmath accuracy (ulp vs Math.* in f64)", () => {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const uniform = (lo: number, hi: number, n: number): number[] =>
    Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rnd()));
  /** Random float bit patterns: every exponent, incl. denormals, infinities and NaNs. */
  const anyBits = (n: number): number[] => {
    const u = new Uint32Array(n);
    for (let i = 0; i < n; i++) u[i] = (rnd() * 2 ** 32) >>> 0;
    return Array.from(new Float32Array(u.buffer));
  };
  const EDGES = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754944e-38, 1, -1, 0.5, 1e-8, -1e-8,
    3.4028235e38, -3.4028235e38, 88.72, 88.7228, 89, -87.3, -103.9, -104, -150, 9, 10, 20, -20, 3.9, 4, 1048576, 1048577, 1e10];

  const table: Record<string, number> = {};
  const BOUNDS: [string, (x: number) => number, number[], number][] = [
    ["exp", Math.exp, uniform(-104, 89, 40000), 1.5],
    ["log", Math.log, [...uniform(0, 10, 20000), ...uniform(0.5, 2, 20000)], 1.5],
    ["log1p", Math.log1p, [...uniform(-1, 1, 20000), ...uniform(-1e-3, 1e-3, 20000), ...uniform(-1, 1e3, 10000)], 2],
    ["expm1", Math.expm1, [...uniform(-20, 89, 20000), ...uniform(-1, 1, 20000), ...uniform(-1e-3, 1e-3, 10000)], 2],
    ["tanh", Math.tanh, [...uniform(-10, 10, 20000), ...uniform(-1, 1, 20000), ...uniform(-1e-3, 1e-3, 10000)], 3],
    ["logistic", (x) => 1 / (1 + Math.exp(-x)), [...uniform(-120, 90, 20000), ...uniform(-2, 2, 20000)], 3],
    ["erf", erf, [...uniform(-5, 5, 40000), ...uniform(-1e-3, 1e-3, 10000)], 1.5],
    ["sin", Math.sin, [...uniform(-10, 10, 20000), ...uniform(-1e5, 1e5, 20000), ...uniform(-1e7, 1e7, 5000)], 2],
    ["cos", Math.cos, [...uniform(-10, 10, 20000), ...uniform(-1e5, 1e5, 20000), ...uniform(-1e7, 1e7, 5000)], 2],
    ["sqrt", Math.sqrt, uniform(0, 100, 20000), 0.5],
    ["rsqrt", (x) => 1 / Math.sqrt(x), uniform(0, 100, 20000), 1.5],
  ];

  for (const [fn, ref, pts, bound] of BOUNDS) {
    it(`${fn}: max error <= ${bound} ulp on ${pts.length + 60000} points incl. edge cases`, () => {
      const xs = [...pts, ...anyBits(60000), ...EDGES];
      const n = xs.length;
      const k = compileKernel(unarySpec(fn, "float32", "float32", [n], [1]), { memory });
      new Float32Array(memory.buffer, 0, n).set(xs);
      const outPtr = n * 4 + 64;
      k.run([0], [outPtr]);
      const out = new Float32Array(memory.buffer, outPtr, n);
      const a = new Float32Array(memory.buffer, 0, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const d = ulpDiff(out[i], ref(a[i]));
        if (!(d <= bound)) throw new Error(`${fn}(${a[i]}) = ${out[i]}, want ${ref(a[i])} (${d} ulp)`);
        worst = Math.max(worst, d);
      }
      table[fn] = worst;
    });
  }

  it("pow: max error <= 1 ulp incl. C pow's special cases", () => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 40000; i++) {
      xs.push(Math.fround(rnd() * 20));
      ys.push(Math.fround((rnd() - 0.5) * 60));
    }
    for (let i = 0; i < 20000; i++) {
      xs.push(Math.fround(rnd() * 4 - 2));
      ys.push(Math.round((rnd() - 0.5) * 20));
    }
    const bx = anyBits(40000);
    const by = anyBits(40000);
    xs.push(...bx);
    ys.push(...by);
    const sp = [0, -0, 1, -1, 2, -2, 0.5, -0.5, Infinity, -Infinity, NaN, 3, -3, 1e-40, 16777217, 1e30];
    for (const a of sp) for (const b of sp) {
      xs.push(a);
      ys.push(b);
    }
    const n = xs.length;
    const k = compileKernel(binarySpec("pow", "float32", "float32", [n], [1], [1]), { memory });
    const A = new Float32Array(memory.buffer, 0, n);
    const B = new Float32Array(memory.buffer, n * 4, n);
    A.set(xs);
    B.set(ys);
    k.run([0, n * 4], [n * 8]);
    const out = new Float32Array(memory.buffer, n * 8, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const d = ulpDiff(out[i], powC(A[i], B[i]));
      if (!(d <= 1)) throw new Error(`pow(${A[i]}, ${B[i]}) = ${out[i]}, want ${powC(A[i], B[i])} (${d} ulp)`);
      worst = Math.max(worst, d);
    }
    table.pow = worst;
    console.log(
      "vecmath max ulp error:\n" + Object.entries(table).map(([k2, v]) => `  ${k2.padEnd(9)} ${v.toFixed(3)}`).join("\n"),
    );
  });
});
