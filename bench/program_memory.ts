// What compiled programs hold in device memory, next to what arrays hold
// (memoryStats().programBytes vs residentBytes), for the three ways programs
// accumulate: a jitted function's cached signatures, the eager one-op cache
// (bounded at 4096 signatures per backend), and a training step. The numbers
// decide whether program memory belongs under the residency limit
// (RELIABILITY.md, "memoryStats and program memory"). Run with --expose-gc:
//   node --expose-gc --import tsx bench/program_memory.ts

import { getBackend, grad, jit, memoryStats, np, random, type Array } from "../src/index";
import { mb, settle } from "./memory_probe";

const wasm = getBackend("wasm") as unknown as { liveBytes(): number };
const heap = (): number => process.memoryUsage().heapUsed;
let baseHeap = 0;
const snapshot = (label: string, base: ReturnType<typeof memoryStats>, baseLive: number): void => {
  const s = memoryStats();
  console.log(
    `${label.padEnd(50)} programBytes ${mb(s.programBytes - base.programBytes).padStart(9)}  arrays ${mb(s.residentBytes - base.residentBytes).padStart(9)}  ` +
      `wasm live ${mb(wasm.liveBytes() - baseLive).padStart(9)}  JS heap ${mb(heap() - baseHeap).padStart(9)}`,
  );
};

// 1. One jitted function, many signatures (the 300x300 matmul body).
{
  await settle();
  baseHeap = heap();
  const base = memoryStats();
  const baseLive = wasm.liveBytes();
  const body = (x: Array): Array => np.sum(np.matmul(np.tanh(x), np.transpose(np.exp(x))));
  const f = jit(body);
  for (let n = 300; n < 310; n++) f(np.reshape(np.linspace(-1, 1, n * 300), [n, 300])).item();
  await settle();
  snapshot("jit: 10 signatures of a 300x300 matmul body", base, baseLive);
  f.clearCache();
  await settle();
  snapshot("  after clearCache()", base, baseLive);
}

// 2. The eager one-op cache: elementwise ops over ever-new shapes, to the 4096 bound and past it.
{
  await settle();
  baseHeap = heap();
  const base = memoryStats();
  const baseLive = wasm.liveBytes();
  // Four one-op signatures per shape (ones is a host upload): exp, add, tanh, sum.
  let n = 1;
  const oneShape = (): void => {
    const x = np.ones([n, 8]);
    np.sum(np.tanh(np.add(np.exp(x), x))).item();
    n++;
  };
  for (const target of [256, 512, 1000, 1030, 1500, 2060, 3090]) {
    while (n <= target) oneShape();
    await settle();
    snapshot(`eager: ${target} shapes, ${4 * target} signatures`, base, baseLive);
    console.log(`    rss ${mb(process.memoryUsage().rss)}`);
  }
}

// 3. A training step: an MLP's jitted SGD step, programs vs parameters and batch.
{
  await settle();
  baseHeap = heap();
  const base = memoryStats();
  const baseLive = wasm.liveBytes();
  const [k1, k2] = random.split(random.key(0));
  let params = { w1: random.normal(k1, [784, 512]), w2: random.normal(k2, [512, 10]) };
  const x = np.ones([128, 784]);
  const y = np.ones([128, 10]);
  const loss = (p: typeof params): Array => np.mean(np.square(np.subtract(np.matmul(np.tanh(np.matmul(x, p.w1)), p.w2), y)));
  const step = jit((p: typeof params) => {
    const g = grad(loss)(p);
    return { w1: np.subtract(p.w1, np.multiply(g.w1, 0.01)), w2: np.subtract(p.w2, np.multiply(g.w2, 0.01)) };
  });
  for (let i = 0; i < 5; i++) params = step(params);
  params.w1.dataSync();
  await settle();
  snapshot("jit: MLP 784-512-10 SGD step, batch 128", base, baseLive);
}
