// The one bound on every backend's cache of compiled code: the wasm code
// generators' kernel caches (backends/wasm/codegen/instance_cache.ts), the
// thread pool's kernel registrations and WebGPU's pipeline cache. Here, not
// in a backend, so that no backend imports another to share it.

import { BackendError } from "./errors";

/**
 * Keys kept per cache of compiled code: as many as the eager one-op cache keeps
 * signatures (core/eager_op_cache.ts). Its live entries and jit's cached
 * programs hold their kernels themselves, so this cache only saves
 * recompiling (well under a millisecond a kernel); measured with
 * bench/eager_kernel_cache.ts at 12,360 one-op signatures, the host memory
 * outside wasm was 591 MB unbounded, 412 MB at 8192 keys, 301 MB at 4096.
 */
export const DEFAULT_KERNEL_CACHE_CAPACITY = 4096;

let capacity = DEFAULT_KERNEL_CACHE_CAPACITY;

/** A cache of compiled code that setKernelCacheCapacity bounds (the wasm code generators', WebGPU's pipelines). */
export interface BoundedKernelCache {
  readonly name: string;
  readonly size: number;
  evictToCapacity(): void;
}

const allCaches: BoundedKernelCache[] = [];

/** Puts a cache of compiled code under the bound (the wasm code generators' caches, WebGPU's pipeline cache); returns its removal. */
export function registerKernelCache(cache: BoundedKernelCache): () => void {
  allCaches.push(cache);
  return () => {
    const i = allCaches.indexOf(cache);
    if (i >= 0) allCaches.splice(i, 1);
  };
}

/** Keys each cache of compiled code keeps (and the wasm pool's registrations: pool.ts reads it too). */
export function kernelCacheCapacity(): number {
  return capacity;
}

/** Sets the bound of every registered cache (wasm code generators', WebGPU's pipelines), evicting down to it now (tests; a host short of memory). */
export function setKernelCacheCapacity(keys: number): void {
  if (!Number.isInteger(keys) || keys < 1) throw new BackendError(`setKernelCacheCapacity: keys must be a positive integer, got ${String(keys)}`);
  capacity = keys;
  for (const c of allCaches) c.evictToCapacity();
}

/** Keys held by each registered cache, by its name (tests, debugging). */
export function kernelCacheSizes(): Record<string, number> {
  return Object.fromEntries(allCaches.map((c) => [c.name, c.size]));
}
