// Random numpy programs for the property tests of jit and of composed
// transformations. A program is a straight-line list of ops over numbered
// registers (v0.. are the inputs); it prints as readable code, e.g.
//
//   inputs v0: f32[2,3], v1: f32[3]
//   v2 = sin(v0)
//   v3 = add(v2, v1)
//   v4 = sum(v3, axis=[1])
//   out = v4
//
// Programs are interpreted from raw integer "instructions" (op, operand,
// second operand, param), so fast-check shrinks them by dropping
// instructions and moving numbers towards 0: towards fewer ops, the
// simplest op (neg), the most recent register and the plainest params.
// "smooth" programs use only ops that are infinitely differentiable where
// they are evaluated, so finite differences apply to them.

import fc from "fast-check";
import { ArrayImpl as TArray, np, type Tracer } from "../src/index";

export type T = Tracer;
/** "all": every float op; "smooth": the infinitely differentiable ones; "int": int32 programs (with bool intermediates). */
export type Mode = "all" | "smooth" | "int";

interface Op {
  text: string;
  shape: number[];
  apply(regs: T[]): T;
}

type Builder = (regs: number[][], a: number, b: number, p: number) => Op | null;

interface OpDef {
  name: string;
  smooth: boolean;
  build: Builder;
}

const v = (i: number) => `v${i}`;
const sizeOf = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

/** Registers whose shape broadcasts with regs[a], most recent first. */
function partners(regs: number[][], a: number): number[] {
  const out: number[] = [];
  for (let i = regs.length - 1; i >= 0; i--) if (broadcastShape(regs[a], regs[i]) !== null) out.push(i);
  return out;
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => [...Array(n).keys()].map((k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

/** A deterministic small constant matrix, so a program's consts print as a seed. */
function constMatrix(n: number, k: number, seed: number): T {
  const data = Float32Array.from({ length: n * k }, (_, i) => (((i * 7 + seed * 3) % 5) - 2) / 2);
  return TArray.fromTyped(data, [n, k], "float32");
}

const unary = (name: string, smooth: boolean, f: (x: T) => T): OpDef => ({
  name,
  smooth,
  build: (regs, a) => ({ text: `${name}(${v(a)})`, shape: regs[a], apply: (r) => f(r[a]) }),
});

const binary = (name: string, smooth: boolean, f: (x: T, y: T) => T, show = (a: string, b: string) => `${name}(${a}, ${b})`): OpDef => ({
  name,
  smooth,
  build: (regs, a, b) => {
    const cands = partners(regs, a);
    const j = cands[b % cands.length];
    return { text: show(v(a), v(j)), shape: broadcastShape(regs[a], regs[j])!, apply: (r) => f(r[a], r[j]) };
  },
});

const reduce = (name: "sum" | "mean" | "max" | "min" | "prod" | "logsumexp", smooth: boolean): OpDef => ({
  name,
  smooth,
  build: (regs, a, _b, p) => {
    const s = regs[a];
    if (s.length === 0) return null;
    const mask = p % (1 << s.length);
    const keepdims = ((p >> s.length) & 1) === 1;
    const axes = mask === 0 ? null : [...s.keys()].filter((d) => (mask >> d) & 1);
    const reduced = (d: number) => axes === null || axes.includes(d);
    const shape = keepdims ? s.map((n, d) => (reduced(d) ? 1 : n)) : s.filter((_, d) => !reduced(d));
    const args = `${axes === null ? "" : `, axis=${fmt(axes)}`}${keepdims ? ", keepdims" : ""}`;
    return { text: `${name}(${v(a)}${args})`, shape, apply: (r) => np[name](r[a], axes ?? undefined, { keepdims }) };
  },
});

const OPS: OpDef[] = [
  unary("neg", true, (x) => np.negative(x)),
  unary("sin", true, (x) => np.sin(x)),
  unary("tanh", true, (x) => np.tanh(x)),
  binary("add", true, (x, y) => np.add(x, y)),
  binary("mul", true, (x, y) => np.multiply(x, y)),
  reduce("sum", true),
  unary("cos", true, (x) => np.cos(x)),
  unary("exp", true, (x) => np.exp(x)),
  unary("square", true, (x) => np.square(x)),
  binary("sub", true, (x, y) => np.subtract(x, y)),
  binary("div", true, (x, y) => np.divide(x, np.add(1, np.square(y))), (a, b) => `${a} / (1 + ${b}²)`),
  reduce("mean", true),
  {
    name: "reshape",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const shape = p % 2 === 0 ? [sizeOf(s)] : [...s].reverse();
      return { text: `reshape(${v(a)}, ${fmt(shape)})`, shape, apply: (r) => np.reshape(r[a], shape) };
    },
  },
  {
    name: "transpose",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length < 2) return null;
      const perms = permutations(s.length).filter((q) => q.some((d, i) => d !== i));
      const perm = perms[p % perms.length];
      return { text: `transpose(${v(a)}, ${fmt(perm)})`, shape: perm.map((d) => s[d]), apply: (r) => np.transpose(r[a], perm) };
    },
  },
  {
    name: "matmul",
    smooth: true,
    build: (regs, a, b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const n = s[s.length - 1];
      const cands = regs.flatMap((r, i) => ((r.length === 1 || r.length === 2) && r[0] === n ? [i] : []));
      if (b % 2 === 1 && cands.length > 0) {
        const j = cands[(b >> 1) % cands.length];
        const rs = regs[j];
        const shape = rs.length === 1 ? s.slice(0, -1) : [...s.slice(0, -1), rs[1]];
        return { text: `matmul(${v(a)}, ${v(j)})`, shape, apply: (r) => np.matmul(r[a], r[j]) };
      }
      const k = 1 + (p % 3);
      const seed = (p >> 2) % 5;
      return { text: `matmul(${v(a)}, W${fmt([n, k])}#${seed})`, shape: [...s.slice(0, -1), k], apply: (r) => np.matmul(r[a], constMatrix(n, k, seed)) };
    },
  },
  {
    name: "index",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const kind = p % 3;
      const q = p >> 2;
      if (kind === 0) {
        const i = q % s[0];
        return { text: `${v(a)}[${i}]`, shape: s.slice(1), apply: (r) => r[a].slice(i) };
      }
      if (kind === 1) {
        const start = q % s[0];
        const stop = start + 1 + ((q >> 2) % (s[0] - start));
        return { text: `${v(a)}[${start}:${stop}]`, shape: [stop - start, ...s.slice(1)], apply: (r) => r[a].slice([start, stop]) };
      }
      const axis = q % s.length;
      const idx = [0, 1, 2].map((k) => (q * (k + 3) + k) % s[axis]).slice(0, 1 + ((q >> 3) % 3));
      const shape = [...s.slice(0, axis), idx.length, ...s.slice(axis + 1)];
      return { text: `take(${v(a)}, ${fmt(idx)}, axis=${axis})`, shape, apply: (r) => np.take(r[a], idx, axis) };
    },
  },
  reduce("prod", true),
  reduce("logsumexp", true),
  {
    name: "cumsum",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const axis = p % s.length;
      const reverse = ((p >> 2) & 1) === 1;
      return { text: `cumsum(${v(a)}, axis=${axis}${reverse ? ", reverse" : ""})`, shape: s, apply: (r) => np.cumsum(r[a], axis, { reverse }) };
    },
  },
  {
    name: "flip",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const axis = p % s.length;
      return { text: `flip(${v(a)}, axis=${axis})`, shape: s, apply: (r) => np.flip(r[a], axis) };
    },
  },
  {
    name: "concatenate",
    smooth: true,
    build: (regs, a, b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const axis = p % s.length;
      const cands = regs.flatMap((r, i) => (r.length === s.length && r.every((n, d) => d === axis || n === s[d]) ? [i] : [])).reverse();
      const j = cands[b % cands.length];
      const shape = s.map((n, d) => (d === axis ? n + regs[j][d] : n));
      return { text: `concatenate([${v(a)}, ${v(j)}], axis=${axis})`, shape, apply: (r) => np.concatenate([r[a], r[j]], axis) };
    },
  },
  {
    name: "broadcast",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      const lead = 1 + (p % 3);
      const shape = [lead, ...s.map((n, d) => (n === 1 && ((p >> (2 + d)) & 1) === 1 ? 2 : n))];
      return { text: `broadcastTo(${v(a)}, ${fmt(shape)})`, shape, apply: (r) => np.broadcastTo(r[a], shape) };
    },
  },
  {
    name: "pad",
    smooth: true,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const widths = s.map((_, d): [number, number] => [(p >> (2 * d)) & 1, (p >> (2 * d + 1)) & 1]);
      const shape = s.map((n, d) => n + widths[d][0] + widths[d][1]);
      return { text: `pad(${v(a)}, ${JSON.stringify(widths)})`, shape, apply: (r) => np.pad(r[a], widths) };
    },
  },
  {
    name: "atAdd",
    smooth: true,
    build: (regs, a, b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const i = p % s[0];
      const row = s.slice(1);
      const cands = regs.flatMap((r, k) => (broadcastShape(r, row)?.join() === row.join() ? [k] : [])).reverse();
      if (cands.length === 0) return null;
      const j = cands[b % cands.length];
      return { text: `${v(a)}.at[${i}].add(${v(j)})`, shape: s, apply: (r) => r[a].at(i).add(r[j]) };
    },
  },
  unary("abs", false, (x) => np.abs(x)),
  binary("maximum", false, (x, y) => np.maximum(x, y)),
  reduce("max", false),
  unary("clip", false, (x) => np.clip(x, -1, 0.5)),
  unary("floor", false, (x) => np.floor(x)),
  {
    name: "where",
    smooth: false,
    build: (regs, a, b) => {
      const cands = partners(regs, a);
      const j = cands[b % cands.length];
      return {
        text: `where(${v(a)} > 0, ${v(a)}, ${v(j)})`,
        shape: broadcastShape(regs[a], regs[j])!,
        apply: (r) => np.where(np.greater(r[a], 0), r[a], r[j]),
      };
    },
  },
];

/** A deterministic small int32 constant matrix, for integer matmuls. */
function constIntMatrix(n: number, k: number, seed: number): T {
  const data = Int32Array.from({ length: n * k }, (_, i) => ((i * 7 + seed * 3) % 5) - 2);
  return TArray.fromTyped(data, [n, k], "int32");
}

/** The names of OPS entries that are dtype-preserving structure (shape and indexing) ops, shared by the int table. */
const STRUCTURAL = new Set(["reshape", "transpose", "index", "flip", "concatenate", "broadcast", "pad", "atAdd", "cumsum"]);

/**
 * int32 programs: wrapping arithmetic, integer division and remainder by a
 * divisor that is never 0, bitwise ops and shifts, comparisons and logical
 * ops through bool registers, integer reductions and matmuls, and the
 * structural ops of OPS. Both backends must agree bit for bit.
 */
const INT_OPS: OpDef[] = [
  unary("neg", false, (x) => np.negative(x)),
  binary("add", false, (x, y) => np.add(x, y)),
  binary("mul", false, (x, y) => np.multiply(x, y)),
  binary("sub", false, (x, y) => np.subtract(x, y)),
  reduce("sum", false),
  binary("floorDivide", false, (x, y) => np.floorDivide(x, np.add(1, np.abs(np.remainder(y, 7)))), (a, b) => `floorDivide(${a}, 1 + |${b} % 7|)`),
  binary("remainder", false, (x, y) => np.remainder(x, np.add(1, np.abs(np.remainder(y, 7)))), (a, b) => `remainder(${a}, 1 + |${b} % 7|)`),
  binary("bitwiseAnd", false, (x, y) => np.bitwiseAnd(x, y)),
  binary("bitwiseOr", false, (x, y) => np.bitwiseOr(x, y)),
  binary("bitwiseXor", false, (x, y) => np.bitwiseXor(x, y)),
  binary("leftShift", false, (x, y) => np.leftShift(x, np.bitwiseAnd(y, 7)), (a, b) => `${a} << (${b} & 7)`),
  binary("rightShift", false, (x, y) => np.rightShift(x, np.bitwiseAnd(y, 7)), (a, b) => `${a} >> (${b} & 7)`),
  binary("maximum", false, (x, y) => np.maximum(x, y)),
  binary("minimum", false, (x, y) => np.minimum(x, y)),
  unary("abs", false, (x) => np.abs(x)),
  unary("square", false, (x) => np.square(x)),
  unary("sign", false, (x) => np.sign(x)),
  binary(
    "select",
    false,
    (x, y) => np.where(np.logicalXor(np.greater(x, y), np.equal(x, 0)), x, y),
    (a, b) => `where((${a} > ${b}) xor (${a} == 0), ${a}, ${b})`,
  ),
  binary("countGreater", false, (x, y) => np.astype(np.greaterEqual(x, y), "int32"), (a, b) => `int32(${a} >= ${b})`),
  unary("notPositive", false, (x) => np.astype(np.logicalNot(np.greater(x, 0)), "int32")),
  reduce("max", false),
  reduce("min", false),
  reduce("prod", false),
  {
    name: "matmul",
    smooth: false,
    build: (regs, a, _b, p) => {
      const s = regs[a];
      if (s.length === 0) return null;
      const n = s[s.length - 1];
      const k = 1 + (p % 3);
      const seed = (p >> 2) % 5;
      return { text: `matmul(${v(a)}, I${fmt([n, k])}#${seed})`, shape: [...s.slice(0, -1), k], apply: (r) => np.matmul(r[a], constIntMatrix(n, k, seed)) };
    },
  },
  ...OPS.filter((o) => STRUCTURAL.has(o.name)),
];

/** Raw instruction: [op, operand, second operand, param]; interpreted against the registers so far. */
export type Instr = [number, number, number, number];

export class Program {
  readonly ops: Op[] = [];
  readonly shapes: number[][];

  constructor(
    readonly inShapes: number[][],
    instrs: readonly Instr[],
    readonly mode: Mode,
  ) {
    this.shapes = inShapes.map((s) => [...s]);
    const table = mode === "int" ? INT_OPS : OPS.filter((o) => mode === "all" || o.smooth);
    for (const [op, x, y, p] of instrs) {
      const a = this.shapes.length - 1 - (x % this.shapes.length);
      // Try the chosen op, then the next ones, until one applies to this operand.
      for (let k = 0; k < table.length; k++) {
        const built = table[(op + k) % table.length].build(this.shapes, a, y, p);
        if (built) {
          this.ops.push(built);
          this.shapes.push(built.shape);
          break;
        }
      }
    }
  }

  get outShape(): number[] {
    return this.shapes[this.shapes.length - 1];
  }

  /** Evaluate on arrays or tracers (one per input shape); the output is the last register. */
  run(...xs: T[]): T {
    if (xs.length !== this.inShapes.length) throw new Error(`program takes ${this.inShapes.length} inputs, got ${xs.length}`);
    const regs = [...xs];
    for (const op of this.ops) regs.push(op.apply(regs));
    return regs[regs.length - 1];
  }

  toString(): string {
    const n = this.inShapes.length;
    const ty = this.mode === "int" ? "i32" : "f32";
    const lines = [`inputs ${this.inShapes.map((s, i) => `${v(i)}: ${ty}${fmt(s)}`).join(", ")}`];
    this.ops.forEach((op, k) => lines.push(`${v(n + k)} = ${op.text}    # ${fmt(op.shape)}`));
    lines.push(`out = ${v(this.shapes.length - 1)}`);
    return lines.join("\n");
  }

  [fc.toStringMethod](): string {
    return this.toString();
  }
}

export function arrayOf(values: readonly number[], shape: readonly number[]): TArray {
  return TArray.fromTyped(Float32Array.from(values), [...shape], "float32");
}

/** int32 inputs: the pool's grid values scaled to integers in [-16, 16], plus a few extreme ones so products and shifts wrap. */
function intArrayOf(values: readonly number[], shape: readonly number[]): TArray {
  const ints = values.map((x) => {
    const k = Math.round(x * 8);
    return k === 16 ? 2147483647 : k === -16 ? -2147483648 : k;
  });
  return TArray.fromTyped(Int32Array.from(ints), [...shape], "int32");
}

/** Values on a grid of 1/8 within [-2, 2]: exact in float32 and readable when printed. */
const gridValue = fc.integer({ min: -16, max: 16 }).map((k) => k / 8);

export function showArray(x: T): string {
  return `${x.aval.str()} ${JSON.stringify(Array.from(x.dataSync() as Float32Array | Int32Array))}`;
}

export interface Case {
  prog: Program;
  inputs: TArray[];
}

export interface BatchedCase extends Case {
  /** per input: null (unbatched) or the axis holding the batch */
  inAxes: (number | null)[];
  batch: number;
  /** the per-example inputs: examples[b][i] is input i of example b */
  examples: TArray[][];
}

export interface CaseOptions {
  mode: Mode;
  minInputs?: number;
  maxInputs?: number;
  minOps?: number;
  maxOps?: number;
  maxRank?: number;
  maxDim?: number;
  /** upper bound on the total number of input elements (e.g. to keep Jacobians small) */
  maxInputSize?: number;
}

function shapesArb(o: CaseOptions) {
  const shape = fc.array(fc.integer({ min: 1, max: o.maxDim ?? 3 }), { minLength: 0, maxLength: o.maxRank ?? 3 });
  return fc
    .array(shape, { minLength: o.minInputs ?? 1, maxLength: o.maxInputs ?? 2 })
    .filter((ss) => o.maxInputSize === undefined || ss.reduce((t, s) => t + sizeOf(s), 0) <= o.maxInputSize);
}

export const instrsArb = (o: CaseOptions) =>
  fc.array(fc.tuple(fc.nat(60), fc.nat(6), fc.nat(6), fc.nat(255)) as fc.Arbitrary<Instr>, { minLength: o.minOps ?? 1, maxLength: o.maxOps ?? 5 });

const POOL = 256;
const poolArb = fc.array(gridValue, { minLength: POOL, maxLength: POOL });

/** Take consecutive values from the pool (wrapping, with a twist so repeats differ). */
function fromPool(pool: number[], offset: number, shape: readonly number[], mode: Mode): TArray {
  const n = sizeOf(shape);
  const vals = Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    return pool[k % POOL] + (k >= POOL ? 0.0625 : 0);
  });
  return mode === "int" ? intArrayOf(vals, shape) : arrayOf(vals, shape);
}

function describeInputs(xs: readonly T[]): string {
  return xs.map((x, i) => `  ${v(i)} = ${showArray(x)}`).join("\n");
}

/** Random programs with random inputs of their input shapes. */
export function cases(o: CaseOptions): fc.Arbitrary<Case> {
  return fc.record({ shapes: shapesArb(o), instrs: instrsArb(o), pool: poolArb }).map(({ shapes, instrs, pool }) => {
    const prog = new Program(shapes, instrs, o.mode);
    let off = 0;
    const inputs = shapes.map((s) => {
      const x = fromPool(pool, off, s, o.mode);
      off += sizeOf(s);
      return x;
    });
    return { prog, inputs, [fc.toStringMethod]: () => `${prog}\nwith\n${describeInputs(inputs)}` };
  });
}

/** Random programs with a batch of examples; each input is batched along a random axis or not at all. */
export function batchedCases(o: CaseOptions & { maxBatch?: number }): fc.Arbitrary<BatchedCase> {
  return fc
    .record({
      shapes: shapesArb(o),
      instrs: instrsArb(o),
      pool: poolArb,
      batch: fc.integer({ min: 1, max: o.maxBatch ?? 3 }),
      axisChoices: fc.array(fc.nat(4), { minLength: 4, maxLength: 4 }),
    })
    .map(({ shapes, instrs, pool, batch, axisChoices }) => {
      const prog = new Program(shapes, instrs, o.mode);
      // choice 0 -> axis 0; the last choice -> unbatched; at least input 0 is batched.
      const inAxes = shapes.map((s, i) => {
        const c = axisChoices[i] % (s.length + 2);
        return c === s.length + 1 && i > 0 ? null : Math.min(c, s.length);
      });
      let off = 0;
      const take = (s: number[]) => {
        const x = fromPool(pool, off, s, o.mode);
        off += sizeOf(s);
        return x;
      };
      const shared = shapes.map((s, i) => (inAxes[i] === null ? take(s) : null));
      const examples = Array.from({ length: batch }, () => shapes.map((s, i) => shared[i] ?? take(s)));
      const inputs = shapes.map((_, i) => (inAxes[i] === null ? shared[i]! : (np.stack(examples.map((e) => e[i]), inAxes[i]!) as TArray)));
      const show = () =>
        `${prog}\nvmapped with inAxes ${JSON.stringify(inAxes)} over a batch of ${batch}\n` +
        examples.map((e, b) => `example ${b}:\n${describeInputs(e)}`).join("\n");
      return { prog, inputs, inAxes, batch, examples, [fc.toStringMethod]: show };
    });
}

/** Numbers of a tree of arrays, to reject cases whose values overflow float32's comfortable range. */
export function tame(x: T, bound = 1e4): boolean {
  return Array.from(x.dataSync() as Float32Array).every((y) => Number.isFinite(y) && Math.abs(y) <= bound);
}
