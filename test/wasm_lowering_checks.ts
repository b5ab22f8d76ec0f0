// Helpers shared by the tests of the wasm lowering (conv gradients, GEMM
// epilogues, GEMM dispatch, indexing): seeded random wasm arrays, the step
// lines of a jitted function's wasm program, and the check that jit on wasm
// equals the interpreter.

import { expect } from "vitest";
import { ArrayImpl as TfArray, jit } from "../src/index";
import { expectAllclose } from "../src/testing";
import { onInterpreter } from "./interpreter_oracle";

/** `rand(shape)`: float32 wasm arrays uniform in [-1, 1) from a seeded linear congruential stream. */
export function wasmRandom(seed: number): (shape: number[]) => TfArray {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return (shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = next() * 2 - 1;
    return TfArray.fromTyped(data, shape, "float32", { backend: "wasm" });
  };
}

/** The step lines of jit(f)'s wasm program (throws, showing the text, when it has none). */
export function programSteps(f: (...xs: any[]) => unknown, ...args: unknown[]): string[] {
  const text = (jit(f).lower as (...a: unknown[]) => { text(): string })(...args).text();
  const body = text.split("# program on wasm")[1]?.split("# generated kernels")[0];
  if (body === undefined) throw new Error(`no wasm program in:\n${text}`);
  return body.split("\n").filter((l) => /^\s+\d+: /.test(l)).map((l) => l.trim());
}

/** jit(f) runs on wasm and equals f run eagerly on the interpreter, output by output (one output or a list). */
export function expectMatchesInterpreter(f: (...xs: any[]) => unknown, args: TfArray[], tol: number): void {
  const got = jit(f)(...args) as TfArray | TfArray[];
  const want = onInterpreter(() => f(...args.map((a) => a.to("interpreter")))) as TfArray | TfArray[];
  const gs = Array.isArray(got) ? got : [got];
  const ws = Array.isArray(want) ? want : [want];
  expect(gs.length).toBe(ws.length);
  gs.forEach((g, i) => {
    expect(g.backend.name).toBe("wasm");
    expectAllclose(g, ws[i]!, { atol: tol, rtol: tol });
  });
}
