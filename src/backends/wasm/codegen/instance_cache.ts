// The code generators' cache of compiled kernels (kernel.ts, gemm.ts,
// window.ts): per cache key, the compiled WebAssembly.Module and its
// instances, one per linear memory (an instance imports one memory; it goes
// when the memory goes). The cache is bounded, least recently used first out:
// eager code over ever-new shapes would otherwise keep every module it ever
// compiled (~90 KB of host memory each). Evicting forgets only the cache's
// reference: a program or an eager one-op runner that holds a kernel keeps
// it alive and working, and a key that comes back compiles again.

import { BackendError } from "../../../core/errors";

/**
 * Keys kept per code generator: as many as the eager one-op cache keeps
 * signatures (core/eager_op_cache.ts). Its live entries and jit's cached
 * programs hold their kernels themselves, so this cache only saves
 * recompiling (well under a millisecond a kernel); measured with
 * bench/eager_kernel_cache.ts at 12,360 one-op signatures, the host memory
 * outside wasm was 591 MB unbounded, 412 MB at 8192 keys, 301 MB at 4096.
 */
export const DEFAULT_KERNEL_CACHE_CAPACITY = 4096;

let capacity = DEFAULT_KERNEL_CACHE_CAPACITY;

/** A cache of compiled code that setKernelCacheCapacity bounds (these code generators', WebGPU's pipelines). */
export interface BoundedKernelCache {
  readonly name: string;
  readonly size: number;
  evictToCapacity(): void;
}

const allCaches: BoundedKernelCache[] = [];

/** Puts another backend's cache of compiled code under the same bound (WebGPU's pipeline cache); returns its removal. */
export function registerKernelCache(cache: BoundedKernelCache): () => void {
  allCaches.push(cache);
  return () => {
    const i = allCaches.indexOf(cache);
    if (i >= 0) allCaches.splice(i, 1);
  };
}

/** Keys each code generator's cache keeps (and the pool's registrations: pool.ts reads it too). */
export function kernelCacheCapacity(): number {
  return capacity;
}

/** Sets the bound of every code generator's cache and of WebGPU's pipeline cache, evicting down to it now (tests; a host short of memory). */
export function setKernelCacheCapacity(keys: number): void {
  if (!Number.isInteger(keys) || keys < 1) throw new BackendError(`setKernelCacheCapacity: keys must be a positive integer, got ${String(keys)}`);
  capacity = keys;
  for (const c of allCaches) c.evictToCapacity();
}

/** Keys held by each code generator's cache, by its name (tests, debugging). */
export function kernelCacheSizes(): Record<string, number> {
  return Object.fromEntries(allCaches.map((c) => [c.name, c.size]));
}

interface Entry<M, I> {
  module: M | undefined;
  readonly instances: WeakMap<WebAssembly.Memory, I>;
}

export class KernelCache<M, I> {
  /** In order of last use, least recent first (a Map iterates in insertion order; a hit re-inserts). */
  private readonly entries = new Map<string, Entry<M, I>>();
  /** Modules compiled since the start, evictions included (tests). */
  compiledModules = 0;

  constructor(readonly name: string) {
    registerKernelCache(this);
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(key: string): Entry<M, I> | undefined {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  private entry(key: string): Entry<M, I> {
    let e = this.touch(key);
    if (!e) {
      this.entries.set(key, (e = { module: undefined, instances: new WeakMap() }));
      this.evictToCapacity();
    }
    return e;
  }

  instance(memory: WebAssembly.Memory, key: string): I | undefined {
    return this.touch(key)?.instances.get(memory);
  }

  module(key: string): M | undefined {
    return this.touch(key)?.module;
  }

  setModule(key: string, module: M): void {
    this.entry(key).module = module;
    this.compiledModules++;
  }

  setInstance(memory: WebAssembly.Memory, key: string, instance: I): void {
    this.entry(key).instances.set(memory, instance);
  }

  evictToCapacity(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= capacity) return;
      this.entries.delete(key);
    }
  }
}
