// Small arrays leave the device when their finalizer registration comes
// (src/core/residency.ts, "Small arrays leave for the host instead"): an
// undisposed result of a few KiB is copied to the host and its device block
// freed, instead of waiting for a full garbage collection. These tests check
// that its data never changes under that, that it can be used again (as an
// eager operand, a jit input, a donated jit input), and that a synchronous
// loop of small results holds no device memory for them.

import { describe, expect, it } from "vitest";
import { jit, memoryStats, np, type Tracer } from "../src/index";

const residentNow = (): number => memoryStats().residentBytes;
const ramp = (n: number, k = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => (i % 13) + k);
/** The end of the synchronous job: queued registrations run (a microtask). */
const registrationsRun = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

describe("small results move to the host", () => {
  it("an undisposed 100-element result leaves the device at its registration and keeps its data", async () => {
    const a = np.array(ramp(100));
    const b = np.array(ramp(100, 1));
    a.add(b).dispose(); // a and b uploaded (staged), then kept on the device by their next use
    a.add(b).dispose();
    await registrationsRun();
    const before = residentNow();
    const r = a.add(b);
    expect(residentNow()).toBe(before + 400);
    await registrationsRun();
    expect(residentNow()).toBe(before);
    const want = ramp(100).map((v, i) => v + ramp(100, 1)[i]!);
    expect(Array.from(r.dataSync())).toEqual(Array.from(want));
    expect(Array.from((await r.data()) as Float32Array)).toEqual(Array.from(want));
    // Used again, eagerly and under jit: uploaded from its host copy.
    expect(Array.from(r.mul(2).dataSync())).toEqual(Array.from(want.map((v) => 2 * v)));
    expect(Array.from(jit((x: Tracer) => x.sub(1))(r).dataSync())).toEqual(Array.from(want.map((v) => v - 1)));
    expect(Array.from(r.dataSync())).toEqual(Array.from(want));
  });

  it("a result larger than the bound stays on the device", async () => {
    const a = np.array(ramp(4096));
    a.neg().dispose();
    a.neg().dispose();
    await registrationsRun();
    const before = residentNow();
    const r = a.neg();
    await registrationsRun();
    expect(residentNow()).toBe(before + 4096 * 4);
    expect(r.dataSync()[5]).toBe(-ramp(4096)[5]!);
  });

  it("a moved result donated to a jitted step gives the right values, step after step", async () => {
    let w = np.zeros([100]).add(np.array(ramp(100)));
    await registrationsRun(); // w is on the host now
    const x = np.array(ramp(100, 2));
    const step = jit((w: Tracer, x: Tracer) => w.add(x.mul(0.5)), { donateArgnums: [0] });
    for (let i = 0; i < 6; i++) {
      w = step(w, x);
      if (i % 2 === 0) await registrationsRun(); // moved between some steps, not others
    }
    const want = ramp(100).map((v, i) => v + 6 * 0.5 * ramp(100, 2)[i]!);
    expect(Array.from(w.dataSync())).toEqual(Array.from(want));
  });

  it("a synchronous loop of small eager results, nothing disposed, holds no device memory for them", async () => {
    const a = np.array(ramp(100));
    const b = np.array(ramp(100, 3));
    a.mul(b).dispose();
    a.mul(b).dispose();
    await registrationsRun();
    const before = residentNow();
    let last: Tracer = a;
    for (let i = 0; i < 10_000; i++) last = a.mul(b).add(a);
    // At most the registration queue's arrays (64) are still on the device.
    expect(residentNow() - before).toBeLessThanOrEqual(64 * 400);
    await registrationsRun();
    expect(residentNow()).toBe(before);
    expect(last.dataSync()[4]).toBe(ramp(100)[4]! * ramp(100, 3)[4]! + ramp(100)[4]!);
  });
});
