// Host memory of eager code over ever-new shapes: the eager one-op cache keeps
// 4096 signatures, and the compiled kernels under it (codegen caches, the
// thread pool's registrations) are bounded by setKernelCacheCapacity's bound
// (4096 keys per code generator by default). Prints RSS, JS heap, wasm live
// bytes, the linear memory's size (RSS minus it: the host side) and the
// caches' sizes at about 1k, 4k and 12k one-op signatures. `--unbounded` lifts
// the kernel bound (as before the bound existed) for a comparison; `--capacity=N` sets it.
//   node --expose-gc --import tsx bench/eager_kernel_cache.ts [--unbounded | --capacity=N]

import { getBackend, np } from "../src/index";
import { kernelCacheSizes, setKernelCacheCapacity } from "../src/core/kernel_cache_capacity";
import { mb, settle } from "./memory_probe";

const capacityArg = process.argv.find((a) => a.startsWith("--capacity="));
if (process.argv.includes("--unbounded")) setKernelCacheCapacity(2 ** 30);
else if (capacityArg) setKernelCacheCapacity(Number(capacityArg.slice("--capacity=".length)));
const wasm = getBackend("wasm") as unknown as { liveBytes(): number; mem: { memory: WebAssembly.Memory } };
// The linear memory's size (it follows the peak of live arrays, which this synchronous loop drives
// to the residency limit: see bench/wasm_heap.ts); RSS minus it is the host side.
const wasmMemory = (): number => wasm.mem.memory.buffer.byteLength;

await settle();
const heap0 = process.memoryUsage().heapUsed;
const live0 = wasm.liveBytes();
console.log(`kernel bound: ${process.argv.includes("--unbounded") ? "lifted" : (capacityArg ?? "default")}; rss at start ${mb(process.memoryUsage().rss)}`);
// Four one-op signatures per shape (ones is a host upload): exp, add, tanh, sum.
let n = 1;
const t0 = performance.now();
for (const shapes of [250, 1000, 3090]) {
  while (n <= shapes) {
    const x = np.ones([n, 8]);
    np.sum(np.tanh(np.add(np.exp(x), x))).item();
    n++;
  }
  await settle();
  const m = process.memoryUsage();
  console.log(
    `${String(shapes).padStart(5)} shapes, ${String(4 * shapes).padStart(6)} signatures: rss ${mb(m.rss).padStart(9)}  JS heap +${mb(m.heapUsed - heap0).padStart(9)}  ` +
      `wasm live +${mb(wasm.liveBytes() - live0).padStart(8)}  wasm memory ${mb(wasmMemory()).padStart(8)}  rss - wasm memory ${mb(m.rss - wasmMemory()).padStart(9)}  kernel caches ${JSON.stringify(kernelCacheSizes())}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}
