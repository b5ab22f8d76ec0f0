// bench/webgpu.ts — the WebGPU rows: W1 matmul (GFLOPS) at 1024 and 4096, the
// W3 MLP training step (steps/s) and the W5 conv (ms), for tinyflow on its
// WebGPU backend and jax-js on its WebGPU device, measured in this one
// process with the harness of bench/run.ts (same inputs, same checks), the
// peers alternating case by case. Prints the adapter, the load average and,
// per row, each peer's median and tinyflow's ratio to jax-js.
//
//   npx tsx bench/webgpu.ts [--sizes 1024,4096] [--workloads W1,W3,W5] [--quick]
//
// --quick (what `npm run bench` runs) times fewer repetitions and W1 at 256
// only unless --sizes says otherwise, so it ends in well under two minutes on
// SwiftShader, where it only proves the path runs. Without a WebGPU adapter it
// prints why and exits successfully: the rows are skipped, not failed.

import { loadWebGpuBackend } from "../src/index";
import { loadLine, runCase, runConfig, type ChildResult, type Peer, type WorkloadId } from "./harness.js";
import tinyflowWebgpu from "./peers/tinyflow-webgpu";
import jaxjsWebgpu from "./peers/jaxjs-webgpu";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const quick = args.includes("--quick");
const sizes = opt("--sizes", quick ? "256" : "1024,4096").split(",").map(Number);
const workloads = opt("--workloads", "W1,W3,W5").split(",") as WorkloadId[];
const peers: Peer[] = [tinyflowWebgpu, jaxjsWebgpu];

const cases: { workload: WorkloadId; size: number }[] = workloads.flatMap((w): { workload: WorkloadId; size: number }[] =>
  w === "W1" ? sizes.map((size) => ({ workload: w, size })) : [{ workload: w, size: w === "W3" ? 128 : 32 }],
);

try {
  await loadWebGpuBackend();
} catch (e) {
  console.log(`# WebGPU rows skipped: no WebGPU adapter here (${(e as Error).message})`);
  process.exit(0);
}

console.log(`# WebGPU rows (${quick ? "quick" : "full"}), ${loadLine("before")}`);
const results = new Map<string, ChildResult | string>();
for (const c of cases) {
  for (const p of peers) {
    try {
      const r = await runCase(p, c.workload, c.size, runConfig(quick));
      results.set(`${p.name}|${c.workload}|${c.size}`, r);
      if (c === cases[0]) console.log(`#   ${p.name}: ${r.info.version}, ${r.info.backend}; ${r.info.notes.join("; ")}`);
    } catch (e) {
      results.set(`${p.name}|${c.workload}|${c.size}`, `error: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
console.log(`\n| row | ${peers.map((p) => p.name).join(" | ")} | tinyflow / jax-js |\n|---|${peers.map(() => "---|").join("")}---|`);
for (const c of cases) {
  const rs = peers.map((p) => results.get(`${p.name}|${c.workload}|${c.size}`)!);
  const main = rs.map((r) => (typeof r === "string" ? null : r.rows[0] ?? null));
  const what: Record<string, string> = { W1: "matmul", W3: "MLP training step", W5: "conv" };
  const key = main.find((m) => m)?.key;
  const label = `${c.workload} ${what[c.workload] ?? ""} ${c.size}${key && key !== "main" ? ` (${key})` : ""}`;
  const cells = rs.map((r, i) => (typeof r === "string" ? r : `${fmt(main[i]!.value)} ${main[i]!.unit}${main[i]!.check.ok ? "" : ` (CHECK FAILED: ${main[i]!.check.text})`}`));
  const [a, b] = main;
  const ratio = a && b ? (a.higherIsBetter ? a.value / b.value : b.value / a.value) : NaN;
  console.log(`| ${label} | ${cells.join(" | ")} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "n/a"} |`);
}
console.log(`# ${loadLine("after")}`);
process.exit(0);
