// Random straight-line eager programs for the property tests of the eager
// front end (eager_backward.prop.test.ts, eager_compile.prop.test.ts): one
// list of raw integer instructions runs on eager tensors or on traced np
// arrays through the same interpreter, so the two can be compared; the
// program prints as readable code for failure messages.

import fc from "fast-check";
import { expect } from "vitest";
import * as torch from "../src/frontends/eager";
import { ArrayImpl, nn, np, type Tracer } from "../src/index";

/** The ops a program uses, on one kind of value: eager tensors or traced np arrays. */
export interface Ops<V> {
  neg(x: V): V;
  tanh(x: V): V;
  sigmoid(x: V): V;
  relu(x: V): V;
  square(x: V): V;
  sin(x: V): V;
  exp(x: V): V;
  log(x: V): V;
  sqrt(x: V): V;
  add(x: V, y: V | number): V;
  sub(x: V, y: V): V;
  mul(x: V, y: V | number): V;
  div(x: V, y: V): V;
  rsub(x: V, k: number): V;
  sum(x: V, dim: number | null, keep: boolean): V;
  mean(x: V, dim: number | null, keep: boolean): V;
  max(x: V, dim: number | null, keep: boolean): V;
  softmax(x: V, dim: number): V;
  logSoftmax(x: V, dim: number): V;
  matmul(x: V, y: V): V;
  T(x: V): V;
  permute(x: V, dims: number[]): V;
  unsqueeze(x: V, dim: number): V;
  reshape(x: V, shape: number[]): V;
}

export const eagerOps: Ops<torch.Tensor> = {
  neg: (x) => x.neg(),
  tanh: (x) => x.tanh(),
  sigmoid: (x) => x.sigmoid(),
  relu: (x) => x.relu(),
  square: (x) => x.square(),
  sin: (x) => x.sin(),
  exp: (x) => x.exp(),
  log: (x) => x.log(),
  sqrt: (x) => x.sqrt(),
  add: (x, y) => x.add(y),
  sub: (x, y) => x.sub(y),
  mul: (x, y) => x.mul(y),
  div: (x, y) => x.div(y),
  rsub: (x, k) => x.rsub(k),
  sum: (x, dim, keep) => x.sum(dim, keep),
  mean: (x, dim, keep) => x.mean(dim, keep),
  max: (x, dim, keep) => x.max(dim, keep),
  softmax: (x, dim) => x.softmax(dim),
  logSoftmax: (x, dim) => x.logSoftmax(dim),
  matmul: (x, y) => x.matmul(y),
  T: (x) => x.T,
  permute: (x, dims) => x.permute(...dims),
  unsqueeze: (x, dim) => x.unsqueeze(dim),
  reshape: (x, shape) => x.reshape(shape),
};

export const npOps: Ops<Tracer> = {
  neg: (x) => np.negative(x),
  tanh: (x) => np.tanh(x),
  sigmoid: (x) => nn.sigmoid(x),
  relu: (x) => nn.relu(x),
  square: (x) => np.square(x),
  sin: (x) => np.sin(x),
  exp: (x) => np.exp(x),
  log: (x) => np.log(x),
  sqrt: (x) => np.sqrt(x),
  add: (x, y) => np.add(x, y),
  sub: (x, y) => np.subtract(x, y),
  mul: (x, y) => np.multiply(x, y),
  div: (x, y) => np.divide(x, y),
  rsub: (x, k) => np.subtract(k, x),
  sum: (x, dim, keep) => np.sum(x, dim, { keepdims: keep }),
  mean: (x, dim, keep) => np.mean(x, dim, { keepdims: keep }),
  max: (x, dim, keep) => np.max(x, dim, { keepdims: keep }),
  softmax: (x, dim) => nn.softmax(x, dim),
  logSoftmax: (x, dim) => nn.logSoftmax(x, dim),
  matmul: (x, y) => np.matmul(x, y),
  T: (x) => np.transpose(x),
  permute: (x, dims) => np.transpose(x, dims),
  unsqueeze: (x, dim) => np.expandDims(x, dim),
  reshape: (x, shape) => np.reshape(x, shape),
};

/** One value of a program: its value, its shape, and whether it depends on x or w. */
export interface Reg<V> {
  v: V;
  shape: number[];
  diff: boolean;
}
export type Instr = [number, number, number, number];

const mod = (a: number, n: number) => ((a % n) + n) % n;

function broadcasts(a: readonly number[], b: readonly number[]): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}
const broadcastShape = (s: readonly number[], r: readonly number[]) => {
  const n = Math.max(s.length, r.length);
  return Array.from({ length: n }, (_, i) => Math.max(s[s.length - n + i] ?? 1, r[r.length - n + i] ?? 1));
};

/** Applies one instruction; returns the new register and its text. Both kinds of value take the same path. */
function step<V>(o: Ops<V>, regs: Reg<V>[], [opc, a0, b0, p]: Instr): [Reg<V>, string] {
  const ia = mod(a0, regs.length);
  const x = regs[ia];
  const a = `v${ia}`;
  const nd = x.shape.length;
  const out = (v: V, text: string, shape = x.shape, diff = x.diff): [Reg<V>, string] => [{ v, shape: [...shape], diff }, text];
  const k = mod(p, 5) - 2 + 0.5; // a JS number operand: -1.5 .. 2.5
  const dim = nd === 0 ? null : mod(p, nd);
  const keep = mod(b0, 2) === 1;
  const reduced = dim === null ? [] : keep ? x.shape.map((d, i) => (i === dim ? 1 : d)) : x.shape.filter((_, i) => i !== dim);
  const op = mod(opc, 20);
  switch (op) {
    case 0:
      return out(o.neg(x.v), `neg(${a})`);
    case 1:
      return out(o.tanh(x.v), `tanh(${a})`);
    case 2:
      return out(o.sigmoid(x.v), `sigmoid(${a})`);
    case 3:
      return out(o.relu(x.v), `relu(${a})`);
    case 4:
      return out(o.square(x.v), `square(${a})`);
    case 5:
      return out(o.sin(x.v), `sin(${a})`);
    case 6: // exp of a bounded value, so that chains stay finite
      return out(o.exp(o.tanh(x.v)), `exp(tanh(${a}))`);
    case 7:
      return out(o.log(o.add(o.square(x.v), 1)), `log(${a}² + 1)`);
    case 8:
      return out(o.sqrt(o.add(o.square(x.v), 1)), `sqrt(${a}² + 1)`);
    case 9:
    case 10:
    case 11:
    case 12: {
      const cands = regs.map((_, i) => i).filter((i) => broadcasts(x.shape, regs[i].shape));
      const j = cands[mod(b0, cands.length)];
      const y = regs[j];
      const shape = broadcastShape(x.shape, y.shape);
      const diff = x.diff || y.diff;
      const b = `v${j}`;
      if (op === 9) return out(o.add(x.v, y.v), `add(${a}, ${b})`, shape, diff);
      if (op === 10) return out(o.sub(x.v, y.v), `sub(${a}, ${b})`, shape, diff);
      if (op === 11) return out(o.mul(x.v, y.v), `mul(${a}, ${b})`, shape, diff);
      return out(o.div(x.v, o.add(o.square(y.v), 1)), `div(${a}, ${b}² + 1)`, shape, diff);
    }
    case 13:
      return out(o.mul(x.v, k), `mul(${a}, ${k})`);
    case 14:
      return out(o.rsub(x.v, k), `sub(${k}, ${a})`);
    case 15:
      if (mod(p, 3) === 0) return out(o.sum(x.v, null, false), `sum(${a})`, []);
      return out(o.sum(x.v, dim, keep), `sum(${a}, ${dim}, keepdim=${keep})`, reduced);
    case 16:
      return out(o.mean(x.v, dim, keep), `mean(${a}, ${dim}, keepdim=${keep})`, reduced);
    case 17:
      return out(o.max(x.v, dim, keep), `max(${a}, ${dim}, keepdim=${keep})`, reduced);
    case 18:
      if (dim === null) return out(o.neg(x.v), `neg(${a})`);
      return keep ? out(o.softmax(x.v, dim), `softmax(${a}, ${dim})`) : out(o.logSoftmax(x.v, dim), `logSoftmax(${a}, ${dim})`);
    default: {
      // matmul where the shapes allow (with a partner, else with its own transpose), else a shape op
      if (nd === 2) {
        const cands = regs.map((_, i) => i).filter((i) => regs[i].shape.length === 2 && regs[i].shape[0] === x.shape[1]);
        if (cands.length > 0 && mod(p, 2) === 0) {
          const j = cands[mod(b0, cands.length)];
          const y = regs[j];
          return out(o.matmul(x.v, y.v), `matmul(${a}, v${j})`, [x.shape[0], y.shape[1]], x.diff || y.diff);
        }
        return out(o.matmul(x.v, o.T(x.v)), `matmul(${a}, ${a}.T)`, [x.shape[0], x.shape[0]]);
      }
      if (nd === 3) return out(o.permute(x.v, [2, 0, 1]), `permute(${a}, 2, 0, 1)`, [x.shape[2], x.shape[0], x.shape[1]]);
      if (nd === 1) return out(o.reshape(o.unsqueeze(x.v, 0), [x.shape[0]]), `reshape(unsqueeze(${a}, 0))`);
      return out(o.reshape(x.v, [1, 1]), `reshape(${a}, [1, 1])`, [1, 1]);
    }
  }
}

/** Runs the program on three inputs; returns the last register and the program's lines. */
export function runProgram<V>(o: Ops<V>, inputs: Reg<V>[], prog: readonly Instr[]): [Reg<V>, string[]] {
  const regs = [...inputs];
  const lines: string[] = [];
  for (const ins of prog) {
    const [r, text] = step(o, regs, ins);
    regs.push(r);
    lines.push(text);
  }
  return [regs[regs.length - 1], lines];
}

/** The program's loss, sum(last value), as a function of x and w over traced np arrays (c is the constant input). */
export function npLossOf(xShape: number[], wShape: number[], c: ArrayImpl, prog: readonly Instr[]): (x: Tracer, w: Tracer) => Tracer {
  return (x, w) => {
    const inputs: Reg<Tracer>[] = [
      { v: x, shape: xShape, diff: true },
      { v: w, shape: wShape, diff: true },
      { v: c, shape: xShape, diff: false },
    ];
    return np.sum(runProgram(npOps, inputs, prog)[0].v);
  };
}

/** The program as text, for the failure message. */
export function describeProgram(shapes: number[][], lines: string[]): string {
  return [`inputs x: [${shapes[0]}] w: [${shapes[1]}] (require grad), c: [${shapes[0]}] (constant)`, ...lines.map((l, i) => `v${i + 3} = ${l}`), "loss = sum(last)"].join("\n");
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 });
export const caseArb = shapeArb.chain((xs) =>
  fc.record({
    xShape: fc.constant(xs),
    // w: a suffix of x's shape with some dims set to 1, so that it broadcasts
    wShape: fc.tuple(fc.integer({ min: 0, max: xs.length }), fc.array(fc.boolean(), { minLength: xs.length, maxLength: xs.length })).map(([drop, ones]) =>
      xs.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)),
    ),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
    prog: fc.array(fc.tuple(fc.nat(40), fc.nat(8), fc.nat(8), fc.nat(8)), { minLength: 1, maxLength: 7 }),
  }),
);

export function values(shape: number[], seed: number): ArrayImpl {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0 || 1;
  const data = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1; // uniform in [-1, 1)
  });
  return ArrayImpl.fromTyped(data, shape, "float32");
}

export function close(got: ArrayImpl | null, want: ArrayImpl, what: string): void {
  const g = got === null ? new Float32Array(want.size) : (got.dataSync() as Float32Array);
  const w = want.dataSync() as Float32Array;
  expect(got === null ? want.shape : got.shape, what).toEqual(want.shape);
  const scale = Math.max(1, ...Array.from(w, Math.abs));
  w.forEach((v, i) => {
    if (!(Math.abs(g[i] - v) <= 1e-4 * scale)) expect.fail(`${what}: element ${i} is ${g[i]}, grad gives ${v}`);
  });
}
