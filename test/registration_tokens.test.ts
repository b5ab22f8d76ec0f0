// Finalizer registrations without an unregister token (src/core/residency.ts,
// "Registering without a token"): an array disposed or spilled after such a
// registration keeps it until the array dies, and its callback must then
// release nothing, in particular not the device block that another array took
// over in the meantime. These tests dispose and spill registered arrays, let
// the collector find them dead, and check that the arrays made since keep
// their data and their memory.

import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { getBackend, memoryStats, np, setMemoryLimit, type Array } from "../src/index";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const ramp = (n: number, k = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => (i % 13) + k);
/** The end of the synchronous job: queued registrations run (a microtask). */
const registrationsRun = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));
/** A full collection, then turns of the event loop so that the finalizer callbacks it queued run. */
async function collectAndFinalize(): Promise<void> {
  gc();
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}
const liveDeviceBytes = (): number => (getBackend() as unknown as { liveBytes(): number }).liveBytes();
const defaultLimit = memoryStats().limitBytes;

afterEach(() => setMemoryLimit(defaultLimit));

describe("registrations without a token", () => {
  it("a registered array disposed, then collected, releases nothing of the array that took its block", async () => {
    const n = 4096; // 16 KiB: above the small-array bound, so results are registered, not moved to the host
    const a = np.array(ramp(n));
    a.neg().dispose(); // a uploaded (staged), then kept on the device by its next use
    a.neg().dispose();
    await registrationsRun();
    let r: Array | null = a.neg();
    await registrationsRun(); // r is registered now
    r.dispose();
    const taker = a.mul(3); // the same size: the allocator hands it r's freed block
    const resident = memoryStats().residentBytes;
    const live = liveDeviceBytes();
    r = null;
    await collectAndFinalize(); // r's callback runs and finds nothing to release
    expect(memoryStats().residentBytes).toBe(resident);
    expect(liveDeviceBytes()).toBe(live);
    // Had the callback freed taker's block again, this would be written into it.
    const other = a.mul(5);
    expect(taker.dataSync()[7]).toBe(3 * ramp(n)[7]!);
    expect(other.dataSync()[7]).toBe(5 * ramp(n)[7]!);
  });

  it("registered arrays spilled, some used again and then dropped, are released once", async () => {
    const n = 4096;
    const a = np.array(ramp(n));
    a.neg().dispose();
    a.neg().dispose();
    const kept: Array[] = [];
    for (let i = 0; i < 8; i++) kept.push(a.add(i));
    await registrationsRun(); // registered
    setMemoryLimit(3 * n * 4); // spills all but the most recently used
    expect(memoryStats().spilled).toBeGreaterThan(0);
    const again = kept[0]!.mul(2); // kept[0] is uploaded from its host copy again
    expect(again.dataSync()[11]).toBe(2 * (ramp(n)[11]! + 0));
    await registrationsRun();
    kept.length = 0; // every one of them is garbage now, spilled or not
    const survivor = a.add(100);
    await collectAndFinalize();
    setMemoryLimit(defaultLimit);
    const after = a.add(200); // reuses what the callbacks released
    expect(survivor.dataSync()[11]).toBe(ramp(n)[11]! + 100);
    expect(after.dataSync()[11]).toBe(ramp(n)[11]! + 200);
    expect(again.dataSync()[11]).toBe(2 * ramp(n)[11]!);
    expect(memoryStats().residentBytes).toBeLessThanOrEqual(6 * n * 4);
  });
});
