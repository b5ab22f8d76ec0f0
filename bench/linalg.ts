// bench/linalg.ts — matrix decompositions (eigh, svd, cholesky, qr, inv) on
// n×n float32 matrices: tinyflow (wasm, the Rust kernels of wasm/src/linalg.rs)
// against @jax-js/jax (wasm device), both in this process, interleaved rep by
// rep. Prints the min and median wall time per call and the ratio jax-js /
// tinyflow (> 1: tinyflow is faster), with the load average beside them.
// Timed: upload of the input excluded, the decomposition and reading its
// first output back included. Usage: npx tsx bench/linalg.ts [reps] [sizes...]
//
// A second table times `jit` of np.linalg code (a solve, the gradient of a
// solve-and-log-determinant loss, a batch of small eigendecompositions) as its
// one compiled program against the same optimized jaxpr run equation by
// equation, which is how jit ran these functions while their custom_jvp_call
// equations were not inlined at lowering (transforms/passes/inline.ts).

import os from "node:os";
import { np as tfnp, ready, jit, grad, makeJaxpr, type Array as TfArray } from "../src/index";
import { evalClosedJaxpr } from "../src/core";
import { optimize } from "../transforms/passes";
import { numpy as jnp, init, defaultDevice } from "@jax-js/jax";

const reps = Number(process.argv[2] ?? 5);
const sizes = process.argv.slice(3).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(64, 256);

/** A well-conditioned symmetric positive-definite test matrix: B Bᵀ/n + I with B uniform in [-1, 1). */
function spdMatrix(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const b = Float64Array.from({ length: n * n }, next);
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += b[i * n + k] * b[j * n + k];
      out[i * n + j] = acc / n + (i === j ? 1 : 0);
    }
  }
  return out;
}

type Op = "eigh" | "svd" | "cholesky" | "qr" | "inv";
const OPS: Op[] = ["eigh", "svd", "cholesky", "qr", "inv"];

async function timeTinyflow(op: Op, data: Float32Array, n: number): Promise<number> {
  const a = tfnp.array(data).reshape([n, n]);
  a.dataSync();
  const t = performance.now();
  const out =
    op === "eigh" ? tfnp.linalg.eigh(a)[1] : op === "svd" ? tfnp.linalg.svd(a)[0] : op === "cholesky" ? tfnp.linalg.cholesky(a) : op === "qr" ? tfnp.linalg.qr(a)[1] : tfnp.linalg.inv(a);
  await out.data();
  return performance.now() - t;
}

/** jax-js has no qr; null where it lacks the operation. */
async function timeJaxJs(op: Op, data: Float32Array, n: number): Promise<number | null> {
  if (op === "qr") return null;
  const a = jnp.array(data as Float32Array<ArrayBuffer>).reshape([n, n]);
  await a.ref.data();
  const t = performance.now();
  let out: jnp.Array;
  if (op === "eigh") {
    const [w, v] = jnp.linalg.eigh(a) as unknown as [jnp.Array, jnp.Array];
    w.dispose();
    out = v;
  } else if (op === "svd") {
    const [u, s, vh] = jnp.linalg.svd(a) as unknown as [jnp.Array, jnp.Array, jnp.Array];
    s.dispose();
    vh.dispose();
    out = u;
  } else if (op === "cholesky") out = jnp.linalg.cholesky(a);
  else out = jnp.linalg.inv(a);
  await out.data();
  return performance.now() - t;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

await ready();
await init("wasm");
defaultDevice("wasm");
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}, ${os.cpus().length} CPUs, ${reps} reps (after one warm-up)`);
console.log("| op | n | tinyflow min / median (ms) | jax-js min / median (ms) | jax-js / tinyflow (median) |");
console.log("|---|---|---|---|---|");
for (const n of sizes) {
  const data = spdMatrix(n, n);
  for (const op of OPS) {
    const tf: number[] = [];
    const jj: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const a = await timeTinyflow(op, data, n);
      const b = await timeJaxJs(op, data, n);
      if (r === 0) continue; // warm-up: compilation and first allocation
      tf.push(a);
      if (b !== null) jj.push(b);
    }
    const t = stats(tf);
    const j = jj.length > 0 ? stats(jj) : null;
    console.log(`| ${op} | ${n} | ${ms(t.min)} / ${ms(t.median)} | ${j ? `${ms(j.min)} / ${ms(j.median)}` : "n/a"} | ${j ? (j.median / t.median).toFixed(2) : "n/a"} |`);
  }
}

/** One jit workload: the function, its inputs, and a name for the table. */
interface JitCase {
  name: string;
  f: (...xs: TfArray[]) => TfArray | TfArray[];
  args: TfArray[];
}

/** The per-size workloads, and (with `small`) a batch of 4×4 problems where per-equation overhead dominates. */
function jitCases(n: number, small: boolean): JitCase[] {
  const a = tfnp.array(spdMatrix(n, n + 1)).reshape([n, n]);
  const b = tfnp.linspace(-1, 1, n);
  const solveLoss = (m: TfArray) => tfnp.add(tfnp.sum(tfnp.square(tfnp.linalg.solve(m, b))), tfnp.linalg.slogdet(m)[1]);
  const batch = tfnp.stack(globalThis.Array.from({ length: 64 }, (_, i) => tfnp.array(spdMatrix(4, i + 7)).reshape([4, 4])));
  const spectral = (m: TfArray) => {
    const [w, v] = tfnp.linalg.eigh(m);
    return tfnp.matmul(tfnp.multiply(v, tfnp.sqrt(tfnp.expandDims(w, -2))), tfnp.swapaxes(v, -1, -2));
  };
  return [
    { name: `solve ${n}×${n}`, f: (x) => tfnp.linalg.solve(a, x), args: [b] },
    { name: `grad(solve + slogdet) ${n}×${n}`, f: grad(solveLoss), args: [a] },
    ...(small ? [{ name: "sqrtm by eigh, 64 × 4×4", f: spectral, args: [batch] }] : []),
  ];
}

/** Runs `f` and reads every output back; returns the wall time in ms. */
async function timed(f: () => TfArray | TfArray[]): Promise<number> {
  const t = performance.now();
  const out = f();
  for (const o of globalThis.Array.isArray(out) ? out : [out]) await o.data();
  return performance.now() - t;
}

console.log("\n| jit of np.linalg code | compiled program min / median (ms) | same jaxpr op by op min / median (ms) | op by op / compiled (median) |");
console.log("|---|---|---|---|");
for (const n of sizes) {
  for (const c of jitCases(n, n === sizes[0])) {
    const jitted = jit(c.f);
    if (jitted.lower(...c.args).text().includes("run op by op")) throw new Error(`${c.name}: jit did not compile it`);
    // The jaxpr jit compiles, optimized the same way, with its constants closed over.
    const optimized = optimize(makeJaxpr(c.f)(...c.args));
    const compiled: number[] = [];
    const opByOp: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const x = await timed(() => jitted(...c.args));
      const y = await timed(() => evalClosedJaxpr(optimized, c.args) as TfArray[]);
      if (r === 0) continue;
      compiled.push(x);
      opByOp.push(y);
    }
    const p = stats(compiled);
    const q = stats(opByOp);
    console.log(`| ${c.name} | ${ms(p.min)} / ${ms(p.median)} | ${ms(q.min)} / ${ms(q.median)} | ${(q.median / p.median).toFixed(2)} |`);
  }
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
