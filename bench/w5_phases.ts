// Where the W5 conv's time goes (32×28×28×1 → 32, 3×3, SAME, NHWC/HWIO, as in
// bench/workloads.md): the whole call as the README teaches it (`await
// f(X, W).data()`, nothing disposed) and as the tuned adapter writes it (the
// result disposed after reading), next to its phases measured alone — the
// conv kernel on the backend's thread pool and on one thread, the 3.2 MB
// readback copy, the jitted call without a readback, the readback without
// the event-loop turn that `data()` takes. Variants run in rounds of
// `block` calls each, rotated, so each sees the garbage-collection state the
// others leave; wall and CPU ms per call, min and median over the rounds'
// per-call means.
//
// Run: npx tsx bench/w5_phases.ts [rounds] [block]   (default 15 rounds of 20 calls)

import { loadavg } from "node:os";
import { np, lax, jit, type Tracer } from "../src/index";
import { copyOut } from "../src/core/host_heap";
import { wasmBackend } from "../src/backends/wasm";
import { getThreadPool, ThreadPool } from "../src/backends/wasm/threads";
import { conv2dShapes, type Conv2dParams } from "../src/backends/wasm/conv_params";
import { W5_SHAPE, convInputs } from "./harness";

const rounds = Number(process.argv[2] ?? 15);
const block = Number(process.argv[3] ?? 20);

const s = W5_SHAPE;
const { x: xData, w: wData } = convInputs(s);

const X = np.array(xData).reshape([s.n, s.h, s.w, s.cin]);
const W = np.array(wData).reshape([s.kh, s.kw, s.cin, s.cout]);
const f = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));

// The kernel alone, on buffers of the backend's memory.
const backend = wasmBackend();
const K = backend.mem.kernels;
const params: Conv2dParams = { layout: "NHWC", ...s, padding: [[1, 1], [1, 1]] };
const shapes = conv2dShapes(params);
const [xp, wp, yp] = [K.allocF32(shapes.xSize), K.allocF32(shapes.wSize), K.allocF32(shapes.ySize)];
K.writeF32(xp, xData);
K.writeF32(wp, wData);
const pool = getThreadPool(K);
const onePool = new ThreadPool(K, { threads: 1 });
await pool.whenReady(10_000);

let sink = 0;
const variants: Array<{ label: string; run: () => unknown }> = [
  { label: "as taught: await f(X, W).data()", run: async () => { sink += (await f(X, W).data())[7]!; } },
  { label: "tuned: await data(), then dispose()", run: async () => { const y = f(X, W); sink += (await y.data())[7]!; y.dispose(); } },
  { label: "as taught, sync: f(X, W).dataSync()", run: () => { sink += f(X, W).dataSync()[7]!; } },
  { label: "tuned, sync: dataSync(), dispose()", run: () => { const y = f(X, W); sink += y.dataSync()[7]!; y.dispose(); } },
  { label: "call only: f(X, W), dispose()", run: () => f(X, W).dispose() },
  { label: "kernel: pool.conv (backend's pool)", run: () => pool.conv({ params, mode: "forward", a: xp, b: wp, out: yp }) },
  { label: "kernel: one thread", run: () => onePool.conv({ params, mode: "forward", a: xp, b: wp, out: yp }) },
  { label: "readback: 3.2 MB slice of wasm memory", run: () => { sink += new Float32Array(K.memory.buffer, yp, shapes.ySize).slice()[7]!; } },
  { label: "readback: copyOut (uninitialised buffer)", run: () => { sink += copyOut(new Float32Array(K.memory.buffer, yp, shapes.ySize))[7]!; } },
  { label: "readback into a reused Float32Array", run: () => { reuse.set(new Float32Array(K.memory.buffer, yp, shapes.ySize)); sink += reuse[7]!; } },
  { label: "event-loop turn (setImmediate)", run: () => new Promise<void>((r) => setImmediate(r)) },
];
const reuse = new Float32Array(shapes.ySize);

const wall = variants.map(() => [] as number[]);
const cpu = variants.map(() => [] as number[]);
for (const v of variants) for (let i = 0; i < 5; i++) await v.run();
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + r) % variants.length;
    const v = variants[i]!;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = 0; j < block; j++) await v.run();
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    wall[i]!.push(t / block);
    cpu[i]!.push((c.user + c.system) / 1000 / block);
  }
}

const stat = (xs: number[]) => {
  const q = xs.slice().sort((a, b) => a - b);
  return `${q[0]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
};
console.log(`W5 phases: ${rounds} rounds of ${block} calls per variant, ms per call (min / median over rounds); threads ${pool.maxThreads}; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`${"variant".padEnd(44)} ${"wall".padStart(15)}   ${"CPU (all threads)".padStart(17)}`);
variants.forEach((v, i) => console.log(`${v.label.padEnd(44)} ${stat(wall[i]!).padStart(15)}   ${stat(cpu[i]!).padStart(17)}`));
if (process.env.TINYFLOW_PROFILE) console.log(f.lower(X, W).profile());
onePool.close();
if (sink === 0.5) console.log("");
process.exit(0);
