// What the taught W5 loop's footprint costs per call, without its garbage
// collections: the W5 conv (bench/workloads.md) called as the tuned adapter
// writes it, but with the last `k` results kept alive and the oldest disposed
// after each call, so that each result lands in the block the oldest one
// left, k calls ago. The taught loop (`await f(X, W).data()`, nothing
// disposed) frees its dead results only at full collections, every 10-40
// calls, so it cycles through 20-30 blocks of 3.2 MB (src/core/residency.ts,
// "What W5 as taught still pays"); k = 1 is the tuned loop. Since a read
// result gives its block to the next call's output (residency.ts, "Taking read
// results"), the taught loop no longer cycles; each result here asks for its
// `.buffer` after its read, which keeps it from being taken, so that this
// still measures what a cycle of k + 1 blocks costs. The k values run
// interleaved in blocks of 10 calls, after each ring was filled (no memory
// growth while timed). Per-call wall and CPU ms (all threads), p10 and median.
//
// Run: npx tsx bench/w5_output_cycle.ts [rounds]   (default 60 rounds)

import { loadavg } from "node:os";
import { np, lax, jit, type ArrayImpl, type Tracer } from "../src/index";
import { W5_SHAPE, convInputs } from "./harness";

const rounds = Number(process.argv[2] ?? 60);
const BLOCK = 10;
const ks = [1, 2, 8, 24];

const s = W5_SHAPE;
const { x: xData, w: wData } = convInputs(s);
const X = np.array(xData).reshape([s.n, s.h, s.w, s.cin]);
const W = np.array(wData).reshape([s.kh, s.kw, s.cin, s.cout]);
const f = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));

const rings = ks.map((k) => Array.from({ length: k }, () => f(X, W)));
const wall = ks.map(() => [] as number[]);
const cpu = ks.map(() => [] as number[]);
let sink = 0;
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < ks.length; i++) {
    const ring = rings[i]!;
    for (let j = 0; j < BLOCK; j++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const y = f(X, W);
      sink += (await y.data())[7]!;
      // Kept on the device as it is: not taken by the next call (see the header).
      if ((y as ArrayImpl).buffer === null) sink++;
      ring.push(y);
      ring.shift()!.dispose();
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      wall[i]!.push(t);
      cpu[i]!.push((c.user + c.system) / 1000);
    }
  }
}

const stat = (xs: number[]) => {
  const q = xs.slice().sort((a, b) => a - b);
  return `${q[Math.floor(q.length / 10)]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
};
console.log(`W5 with k results alive: ${rounds} rounds of ${BLOCK} calls per k, ms per call (p10 / median); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`${"results alive".padEnd(28)} ${"wall".padStart(15)}   ${"CPU (all threads)".padStart(17)}`);
ks.forEach((k, i) => console.log(`${`k = ${k} (${k + 1} blocks, ${((k + 1) * 3.2).toFixed(0)} MB)`.padEnd(28)} ${stat(wall[i]!).padStart(15)}   ${stat(cpu[i]!).padStart(17)}`));
if (sink === 0.5) console.log("");
process.exit(0);
