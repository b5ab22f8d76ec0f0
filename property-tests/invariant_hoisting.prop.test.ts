// Property: fused kernels whose nodes read only broadcast operands compute
// them once (per call for scalars, per row for operands broadcast along the
// inner dim: kernel_loops.ts placeNodes) and give what the interpreter gives.
// Two checks over random shapes and values: multi-output kernels of special
// functions (logistic, tanh, exp, pow, sin) on scalar, per-row and per-column
// operands, elementwise and reduced over either axis, jitted on wasm against
// the interpreter; and the same kernel spec with the broadcast operands
// materialized as dense inputs (nothing to hoist) gives the same bits.
// NUM_RUNS (default 20) sets the runs per property.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl as TfArray, jit, lax, np, type Tracer } from "../src/index";
import { compileKernel, type KernelNode, type KernelSpec } from "../src/backends/wasm/codegen/kernel";
import { interpreterValues } from "../test/interpreter_oracle";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);

/** Rows (up to 70: past one block of an outer reduction's blocked sum) and a row length (unrolled and looped, with tails). */
const dimsArb = fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 37 }));
const valuesArb = (n: number) => fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });

/** The cell-like chain: per-element outputs and two reductions, over x [r, n], s [], row [r, 1], col [n]. */
function chain(x: Tracer, s: Tracer, row: Tracer, col: Tracer): Tracer[] {
  const perCall = np.divide(lax.logistic(np.subtract(np.multiply(s, 2), 1)), np.add(np.tanh(s), 2));
  const bias = np.power(np.add(np.abs(s), 0.5), 2.5);
  const perRow = np.add(np.multiply(np.tanh(row), np.sin(row)), np.exp(np.multiply(row, 0.5)));
  const a = np.add(np.multiply(x, perCall), np.multiply(perRow, bias));
  const b = np.multiply(lax.logistic(np.add(x, col)), perRow);
  return [a, b, np.add(np.zeros(x.shape), perCall), np.sum(a, 1), np.sum(b, 0)];
}

/** |got - want| within a few float32 ulp of the magnitudes summed (reductions add up to 70 terms). */
function expectClose(got: number[], want: number[], scale: number, what: string): void {
  got.forEach((g, i) => {
    const tol = 4e-6 * scale * Math.max(1, Math.abs(want[i]));
    expect(Math.abs(g - want[i]) <= tol, `${what}[${i}] = ${g}, want ${want[i]}`).toBe(true);
  });
}

describe("loop-invariant nodes of fused kernels", () => {
  it("jitted on wasm: equal to the interpreter, elementwise and reduced", () => {
    const caseArb = dimsArb.chain(([r, n]) => fc.tuple(fc.constant([r, n]), valuesArb(r * n), valuesArb(1), valuesArb(r), valuesArb(n)));
    fc.assert(
      fc.property(caseArb, ([[r, n], xs, ss, rows, cols]) => {
        const x = np.array(xs).reshape([r, n]) as TfArray;
        const s = np.array(ss[0]) as TfArray;
        const row = np.array(rows).reshape([r, 1]) as TfArray;
        const col = np.array(cols) as TfArray;
        const args = [x, s, row, col];
        const text = jit((...a: Tracer[]) => chain(a[0], a[1], a[2], a[3])).lower(...args).text();
        expect(text).not.toContain("HOST FALLBACK");
        const outs = jit((...a: Tracer[]) => chain(a[0], a[1], a[2], a[3]))(...args) as Tracer[];
        outs.forEach((o, k) => {
          const want = interpreterValues((...a: Tracer[]) => chain(a[0], a[1], a[2], a[3])[k], args);
          expectClose(Array.from(o.dataSync() as Float32Array), want, k >= 3 ? Math.max(r, n) : 1, `output ${k}`);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("hoisted nodes give the bits of the same nodes computed per element", () => {
    const memory = new WebAssembly.Memory({ initial: 8, maximum: 64 });
    const caseArb = dimsArb.chain(([r, n]) => fc.tuple(fc.constant([r, n]), valuesArb(r * n), valuesArb(1), valuesArb(r), fc.constantFrom<"none" | "inner" | "outer">("none", "inner", "outer")));
    fc.assert(
      fc.property(caseArb, ([[r, n], xs, ss, rows, reduce]) => {
        /** x [r, n], s, row [r] broadcast along n: with `dense`, s and row come as [r, n] copies. */
        const nodes: KernelNode[] = [
          { op: "input", input: 0 }, { op: "input", input: 1 }, { op: "input", input: 2 },
          { op: "logistic", args: [1], dtype: "float32" }, // 3: per call
          { op: "const", value: 2.5, dtype: "float32" },
          { op: "pow", args: [3, 4], dtype: "float32" }, // 5: per call
          { op: "tanh", args: [2], dtype: "float32" },
          { op: "sin", args: [2], dtype: "float32" },
          { op: "mul", args: [6, 7], dtype: "float32" }, // 8: per row
          { op: "add", args: [8, 5], dtype: "float32" }, // 9: per row
          { op: "mul", args: [0, 9], dtype: "float32" }, // 10: per element
          { op: "exp", args: [10], dtype: "float32" }, // 11: per element
        ];
        const spec = (dense: boolean): KernelSpec => ({
          shape: [r, n],
          inputs: [{ dtype: "float32", strides: [n, 1] }, { dtype: "float32", strides: dense ? [n, 1] : [0, 0] }, { dtype: "float32", strides: dense ? [n, 1] : [1, 0] }],
          nodes,
          outputs: [{ node: 11, dtype: "float32" }, { node: 9, dtype: "float32" }, { node: 5, dtype: "float32" }],
          ...(reduce === "none" ? {} : { reduction: { op: "sum" as const, axes: [reduce === "inner" ? 1 : 0] } }),
        });
        const f32 = new Float32Array(memory.buffer);
        const at = { x: 0, s: 4096, row: 8192, sDense: 12288, rowDense: 16384, out: 32768, scratch: 65536 };
        f32.set(xs, at.x);
        f32[at.s] = ss[0];
        f32.set(rows, at.row);
        for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) {
          f32[at.sDense + i * n + j] = ss[0];
          f32[at.rowDense + i * n + j] = rows[i];
        }
        const outBytes = r * n * 4;
        const run = (dense: boolean): Uint32Array => {
          const outs = [0, 1, 2].map((o) => at.out * 4 + (dense ? 3 : 0) * outBytes + o * outBytes);
          const k = compileKernel(spec(dense), { memory, relaxedSimd: false });
          // Outer sums over more than 32 rows keep block sums in scratch (after the outputs).
          if (k.scratchBytes > 256 * 1024) throw new Error(`scratch of ${k.scratchBytes} bytes does not fit`);
          k.run([at.x * 4, (dense ? at.sDense : at.s) * 4, (dense ? at.rowDense : at.row) * 4], outs, at.scratch * 4);
          return new Uint32Array(memory.buffer.slice(outs[0], outs[0] + 3 * outBytes));
        };
        const hoisted = compileKernel(spec(false), { memory, relaxedSimd: false }).text();
        expect(hoisted).toContain("computed once per call");
        // Both dims kept (size-1 dims are dropped), rows through emitRow (not an outer sum blocked over > 32 rows).
        if (r > 1 && n > 1 && (reduce !== "outer" || r <= 32)) expect(hoisted).toContain("computed once per row");
        const got = run(false);
        const want = run(true);
        // Only the outputs' elements (a reduction writes fewer than r * n).
        const count = reduce === "none" ? r * n : reduce === "inner" ? r : n;
        for (let o = 0; o < 3; o++) {
          for (let i = 0; i < count; i++) expect(got[o * r * n + i], `output ${o} element ${i}`).toBe(want[o * r * n + i]);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
