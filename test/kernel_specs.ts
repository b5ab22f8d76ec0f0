// Kernel specs shared by the generated-kernel tests (test/wasm_codegen.test.ts,
// test/wasm_threads.test.ts) and bench/codegen_elementwise.ts: the fused
// tanh(x*2+1)*x kernel, one-op unary and binary kernels, and dense strides.

import type { KDType, KernelNode, KernelSpec } from "../src/backends/wasm/codegen/kernel";

/** Dense row-major strides of a shape (in elements). */
export const contiguous = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(0);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
};

/** The fused elementwise kernel tanh(x*2+1)*x over one float32 input. */
export const tanhSpec = (shape: number[], strides: number[] = contiguous(shape)): KernelSpec => ({
  shape,
  inputs: [{ dtype: "float32", strides }],
  nodes: [
    { op: "input", input: 0 },
    { op: "const", value: 2, dtype: "float32" },
    { op: "mul", args: [0, 1], dtype: "float32" },
    { op: "const", value: 1, dtype: "float32" },
    { op: "add", args: [2, 3], dtype: "float32" },
    { op: "tanh", args: [4], dtype: "float32" },
    { op: "mul", args: [5, 0], dtype: "float32" },
  ],
  outputs: [{ node: 6, dtype: "float32" }],
});

/** One unary op (`extra` adds node fields, e.g. an integer_pow exponent). */
export function unarySpec(op: string, inDt: KDType, outDt: KDType, shape: number[], strides: number[], extra: object = {}): KernelSpec {
  return {
    shape,
    inputs: [{ dtype: inDt, strides }],
    nodes: [{ op: "input", input: 0 }, { op, args: [0], dtype: outDt, ...extra } as KernelNode],
    outputs: [{ node: 1, dtype: outDt }],
  };
}

/** One binary op over two inputs of the same dtype. */
export function binarySpec(op: string, inDt: KDType, outDt: KDType, shape: number[], sa: number[], sb: number[]): KernelSpec {
  return {
    shape,
    inputs: [
      { dtype: inDt, strides: sa },
      { dtype: inDt, strides: sb },
    ],
    nodes: [{ op: "input", input: 0 }, { op: "input", input: 1 }, { op, args: [0, 1], dtype: outDt } as KernelNode],
    outputs: [{ node: 2, dtype: outDt }],
  };
}
