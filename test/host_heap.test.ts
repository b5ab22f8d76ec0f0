// copyOut (src/core/host_heap.ts): readbacks copied into arrays allocated
// without zeroing must still be exact, private copies of their source.
import { describe, expect, it } from "vitest";
import { copyOut } from "../src/core/host_heap";
import { np } from "../src/index";

describe("copyOut", () => {
  const cases: Array<[string, () => Float32Array | Int32Array | Uint8Array]> = [
    ["small float32", () => Float32Array.from({ length: 100 }, (_, i) => i * 0.5 - 7)],
    ["large float32 (uninitialised allocation)", () => Float32Array.from({ length: 300_000 }, (_, i) => Math.sin(i))],
    ["large int32", () => Int32Array.from({ length: 70_000 }, (_, i) => i * 7919 - 3)],
    ["large uint8", () => Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255)],
  ];
  for (const [label, make] of cases) {
    it(`copies ${label} into its own exactly sized buffer`, () => {
      // A view into the middle of a bigger buffer, as a readback from wasm memory is.
      const data = make();
      const host = new (data.constructor as Float32ArrayConstructor)(data.length + 64);
      const src = new (data.constructor as Float32ArrayConstructor)(host.buffer, 32 * data.BYTES_PER_ELEMENT, data.length);
      src.set(data);
      const out = copyOut(src);
      expect(out.constructor).toBe(data.constructor);
      expect(out.byteOffset).toBe(0);
      expect(out.buffer.byteLength).toBe(data.byteLength);
      const differing = () => out.findIndex((v, i) => !Object.is(v, data[i]));
      expect(differing()).toBe(-1);
      src.fill(0);
      expect(differing()).toBe(-1);
    });
  }

  it("serves large readbacks from the wasm backend", async () => {
    const x = np.arange(100_000).mul(3);
    const got = (await x.data()) as Float32Array;
    expect(got.length).toBe(100_000);
    expect(got.buffer.byteLength).toBe(400_000);
    expect(got[99_999]).toBe(299_997);
    expect(Array.from(x.dataSync().subarray(0, 4))).toEqual([0, 3, 6, 9]);
  });
});
