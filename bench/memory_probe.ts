// Helpers of the memory benchmarks (eager_kernel_cache.ts, program_memory.ts):
// megabytes for printing, and a settle step that collects garbage and lets
// the FinalizationRegistry callbacks run before a reading. Run those scripts
// with --expose-gc; without it, settle only waits.

export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

export async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}
