// Gradient checkers shared by the autodiff unit tests (test/jvp_rules.test.ts)
// and the fast-check properties (property-tests/grad.prop.test.ts):
// forward mode against central finite differences (the differences taken in
// float64 on the host), reverse against forward (<u, J v> = <J^T u, v>), and
// the same two checks one order up. Failures throw with the input shapes and
// values in the message, so a shrunk counterexample can be read as is.

import { Array, type Tracer, jvp, vjp } from "../src/index";
import { rng } from "./rng";

export type Fn = (...xs: Tracer[]) => Tracer | Tracer[];

/** A small seeded PRNG (mulberry32), so failures are reproducible. */
export { rng };

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function f32(shape: readonly number[], values: ArrayLike<number>): Array {
  return Array.fromTyped(Float32Array.from(values), [...shape], "float32");
}
export function i32(shape: readonly number[], values: ArrayLike<number>): Array {
  return Array.fromTyped(Int32Array.from(values), [...shape], "int32");
}

/** Uniform values in [lo, hi). */
export function uniform(rand: () => number, shape: readonly number[], lo = -1, hi = 1): Array {
  return f32(shape, globalThis.Array.from({ length: sizeOf(shape) }, () => lo + (hi - lo) * rand()));
}

/** Pairwise distinct values (gaps >= 0.05) in a shuffled order, for piecewise functions
 * (max, sort, pooling) whose finite differences must not cross a tie. */
export function distinct(rand: () => number, shape: readonly number[], scale = 1): Array {
  const n = sizeOf(shape);
  const vals = globalThis.Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1 * scale + 0.02 * scale * rand());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return f32(shape, vals);
}

const host = (x: Tracer): Float64Array => Float64Array.from((x as Array).dataSync());
const asList = (y: Tracer | Tracer[]): Tracer[] => (globalThis.Array.isArray(y) ? y : [y]);

function fmtVals(xs: ArrayLike<number>, max = 12): string {
  const parts = globalThis.Array.from(xs).slice(0, max).map((v) => (Number.isInteger(v) ? String(v) : v.toPrecision(4)));
  return `[${parts.join(", ")}${xs.length > max ? `, … (${xs.length})` : ""}]`;
}
export function describeInputs(xs: readonly Tracer[]): string {
  return xs.map((x, i) => `x${i}: ${x.aval.str()} = ${fmtVals(host(x))}`).join("; ");
}

export interface CheckOptions {
  /** Finite-difference step. */
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  label?: string;
  /** Skip the finite-difference check (e.g. a function evaluated in low precision). */
  skipFd?: boolean;
}

function closeOrThrow(what: string, got: Float64Array, want: Float64Array, rtol: number, atol: number, ctx: string): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length} (${ctx})`);
  const scale = Math.max(1, ...globalThis.Array.from(want, Math.abs));
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol * scale + rtol * Math.abs(want[i]))) {
      throw new Error(
        `${what} mismatch at flat index ${i}: got ${got[i]}, expected ${want[i]} (|err| ${err.toExponential(2)})\n` +
          `  got      ${fmtVals(got)}\n  expected ${fmtVals(want)}\n  ${ctx}`,
      );
    }
  }
}

/**
 * First-order checks of `f` at `xs` (all float inputs) along a random direction:
 * jvp vs central differences, and <u, jvp(v)> vs <vjp(u), v>.
 */
export function checkGrads(f: Fn, xs: Tracer[], opts: CheckOptions = {}): void {
  const eps = opts.eps ?? 1e-3;
  const rtol = opts.rtol ?? 3e-3;
  const atol = opts.atol ?? 1e-3;
  // decorrelated from any generator the caller seeded with the same number
  const rand = rng(((opts.seed ?? 1234) ^ 0x5bd1e995) >>> 0);
  const ctx = `${opts.label ?? "f"} at ${describeInputs(xs)}`;
  const vs = xs.map((x) => uniform(rand, x.shape));
  const [outsRaw, tansRaw] = jvp((...a: Tracer[]) => f(...a), xs, vs);
  const outs = asList(outsRaw as Tracer | Tracer[]);
  const tans = asList(tansRaw as Tracer | Tracer[]);

  // forward vs finite differences, differences in f64 on the host
  if (!opts.skipFd) {
    const shifted = (sgn: number) =>
      asList(
        f(
          ...xs.map((x, i) => {
            const xv = host(x);
            const vv = host(vs[i]);
            return f32(x.shape, xv.map((a, k) => a + sgn * eps * vv[k]));
          }),
        ),
      );
    const plus = shifted(1);
    const minus = shifted(-1);
    outs.forEach((_, o) => {
      const p = host(plus[o]);
      const m = host(minus[o]);
      const fd = p.map((a, k) => (a - m[k]) / (2 * eps));
      closeOrThrow(`jvp vs finite differences (output ${o})`, host(tans[o]), fd, rtol, atol, `${ctx}; v = ${fmtVals(host(vs[0]))}`);
    });
  }

  // reverse vs forward: <u, J v> == <J^T u, v>
  const us = outs.map((o) => uniform(rand, o.shape));
  const [, pullback] = vjp((...a: Tracer[]) => f(...a), ...xs);
  const ctIn = globalThis.Array.isArray(outsRaw) ? us : us[0];
  const cts = pullback(ctIn as never) as Tracer[];
  let lhs = 0;
  let mag = 0;
  tans.forEach((t, o) => {
    const a = host(t);
    const b = host(us[o]);
    a.forEach((v, k) => {
      lhs += v * b[k];
      mag += Math.abs(v * b[k]);
    });
  });
  let rhs = 0;
  cts.forEach((c, i) => {
    const a = host(c);
    const b = host(vs[i]);
    a.forEach((v, k) => {
      rhs += v * b[k];
      mag += Math.abs(v * b[k]);
    });
  });
  if (!(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, mag))) {
    throw new Error(`vjp/jvp disagree: <u, J v> = ${lhs} but <J^T u, v> = ${rhs} (${ctx})`);
  }
}

/**
 * Second-order checks: the first-order checks applied to x -> J(x) v
 * (forward over forward, reverse over forward) and to x -> J(x)^T u
 * (forward over reverse, reverse over reverse), for fixed random v and u.
 */
export function checkSecondOrder(f: Fn, xs: Tracer[], opts: CheckOptions = {}): void {
  const rand = rng(((opts.seed ?? 1234) ^ 0x2545f491) >>> 0);
  const vs = xs.map((x) => uniform(rand, x.shape));
  const outs = asList(f(...xs));
  const us = outs.map((o) => uniform(rand, o.shape));
  const single = !globalThis.Array.isArray(f(...xs));
  const fwd: Fn = (...a) => asList(jvp((...b: Tracer[]) => f(...b), a, vs)[1] as Tracer | Tracer[]);
  const rev: Fn = (...a) => {
    const [, pb] = vjp((...b: Tracer[]) => f(...b), ...a);
    return pb((single ? us[0] : us) as never) as Tracer[];
  };
  const o2 = { ...opts, rtol: opts.rtol ?? 1e-2, atol: opts.atol ?? 3e-3 };
  checkGrads(fwd, xs, { ...o2, label: `${opts.label ?? "f"} (forward-mode derivative)` });
  checkGrads(rev, xs, { ...o2, label: `${opts.label ?? "f"} (reverse-mode derivative)` });
}
