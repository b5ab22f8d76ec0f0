// The W3 training step as the README teaches it (bench/peers/tinyflow.ts) or
// hand-tuned (bench/peers/tinyflow-tuned.ts), timed per step in blocks of 50,
// with the page faults and the device bytes still resident: shows whether the
// taught loop is paying for fresh device memory (every undisposed batch
// written into newly grown pages until a collection frees the old ones) or
// for collections, which the W3 row of `npm run bench` (100 steps after 5)
// sees only as a median. One adapter per process, since the memory manager's
// state is per process; run both and compare (report `uptime` beside them).
//
//   npx tsx bench/w3_warmup.ts taught 300
//   npx tsx bench/w3_warmup.ts tuned 300

import { loadMnist, batchAt, denseInit, median, W3_SPEC } from "./harness.js";
import { memoryStats } from "../src/index";

const which = process.argv[2] ?? "taught";
const steps = Number(process.argv[3] ?? 300);
if (which !== "taught" && which !== "tuned") throw new Error(`w3_warmup: the adapter is "taught" or "tuned", got ${which}`);
const peer = (await import(which === "tuned" ? "./peers/tinyflow-tuned.js" : "./peers/tinyflow.js")).default;

const mnist = loadMnist();
const trainer = await peer.trainer({ layers: denseInit([784, W3_SPEC.hidden, 10], 6000), lr: W3_SPEC.lr, batch: W3_SPEC.batch });
const faults = (): number => process.resourceUsage().minorPageFault;
let wall: number[] = [];
let cpu: number[] = [];
let blockFaults = 0;
for (let i = 0; i < steps; i++) {
  const { x, y } = batchAt(mnist.train, W3_SPEC.batch, i);
  const f0 = faults();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await trainer.step(x, y, true);
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  blockFaults += faults() - f0;
  if (wall.length === 50 || i === steps - 1) {
    const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
    console.log(
      `${which} steps ${i + 1 - wall.length}-${i}: wall median ${median(wall).toFixed(2)} ms, CPU median ${median(cpu).toFixed(2)} ms, CPU mean ${mean.toFixed(2)} ms, ` +
        `page faults/step ${(blockFaults / wall.length).toFixed(0)}, resident ${(memoryStats().residentBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    wall = [];
    cpu = [];
    blockFaults = 0;
  }
}
trainer.dispose();
