// The code generators' cache of instantiated kernels (kernel.ts, gemm.ts,
// window.ts): an instance imports one linear memory, so instances are kept per
// memory, by the generator's cache key, and go when the memory goes.

export class InstanceCache<T> {
  private readonly byMemory = new WeakMap<WebAssembly.Memory, Map<string, T>>();

  get(memory: WebAssembly.Memory, key: string): T | undefined {
    return this.byMemory.get(memory)?.get(key);
  }

  set(memory: WebAssembly.Memory, key: string, instance: T): void {
    let perMemory = this.byMemory.get(memory);
    if (!perMemory) this.byMemory.set(memory, (perMemory = new Map()));
    perMemory.set(key, instance);
  }
}
