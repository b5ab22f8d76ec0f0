// The code generators' cache of compiled kernels (kernel.ts, gemm.ts,
// window.ts): per cache key, the compiled WebAssembly.Module and its
// instances, one per linear memory (an instance imports one memory; it goes
// when the memory goes). The cache is bounded, least recently used first out:
// eager code over ever-new shapes would otherwise keep every module it ever
// compiled (~90 KB of host memory each). Evicting forgets only the cache's
// reference: a program or an eager one-op runner that holds a kernel keeps
// it alive and working, and a key that comes back compiles again.

import { kernelCacheCapacity, registerKernelCache } from "../../../core/kernel_cache_capacity";

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
      if (this.entries.size <= kernelCacheCapacity()) return;
      this.entries.delete(key);
    }
  }
}
