// Staged uploads (src/core/residency.ts, "Staged uploads"): np.array copies
// its data to the host and uploads it when an operation first reads it; that
// device copy is dropped by the next operation's upload unless the array is
// used again. These tests check that the data never changes under any of
// that, and that a loop uploading a batch per step leaves no device garbage.

import { describe, expect, it } from "vitest";
import { jit, memoryStats, np, setMemoryLimit, type Tracer } from "../src/index";

const residentNow = (): number => memoryStats().residentBytes;
const batch = (k: number): Float32Array => Float32Array.from({ length: 1024 }, (_, i) => (i % 17) + k);

describe("staged uploads", () => {
  it("np.array keeps its own copy: changing the source afterwards changes nothing", () => {
    const src = Float32Array.from([1, 2, 3, 4]);
    const a = np.array(src);
    src[0] = 100;
    expect(Array.from(a.dataSync())).toEqual([1, 2, 3, 4]);
    const b = a.add(1); // uploads a
    src[1] = 100;
    expect(Array.from(b.dataSync())).toEqual([2, 3, 4, 5]);
    expect(Array.from(a.dataSync())).toEqual([1, 2, 3, 4]);
  });

  it("reshaping an array that is still on the host uploads nothing", () => {
    const before = residentNow();
    const x = np.array(batch(0)).reshape([32, 32]);
    expect(residentNow()).toBe(before);
    expect(x.shape).toEqual([32, 32]);
    expect(x.dataSync()[33]).toBe(batch(0)[33]);
  });

  it("an array read after the next upload dropped its device copy still has its data, and can be used again", () => {
    const f = jit((x: Tracer) => x.mul(2));
    const a = np.array(batch(1));
    const ya = f(a); // a's staged device copy
    const b = np.array(batch(2));
    const yb = f(b); // this upload drops a's device copy
    expect(a.dataSync()[5]).toBe(batch(1)[5]);
    expect(ya.dataSync()[5]).toBe(2 * batch(1)[5]!);
    expect(yb.dataSync()[5]).toBe(2 * batch(2)[5]!);
    // Used again: uploaded again and kept on the device from now on.
    expect(f(a).dataSync()[7]).toBe(2 * batch(1)[7]!);
    const c = np.array(batch(3));
    expect(f(c).dataSync()[7]).toBe(2 * batch(3)[7]!);
    expect(f(a).dataSync()[9]).toBe(2 * batch(1)[9]!);
  });

  it("a synchronous loop that uploads a batch per step and disposes nothing holds the device memory of one batch", () => {
    let w = np.zeros([1024]);
    const step = jit((w: Tracer, x: Tracer) => w.add(x.mul(0.001)), { donateArgnums: [0] });
    for (let i = 0; i < 5; i++) w = step(w, np.array(batch(i)).reshape([1024]));
    const settled = residentNow();
    for (let i = 0; i < 300; i++) w = step(w, np.array(batch(i)).reshape([1024]));
    // Without staging each step's batch (4 KiB) stayed on the device until collected: +1.2 MB here.
    expect(residentNow() - settled).toBeLessThanOrEqual(4096);
    let expected = 0;
    for (let i = 0; i < 5; i++) expected += batch(i)[3]! * 0.001;
    for (let i = 0; i < 300; i++) expected += batch(i)[3]! * 0.001;
    expect(w.dataSync()[3]).toBeCloseTo(expected, 2);
  });

  it("a staged array donated to a jitted call gives its buffer up and says so when used again", () => {
    const step = jit((x: Tracer) => x.add(1), { donateArgnums: [0] });
    const a = np.array(batch(4));
    const y = step(a);
    expect(y.dataSync()[2]).toBe(batch(4)[2]! + 1);
    expect(() => a.dataSync()).toThrow(/donated/);
  });

  it("a staged array captured as a constant of a jitted function stays valid across later uploads", () => {
    const k = np.array(batch(5));
    const f = jit((x: Tracer) => x.add(k));
    for (let i = 0; i < 3; i++) {
      const out = f(np.array(batch(i)));
      expect(out.dataSync()[11]).toBe(batch(i)[11]! + batch(5)[11]!);
    }
  });

  it("spilling a staged array under a small memory limit keeps its host copy instead of reading it back", () => {
    const limit = memoryStats().limitBytes;
    try {
      setMemoryLimit(residentNow() + 3 * 4096);
      const spilledBefore = memoryStats().spilled;
      const xs = [0, 1, 2, 3, 4].map((k) => np.array(batch(10 + k)));
      const ys = xs.map((x) => x.add(0)); // each add's output can push older buffers out
      xs.forEach((x, k) => expect(x.dataSync()[13]).toBe(batch(10 + k)[13]));
      ys.forEach((y, k) => expect(y.dataSync()[13]).toBe(batch(10 + k)[13]));
      expect(memoryStats().spilled).toBeGreaterThan(spilledBefore);
    } finally {
      setMemoryLimit(limit);
    }
  });
});
