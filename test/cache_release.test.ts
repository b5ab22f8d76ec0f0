// jit's clearCache and its signature eviction release what the compiled
// programs hold in the wasm backend's memory (workspaces for intermediates,
// constants uploaded for the program), so a long-running process that retraces
// does not keep every program's device memory forever.

import { describe, expect, it } from "vitest";
import { getBackend, jit, memoryStats, np, type Array } from "../src/index";
import { programsBuilt } from "../transforms/compiled_call";

const wasm = getBackend("wasm") as unknown as { liveBytes(): number };
const live = (): number => wasm.liveBytes();

// A GEMM's operands are materialised: tanh(x) and exp(x) each take an
// x-sized f32 workspace buffer of the program.
const body = (x: Array): Array => np.sum(np.matmul(np.tanh(x), np.transpose(np.exp(x))));

describe("clearCache", () => {
  it("releases the compiled programs' workspaces and recompiles on the next call", () => {
    const f = jit(body);
    const sizes = [300, 301, 302, 303];
    const inputs = sizes.map((n) => np.reshape(np.linspace(-1, 1, n * 300), [n, 300]));
    // The thread pool keeps one GEMM scratch for the largest problem so far: size it first.
    const warm = jit(body);
    warm(inputs[inputs.length - 1]!).item();
    warm.clearCache();
    const before = live();
    for (const x of inputs) f(x).item();
    const held = live() - before;
    // at least one x-sized f32 workspace per signature
    expect(held).toBeGreaterThanOrEqual(sizes.length * 2 * 300 * 300 * 4);
    f.clearCache();
    expect(live() - before).toBeLessThan(held / 8);
    const built = programsBuilt();
    expect(f(inputs[0]!).item() as number).toBeCloseTo(body(inputs[0]!).item() as number, -1);
    expect(programsBuilt()).toBe(built + 1);
    expect(f.traceCount).toBe(sizes.length + 1);
  });

  it("a program's uploaded constants are released with it", () => {
    const table = np.linspace(0, 1, 200_000);
    const f = jit((x: Array) => np.sum(np.multiply(np.add(x, table), table)));
    const x = np.ones([200_000]);
    const before = live();
    f(x).item();
    const held = live() - before;
    f.clearCache();
    expect(live() - before).toBeLessThan(Math.max(held / 4, 4096));
    expect(f(x).item() as number).toBeCloseTo(np.sum(np.multiply(np.add(x, table), table)).item() as number, 0);
  });

  it("signatures evicted from the bounded cache release their programs", () => {
    // One signature per static scale, all of the same shapes and workspace.
    const f = jit((x: Array, scale: number) => np.multiply(body(x), scale), { staticArgnums: 1 });
    using x = np.reshape(np.linspace(-1, 1, 200 * 100), [200, 100]);
    const run = (scale: number): void => {
      using y = f(x, scale);
      y.item();
    };
    run(0);
    const before = live();
    for (let s = 1; s <= 64; s++) run(s); // the cache holds 64 signatures
    const full = live() - before;
    for (let s = 65; s <= 128; s++) run(s); // 64 more, each evicting one
    expect(live() - before).toBeLessThan(full * 1.1);
    f.clearCache();
    expect(live()).toBeLessThan(before);
  });
});

describe("memoryStats().programBytes", () => {
  it("counts what cached programs hold (workspaces, constants), apart from arrays, and drops with clearCache", () => {
    const f = jit(body);
    const x = np.reshape(np.linspace(-1, 1, 300 * 300), [300, 300]);
    const before = memoryStats();
    const liveBefore = live();
    f(x).item();
    const after = memoryStats();
    const held = after.programBytes - before.programBytes;
    // tanh(x) and exp(x) are materialised for the GEMM: two x-sized f32 temporaries at least
    expect(held).toBeGreaterThanOrEqual(2 * 300 * 300 * 4);
    // what the program holds is wasm memory the arrays' count does not include
    expect(live() - liveBefore).toBeGreaterThanOrEqual(held);
    expect(after.residentBytes - before.residentBytes).toBeLessThan(held);
    f.clearCache();
    expect(memoryStats().programBytes).toBe(before.programBytes);
  });
});
