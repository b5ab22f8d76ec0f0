// W5 (conv 32×28×28×1 → 32, 3×3, SAME, NHWC/HWIO, bench/workloads.md) on one
// thread and on two, and whose CPU time it is. Each thread of the process is
// charged from /proc/self/task (Linux; 10 ms ticks, summed over many calls):
// the calling thread, the pool's threads (workers and watchdog) and the rest
// -- V8's platform threads (garbage collection) and libuv's, which exist
// before tinyflow is imported. `process.cpuUsage()` adds them all up, so an
// A/B of the pool that reads only that number also measures the collector.
//
// Variants, run in rounds of `block` calls each, rotated, the pool switched
// with setThreadCount before each round (the workers start outside the timed
// calls):
//   - as taught: `await f(X, W).data()` (nothing disposed), the W5 row;
//   - kernel: the conv on the backend's pool alone, then 0.5 ms of
//     busy-waiting for the rest of a W5 call (readback, dispatch), so a
//     worker goes back to sleep between calls as it does in the W5 loop.
// Printed per variant: wall ms per call (min / median over rounds), CPU ms
// per call by thread group, the pool's parts taken over per call and its
// split jobs per call.
//
// Run: npx tsx bench/w5_threads.ts [rounds] [block]   (default 8 rounds of 100 calls)

import { readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { W5_SHAPE, convInputs } from "./harness";

const rounds = Number(process.argv[2] ?? 8);
const block = Number(process.argv[3] ?? 100);
const GAP_MS = 0.5;

const taskIds = (): string[] => {
  try {
    return readdirSync("/proc/self/task");
  } catch {
    return [];
  }
};
const preexisting = new Set(taskIds());
if (preexisting.size === 0) console.log("no /proc/self/task: per-thread CPU is not shown");
/** CPU ticks (user + system, 1/100 s) of each thread alive now. */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of taskIds()) {
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, "utf8").split(") ")[1]!.split(" ");
      out.set(t, Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

const { np, lax, jit } = await import("../src/index");
const { wasmBackend } = await import("../src/backends/wasm");
const { getThreadPool, setThreadCount } = await import("../src/backends/wasm/threads");
const { conv2dShapes } = await import("../src/backends/wasm/conv_params");
type Conv2dParams = import("../src/backends/wasm/conv_params").Conv2dParams;
type Tracer = import("../src/index").Tracer;

const s = W5_SHAPE;
const { x: xData, w: wData } = convInputs(s);
const X = np.array(xData).reshape([s.n, s.h, s.w, s.cin]);
const W = np.array(wData).reshape([s.kh, s.kw, s.cin, s.cout]);
const f = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));

const K = wasmBackend().mem.kernels;
const params: Conv2dParams = { layout: "NHWC", ...s, padding: [[1, 1], [1, 1]] };
const shapes = conv2dShapes(params);
const [xp, wp, yp] = [K.allocF32(shapes.xSize), K.allocF32(shapes.wSize), K.allocF32(shapes.ySize)];
K.writeF32(xp, xData);
K.writeF32(wp, wData);

const busyWait = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
let sink = 0;
const variants: Array<{ label: string; threads: number; run: () => unknown }> = [];
for (const threads of [1, 2]) {
  variants.push({ label: `as taught, ${threads} thread${threads > 1 ? "s" : ""}`, threads, run: async () => { sink += (await f(X, W).data())[7]!; } });
  variants.push({ label: `kernel + ${GAP_MS} ms gap, ${threads} thread${threads > 1 ? "s" : ""}`, threads, run: () => { getThreadPool(K).conv({ params, mode: "forward", a: xp, b: wp, out: yp }); busyWait(GAP_MS); } });
}

interface Tally { wall: number[]; main: number; pool: number; other: number; taken: number; split: number; calls: number }
const tallies = variants.map((): Tally => ({ wall: [], main: 0, pool: 0, other: 0, taken: 0, split: 0, calls: 0 }));
const main = String(process.pid);
for (let r = -1; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + Math.max(r, 0)) % variants.length;
    const v = variants[i]!;
    setThreadCount(v.threads, K);
    const pool = getThreadPool(K);
    await pool.whenReady(10_000);
    for (let j = 0; j < 10; j++) await v.run();
    if (r < 0) continue; // warm-up round
    const t0 = threadTicks(), taken0 = pool.takenOverParts, split0 = pool.splitJobs;
    const w0 = performance.now();
    for (let j = 0; j < block; j++) await v.run();
    const wall = performance.now() - w0;
    const t1 = threadTicks();
    const t = tallies[i]!;
    t.wall.push(wall / block);
    for (const [id, ticks] of t1) {
      const d = ticks - (t0.get(id) ?? 0);
      if (id === main) t.main += d;
      else if (preexisting.has(id)) t.other += d;
      else t.pool += d;
    }
    t.taken += pool.takenOverParts - taken0;
    t.split += pool.splitJobs - split0;
    t.calls += block;
  }
}
setThreadCount(undefined, K);

const minMed = (xs: number[]): string => {
  const q = xs.slice().sort((a, b) => a - b);
  return `${q[0]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
};
const perCall = (ticks: number, calls: number): string => ((ticks * 10) / calls).toFixed(3);
console.log(`W5 on 1 and 2 threads: ${rounds} rounds of ${block} calls per variant; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`(CPU of the kernel variants includes the ${GAP_MS} ms busy-wait on the calling thread)`);
console.log(`${"variant".padEnd(30)} ${"wall min / med".padStart(16)}   CPU ms/call: ${"caller".padStart(6)} ${"pool".padStart(6)} ${"V8/other".padStart(8)}   taken over/call  split/call`);
variants.forEach((v, i) => {
  const t = tallies[i]!;
  console.log(
    `${v.label.padEnd(30)} ${minMed(t.wall).padStart(16)}   ${" ".repeat(12)} ${perCall(t.main, t.calls).padStart(6)} ${perCall(t.pool, t.calls).padStart(6)} ${perCall(t.other, t.calls).padStart(8)}   ${(t.taken / t.calls).toFixed(2).padStart(15)}  ${(t.split / t.calls).toFixed(2).padStart(10)}`,
  );
});
if (sink === 0.5) console.log("");
process.exit(0);
