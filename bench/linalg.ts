// bench/linalg.ts — matrix decompositions (eigh, svd, cholesky, qr, inv) on
// n×n float32 matrices: tinyflow (wasm, the Rust kernels of wasm/src/linalg.rs)
// against @jax-js/jax (wasm device), both in this process, interleaved rep by
// rep. Prints the min and median wall time per call and the ratio jax-js /
// tinyflow (> 1: tinyflow is faster), with the load average beside them.
// Timed: upload of the input excluded, the decomposition and reading its
// first output back included. Usage: npx tsx bench/linalg.ts [reps] [sizes...]

import os from "node:os";
import { np as tfnp, ready } from "../src/index";
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
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
