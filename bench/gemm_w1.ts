// W1 (1024x1024 f32 matmul) of tinyflow against tfjs-wasm, each configuration
// in its own process, rounds interleaved so a shared machine's load hits them
// alike: tinyflow with 1 thread with and without relaxed SIMD (Node 20 needs
// --experimental-wasm-relaxed-simd; without it the Rust sgemm runs, with it
// the generated relaxed_madd GEMM), tinyflow with 2 threads, and tfjs-wasm
// (single-threaded in Node). Every configuration times the peers' W1 path
// (bench/peers/*.ts: jit(matmul) and tf.matMul, each reading its result back).
// The tinyflow processes also time the bare kernels on wasm memory: Rust
// sgemm, generated plain, generated relaxed (one thread, no copies).
// Under load the best (shortest) run is the estimate of what the code can do;
// medians are printed beside it.
//
// Run: npx tsx bench/gemm_w1.ts [--rounds 3] [--reps 7] [--n 1024]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import os from "node:os";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const N = opt("n", 1024);
const REPS = opt("reps", 7);
const ROUNDS = opt("rounds", 3);
const FLOPS = 2 * N ** 3;
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";

interface Sample {
  /** GFLOPS of each rep of the peer's W1 path. */
  w1: number[];
  /** GFLOPS of each rep of the bare kernels (tinyflow only). */
  kernels?: Record<string, number[]>;
  relaxed?: boolean;
}

function operands(): [Float32Array, Float32Array] {
  const a = new Float32Array(N * N);
  const b = new Float32Array(N * N);
  for (let i = 0; i < N * N; i++) {
    a[i] = Math.sin(i) * 0.5;
    b[i] = Math.cos(i) * 0.5;
  }
  return [a, b];
}

/** GFLOPS of each of REPS runs of `f` after a 0.5 s warm-up (V8 tiers the wasm up). */
async function time(f: () => unknown): Promise<number[]> {
  const warm = performance.now() + 500;
  do await f(); while (performance.now() < warm);
  const out: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    await f();
    out.push(FLOPS / ((performance.now() - t) * 1e6));
  }
  return out;
}

async function child(peerName: string): Promise<Sample> {
  const [a, b] = operands();
  if (peerName === "tfjs") {
    const peer = (await import("./peers/tfjs.js")).default;
    await peer.setup();
    const t = await peer.matmul(a, b, N);
    return { w1: await time(() => t.run()) };
  }
  const peer = (await import("./peers/tinyflow.js")).default;
  const { getWasmKernels } = await import("../src/backends/wasm/kernels.js");
  const { compileGemm } = await import("../src/backends/wasm/codegen/gemm.js");
  const { probeRelaxedSimd } = await import("../src/backends/wasm/codegen/assembler.js");
  await peer.setup();
  const t = await peer.matmul(a, b, N);
  const w1 = await time(() => t.run());
  // The bare kernels, interleaved rep by rep.
  const K = getWasmKernels();
  const pa = K.putF32(a), pb = K.putF32(b), pc = K.allocF32(N * N);
  const rustScratch = K.alloc(K.sgemmScratchBytes(N, N, N));
  const fns: Record<string, () => void> = { "rust sgemm": () => K.raw.sgemm_rows(0, 0, N, N, N, 1, pa, N, pb, N, 0, pc, N, 0, N, rustScratch) };
  for (const relaxed of probeRelaxedSimd() ? [false, true] : [false]) {
    const g = compileGemm([], { memory: K.memory, packers: K.raw, relaxedSimd: relaxed });
    const s = K.alloc(g.scratchBytes(N, N, N));
    fns[relaxed ? "generated relaxed_madd" : "generated mul+add"] = () => g.gemmRows(0, 0, N, N, N, pa, N, pb, N, pc, N, 0, N, s);
  }
  for (const f of Object.values(fns)) {
    const warm = performance.now() + 300;
    do f(); while (performance.now() < warm);
  }
  const kernels: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r < REPS; r++) {
    for (const [name, f] of Object.entries(fns)) {
      const t0 = performance.now();
      f();
      kernels[name]!.push(FLOPS / ((performance.now() - t0) * 1e6));
    }
  }
  return { w1, kernels, relaxed: probeRelaxedSimd() };
}

interface Config {
  label: string;
  peer: "tinyflow" | "tfjs";
  threads?: number;
  relaxed?: boolean;
}

const CONFIGS: Config[] = [
  { label: "tfjs-wasm", peer: "tfjs" },
  { label: "tinyflow 1 thread, plain SIMD", peer: "tinyflow", threads: 1, relaxed: false },
  { label: "tinyflow 1 thread, relaxed SIMD", peer: "tinyflow", threads: 1, relaxed: true },
  { label: "tinyflow 2 threads, plain SIMD", peer: "tinyflow", threads: 2, relaxed: false },
  { label: "tinyflow 2 threads, relaxed SIMD", peer: "tinyflow", threads: 2, relaxed: true },
];

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const samples = new Map<string, Sample[]>(CONFIGS.map((c) => [c.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CONFIGS) {
      const flags = [...(c.relaxed ? [RELAXED_FLAG] : []), "--import", "tsx", self, "--child", c.peer, "--n", String(N), "--reps", String(REPS)];
      const env = { ...process.env, ...(c.threads ? { TINYFLOW_THREADS: String(c.threads) } : {}) };
      const r = spawnSync(process.execPath, flags, { env, encoding: "utf8", maxBuffer: 1 << 24 });
      const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
      if (r.status !== 0 || !line) {
        console.error(`${c.label}: child failed (status ${r.status})\n${r.stderr.slice(-2000)}`);
        continue;
      }
      samples.get(c.label)!.push(JSON.parse(line) as Sample);
    }
  }
  const best = (xs: number[]) => Math.max(...xs);
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
  const all = (label: string) => samples.get(label)!.flatMap((s) => s.w1);
  console.log(`W1 ${N}x${N}x${N} f32, ${ROUNDS} rounds x ${REPS} reps per configuration; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, ${os.cpus().length} cores`);
  console.log("GFLOPS of the peers' W1 path (best run, median):");
  for (const c of CONFIGS) {
    const xs = all(c.label);
    if (xs.length) console.log(`  ${c.label.padEnd(34)} ${best(xs).toFixed(1).padStart(6)}  ${median(xs).toFixed(1).padStart(6)}`);
  }
  const tf = all("tfjs-wasm");
  const ratio = (label: string) => (all(label).length && tf.length ? (best(all(label)) / best(tf)).toFixed(2) : "n/a");
  console.log("Best-run ratios:");
  console.log(`  1 thread relaxed / tfjs-wasm: ${ratio("tinyflow 1 thread, relaxed SIMD")}`);
  console.log(`  1 thread plain   / tfjs-wasm: ${ratio("tinyflow 1 thread, plain SIMD")}`);
  const two = (r: boolean) => {
    const one = all(`tinyflow 1 thread, ${r ? "relaxed" : "plain"} SIMD`);
    const t2 = all(`tinyflow 2 threads, ${r ? "relaxed" : "plain"} SIMD`);
    return one.length && t2.length ? (best(t2) / best(one)).toFixed(2) : "n/a";
  };
  console.log(`  2 threads / 1 thread: plain ${two(false)}, relaxed ${two(true)} (needs an idle second core to mean anything)`);
  const kernelRuns = new Map<string, number[]>();
  for (const c of CONFIGS.filter((c) => c.threads === 1)) {
    for (const s of samples.get(c.label)!) for (const [k, xs] of Object.entries(s.kernels ?? {})) kernelRuns.set(k, [...(kernelRuns.get(k) ?? []), ...xs]);
  }
  console.log("Bare kernels, 1 thread, interleaved in the same processes (best run, median):");
  for (const [k, xs] of kernelRuns) console.log(`  ${k.padEnd(34)} ${best(xs).toFixed(1).padStart(6)}  ${median(xs).toFixed(1).padStart(6)}`);
}

const ci = argv.indexOf("--child");
if (ci >= 0) {
  child(argv[ci + 1]!).then((s) => {
    console.log(JSON.stringify(s));
    process.exit(0);
  });
} else {
  parent();
}
