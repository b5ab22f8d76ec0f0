// tinyflow/eager's tensor creation: `tensor()` from data, filled tensors, and
// random samples drawn from the front end's global generator (`manualSeed`),
// which a new layer's initialization draws from too.

import { Array as TfArray, isArray } from "../../core/array";
import { isFloat } from "../../core/dtype";
import { ArgumentError, OptionsError, asCalledFrom } from "../../core/errors";
import { checkOptions } from "../../core/options";
import { Tracer } from "../../core/trace";
import * as np from "../../numpy";
import * as random from "../../random";
import { compileTracing, effectInCompile } from "./compile_state";
import { Tensor, tensorRules, type Data, type TensorOptions } from "./tensor";

// --- creation -----------------------------------------------------------------------------------

/**
 * `tensor(data, { requiresGrad, dtype })`, on np.array's number policy:
 * numbers become float32 unless a dtype is given (PyTorch would make integer
 * data int64), booleans bool, typed arrays keep their element type
 * (Int32Array → int32, Uint32Array → uint32).
 */
export function tensor(data: Data | Tensor, opts: TensorOptions = {}): Tensor {
  return asCalledFrom("tensor", () => {
    checkOptions("tensor", opts, tensorRules);
    let a: TfArray;
    if (data instanceof Tensor) a = data.value;
    else if (isArray(data)) a = data;
    else if (data instanceof Tracer) throw new ArgumentError("tensor(): a traced value has no data; eager tensors hold concrete Arrays");
    else {
      // A tensor is never weakly typed (np.array(2) alone would be): a bare number is a strong float32.
      a = np.array(data as never, { dtype: opts.dtype ?? (typeof data === "number" ? "float32" : undefined) }) as TfArray;
    }
    if (opts.dtype !== undefined && a.dtype !== opts.dtype) a = np.astype(a, opts.dtype) as TfArray;
    return new Tensor(a, { requiresGrad: opts.requiresGrad ?? false });
  });
}

const shapeOf = (shape: (number | readonly number[])[]): number[] => (shape.length === 1 && Array.isArray(shape[0]) ? [...(shape[0] as number[])] : (shape as number[]));

export function zeros(shape: readonly number[] | number, opts: TensorOptions = {}): Tensor {
  checkOptions("zeros", opts, tensorRules);
  return new Tensor(np.zeros(shape, opts.dtype ?? "float32") as TfArray, { requiresGrad: opts.requiresGrad });
}
export function ones(shape: readonly number[] | number, opts: TensorOptions = {}): Tensor {
  checkOptions("ones", opts, tensorRules);
  return new Tensor(np.ones(shape, opts.dtype ?? "float32") as TfArray, { requiresGrad: opts.requiresGrad });
}
export function arange(start: number, end?: number, step = 1): Tensor {
  return new Tensor(np.arange(start, end ?? null, step, { dtype: "float32" }) as TfArray);
}

let rngKey: Tracer = random.key(0);
/** Seed the generator of randn/rand/Linear's initialization. */
export function manualSeed(seed: number): void {
  return asCalledFrom("manualSeed", () => {
    rngKey = random.key(seed);
  });
}
/** A fresh key from the global generator (randn, rand, layer initialization). @internal */
export function nextKey(): Tracer {
  const tracing = compileTracing();
  if (tracing) {
    throw effectInCompile(tracing.where, "drawing random numbers (randn, rand, a new layer's initialization)", "draw them outside and pass them in as arguments, so each call gets fresh ones");
  }
  const [a, b] = random.split(rngKey) as unknown as [Tracer, Tracer];
  rngKey = a;
  return b;
}
/** The trailing options of randn/rand, checked; samples need a floating-point dtype. */
function randomOptions(where: string, args: (number | readonly number[] | TensorOptions)[]): TensorOptions {
  const last = args[args.length - 1];
  const opts = checkOptions(where, (typeof last === "object" && last !== null && !Array.isArray(last) ? args.pop() : undefined) as TensorOptions | undefined, tensorRules);
  if (opts.dtype !== undefined && !isFloat(opts.dtype)) {
    throw new OptionsError(`${where}: option dtype must be a floating-point dtype for random samples, got "${opts.dtype}"; draw float32 samples and convert them with .to("${opts.dtype}")`);
  }
  return opts;
}
const samples = (a: Tracer, opts: TensorOptions): Tensor =>
  new Tensor((opts.dtype !== undefined && opts.dtype !== a.dtype ? np.astype(a, opts.dtype) : a) as TfArray, { requiresGrad: opts.requiresGrad });
/** Standard normal samples: randn(2, 3) or randn([2, 3], { requiresGrad }). */
export function randn(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  return asCalledFrom("randn", () => {
    const opts = randomOptions("randn", args);
    return samples(random.normal(nextKey(), shapeOf(args as number[])), opts);
  });
}
/** Uniform [0, 1) samples. */
export function rand(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  return asCalledFrom("rand", () => {
    const opts = randomOptions("rand", args);
    return samples(random.uniform(nextKey(), shapeOf(args as number[])), opts);
  });
}
