// Bad input gets a typed error (a TinyflowError subclass) that names the
// function, the value and the fix -- never a raw TypeError/RangeError, a stack
// overflow, or gigabytes allocated before failing. One case per reproducer of
// issue 11's "unclear errors", on the default (wasm) backend and the interpreter.

import { afterEach, describe, expect, it } from "vitest";
import {
  ArgumentError, BackendError, DisposedArrayError, MemoryLimitError, OptionsError, ShapeError, TinyflowError,
  defaultBackendName, grad, jit, np, setDefaultBackend, setMemoryLimit, vmap, type Tracer,
} from "../src/index";
import { WasmKernelError } from "../src/backends/wasm/kernel_args";

/** The error `f` throws, checked to be a TinyflowError. */
function typedError(f: () => unknown): TinyflowError {
  try {
    f();
  } catch (e) {
    expect(e, `raw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`).toBeInstanceOf(TinyflowError);
    return e as TinyflowError;
  }
  throw new Error("expected an error, got none");
}

describe("clear typed errors for bad arguments", () => {
  const x = np.ones([2, 3]);
  it("shapes with NaN print NaN, not null", () => {
    const e = typedError(() => np.zeros([NaN]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/zeros: .*got \[NaN\]/);
  });
  it("reshape and transpose with malformed shapes/axes", () => {
    expect(typedError(() => np.reshape(x, undefined as never)).message).toMatch(/reshape: .*got undefined/);
    expect(typedError(() => np.transpose(x, "ab" as never)).message).toMatch(/transpose: axes must be an array of integers, got "ab"/);
  });
  it("functions that are not functions", () => {
    expect(typedError(() => grad(undefined as never))).toBeInstanceOf(ArgumentError);
    expect(typedError(() => jit(42 as never))).toBeInstanceOf(ArgumentError);
    expect(typedError(() => vmap(42 as never))).toBeInstanceOf(ArgumentError);
  });
  it("fractional argnums/inAxes are 'not an integer', not 'out of range'", () => {
    expect(typedError(() => grad((a: Tracer) => a.sum(), { argnums: 1.5 } as never)(x)).message).toMatch(/not an integer/);
    expect(typedError(() => vmap((a: Tracer) => a, { inAxes: 0.5 } as never)(x))).toBeInstanceOf(OptionsError);
  });
  it("cyclic pytrees are refused, not a stack overflow", () => {
    const cyclic: Record<string, unknown> = { a: np.ones([1]) };
    cyclic.self = cyclic;
    expect(typedError(() => jit((p: { a: Tracer }) => p.a)(cyclic as never)).message).toMatch(/\.self refers back to a container/);
    expect(typedError(() => grad((p: { a: Tracer }) => p.a.sum())(cyclic as never))).toBeInstanceOf(ArgumentError);
  });
  it("an array used after donation says it was donated, and to which call", () => {
    const f = jit(function step(a: Tracer) {
      return a.add(1);
    }, { donateArgnums: [0] });
    const d = np.ones([3]);
    f(d);
    const e = typedError(() => d.add(1));
    expect(e).toBeInstanceOf(DisposedArrayError);
    expect(e.message).toMatch(/donated to jit\(step\)/);
  });
  it("WasmKernelError is a TinyflowError (a BackendError)", () => {
    expect(new WasmKernelError("x")).toBeInstanceOf(BackendError);
  });
});

describe("allocation limits are checked before allocating, on every backend", () => {
  const prev = defaultBackendName();
  afterEach(() => {
    setDefaultBackend(prev);
    setMemoryLimit(512 * 2 ** 20);
  });
  for (const backend of ["wasm", "interpreter"]) {
    it(`${backend}: huge creations and programs are refused at once`, () => {
      setDefaultBackend(backend);
      const t0 = performance.now();
      expect(typedError(() => np.zeros([50_000, 50_000]))).toBeInstanceOf(MemoryLimitError);
      expect(typedError(() => np.arange(0, 1e12))).toBeInstanceOf(MemoryLimitError);
      expect(typedError(() => np.eye(100_000))).toBeInstanceOf(MemoryLimitError);
      // A huge intermediate inside a program whose inputs and outputs are small: the
      // interpreter would materialize it (wasm fuses it away and needs no memory for it).
      if (backend === "interpreter") {
        expect(typedError(() => jit((a: Tracer) => np.exp(np.broadcastTo(a, [50_000, 50_000])).sum())(np.ones([1])))).toBeInstanceOf(MemoryLimitError);
      }
      expect(performance.now() - t0).toBeLessThan(20_000);
    });
  }
  it("wasm: a buffer beyond wasm32's 4 GiB names the operation even with a raised limit", () => {
    setMemoryLimit(2 ** 40);
    const e = typedError(() => np.zeros([2 ** 31]));
    expect(e).toBeInstanceOf(MemoryLimitError);
    expect(e.message).toMatch(/broadcast_in_dim: needs a buffer of 8589934592 bytes, more than the 4 GiB/);
  });
});
