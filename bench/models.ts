// bench/models.ts — W7 and W8: one training step of a CNN (W7) and of a small
// Transformer language model (W8), in tinyflow, TensorFlow.js (wasm backend)
// and @jax-js/jax (wasm), on the same shapes, the same seeded initial weights
// and the same batch, each peer in its own process.
//
//   npx tsx bench/models.ts [--peers tinyflow,tfjs,jaxjs] [--workloads W7,W8] [--procs 3] [--steps 10]
//
// A child process (`--child <peer> <workload>`) builds the model from the
// spec below, runs 3 untimed steps (the first compiles), then times `steps`
// steps, each ending with the loss read back into JS, and prints one JSON line
// (its median and min step time, the cold first step, the first loss). The
// parent runs the children one at a time, peers interleaved, and prints per
// row the median over processes of the per-process medians, the min–max of
// those, and the ratio to tinyflow. The first losses must agree across peers
// (same weights, same batch): that is the check that the models are the same.
// tinyflow's child also reports how many steps of its compiled training step
// fall back to the host (`jit(step).lower(...).text()`). Benchmarks are not
// tests: nothing here asserts.
//
// W7 has no tfjs-wasm number: tfjs's wasm backend registers no
// Conv2DBackpropFilter kernel (the gradient of a convolution with respect to
// its filter), so tfjs cannot train any CNN there. The tfjs row of W7 shows
// that failure with the reason, and W7 is judged against @jax-js/jax (wasm);
// `--peers tinyflow,tfjs-cpu --workloads W7` gives tfjs's plain-JS cpu backend
// (seconds per step: not a peer a wasm library is measured against).

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadLine, machineLines, median } from "./harness.js";
import { W7_SPEC, W8_SPEC, w7Data, w8Data, type ModelPeer, type ModelWorkload } from "./model_workloads.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Failures of a peer that are a known gap in that peer, explained where its row would be. */
const KNOWN_GAPS: readonly { workload: ModelWorkload; peer: string; error: RegExp; explanation: string }[] = [
  {
    workload: "W7",
    peer: "tfjs",
    error: /Conv2DBackpropFilter/,
    explanation:
      "tfjs's wasm backend has no Conv2DBackpropFilter kernel (a convolution's gradient with respect to its filter), so it cannot train a CNN; " +
      "W7 is judged against jax-js instead (tfjs's plain-JS cpu backend: --peers tinyflow,tfjs-cpu --workloads W7)",
  },
];

const RESULT_PREFIX = "@@model-bench ";

interface ChildResult {
  peer: string;
  workload: ModelWorkload;
  backend: string;
  coldMs: number;
  medianMs: number;
  minMs: number;
  firstLoss: number;
  notes: string[];
}

// ───────────────────────────── child: one peer, one workload ─────────────────────────────

async function child(peerName: string, workload: ModelWorkload, steps: number): Promise<void> {
  const peer = ((await import(pathToFileURL(path.join(BENCH_DIR, "model_peers", `${peerName}.ts`)).href)) as { default: ModelPeer }).default;
  const backend = await peer.setup();
  const built = workload === "W7" ? await peer.w7(w7Data()) : await peer.w8(w8Data());
  let t = performance.now();
  const firstLoss = await built.step();
  const coldMs = performance.now() - t;
  for (let i = 0; i < 2; i++) await built.step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    t = performance.now();
    await built.step();
    times.push(performance.now() - t);
  }
  const result: ChildResult = { peer: peerName, workload, backend, coldMs, medianMs: median(times), minMs: Math.min(...times), firstLoss, notes: built.notes };
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => process.exit(0));
}

// ───────────────────────────── parent ─────────────────────────────

function runChild(peer: string, workload: ModelWorkload, steps: number): Promise<ChildResult | string> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", peer, workload, String(steps)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (err += d));
    proc.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      // On failure, the error's own line (e.g. tfjs's "Kernel '…' not registered") says more than the stack's tail.
      const lines = (err || out).trim().split("\n");
      const reason = lines.find((l) => /^\s*\w*Error: /.test(l) && l.length < 400) ?? lines.slice(-3).join(" | ").slice(0, 400);
      resolve(line ? (JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult) : `exit ${code}: ${reason.trim()}`);
    });
  });
}

async function parent(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const peers = arg("--peers", "tinyflow,tfjs,jaxjs").split(",").filter(Boolean);
  const workloads = arg("--workloads", "W7,W8").split(",").filter(Boolean).map((w) => w.toUpperCase()) as ModelWorkload[];
  const procs = Math.max(1, Number(arg("--procs", "3")));
  const steps = Math.max(1, Number(arg("--steps", "10")));
  console.log(machineLines().join("\n"));
  const labels: Record<ModelWorkload, string> = {
    W7: `W7 CNN train step b${W7_SPEC.batch} 28x28x1 conv16-conv32-dense10`,
    W8: `W8 Transformer train step b${W8_SPEC.batch} seq${W8_SPEC.seq} d${W8_SPEC.dModel} h${W8_SPEC.heads}`,
  };
  for (const workload of workloads) {
    const results = new Map<string, ChildResult[]>();
    const failures = new Map<string, string>();
    for (let p = 0; p < procs; p++) {
      for (const peer of peers) {
        const r = await runChild(peer, workload, steps);
        if (typeof r === "string") failures.set(peer, r);
        else results.set(peer, [...(results.get(peer) ?? []), r]);
      }
    }
    console.log(`\n${labels[workload]} — ms per step (median over ${procs} processes of each one's median of ${steps} steps; loss read back every step)`);
    const base = results.get("tinyflow");
    const baseMs = base ? median(base.map((r) => r.medianMs)) : NaN;
    for (const peer of peers) {
      const rs = results.get(peer);
      if (!rs) {
        const failure = failures.get(peer) ?? "";
        console.log(`  ${peer.padEnd(10)} failed: ${failure}`);
        const gap = KNOWN_GAPS.find((g) => g.workload === workload && g.peer === peer && g.error.test(failure));
        if (gap) console.log(`      known gap: ${gap.explanation}`);
        continue;
      }
      const meds = rs.map((r) => r.medianMs);
      const ms = median(meds);
      console.log(
        `  ${peer.padEnd(10)} ${ms.toFixed(1).padStart(8)} ms  [${Math.min(...meds).toFixed(1)}–${Math.max(...meds).toFixed(1)}]  ` +
          `cold ${median(rs.map((r) => r.coldMs)).toFixed(0)} ms  first loss ${rs[0]!.firstLoss.toFixed(5)}  ` +
          `${peer === "tinyflow" ? "" : `tinyflow's time / ${peer}'s = ${(baseMs / ms).toFixed(2)}x`}  (${rs[0]!.backend})`,
      );
      for (const note of rs[0]!.notes) console.log(`      ${note}`);
    }
  }
  console.log(loadLine("end"));
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(argv[1]!, argv[2] as ModelWorkload, Number(argv[3]));
else await parent(argv);
