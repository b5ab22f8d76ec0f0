// tinyflow/eager's functional ops (torch.add, torch.cat, torch.where, ...) and
// `functional`, PyTorch's torch.nn.functional: losses and activations as
// functions over tensors.

import type { Tracer } from "../../core/trace";
import * as lax from "../../lax";
import * as tnn from "../../nn";
import * as np from "../../numpy";
import { ArgumentError, asCalledFrom } from "../../core/errors";
import { Tensor, op, type Operand } from "./tensor";

// --- functional ops ----------------------------------------------------------------------------------

/** The tensor argument of a torch-style function (torch.exp(x)), checked so a wrong value gets a typed error naming the function. */
function tensorArg(where: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new ArgumentError(`${where}: expected a Tensor as the first argument, got ${x === null ? "null" : typeof x === "object" ? `an object (${x.constructor?.name ?? "Object"})` : `${typeof x} ${String(x)}`}; make one with tensor(...)`);
  }
  return x;
}
export const add = (x: Tensor, y: Operand) => tensorArg("add", x).add(y);
export const sub = (x: Tensor, y: Operand) => tensorArg("sub", x).sub(y);
export const mul = (x: Tensor, y: Operand) => tensorArg("mul", x).mul(y);
export const div = (x: Tensor, y: Operand) => tensorArg("div", x).div(y);
export const matmul = (x: Tensor, y: Operand) => tensorArg("matmul", x).matmul(y);
export const exp = (x: Tensor) => tensorArg("exp", x).exp();
export const log = (x: Tensor) => tensorArg("log", x).log();
export const relu = (x: Tensor) => tensorArg("relu", x).relu();
export const sigmoid = (x: Tensor) => tensorArg("sigmoid", x).sigmoid();
export const tanh = (x: Tensor) => tensorArg("tanh", x).tanh();
export const sum = (x: Tensor, dim?: number | number[] | null, keepdim = false) => tensorArg("sum", x).sum(dim, keepdim);
export const mean = (x: Tensor, dim?: number | number[] | null, keepdim = false) => tensorArg("mean", x).mean(dim, keepdim);
/** A list-of-tensors argument (cat, stack). */
function tensorListArg(where: string, tensors: unknown): readonly Tensor[] {
  if (!globalThis.Array.isArray(tensors) || tensors.length === 0) {
    throw new ArgumentError(`${where}: expected a non-empty array of Tensors, got ${globalThis.Array.isArray(tensors) ? "an empty array" : typeof tensors}`);
  }
  return tensors as readonly Tensor[];
}
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  tensorListArg("cat", tensors);
  return op("cat", [dim], tensors, (...xs) => np.concatenate(xs as Tracer[], dim));
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  tensorListArg("stack", tensors);
  return op("stack", [dim], tensors, (...xs) => np.stack(xs as Tracer[], dim));
}
/** Elements of x where cond holds, else of y (torch.where): the data-dependent choice that also works inside compile(). */
export function where(cond: Tensor, x: Operand, y: Operand): Tensor {
  return asCalledFrom("where", () => {
    return op("where", [], [cond, x, y], (c, a, b) => np.where(c as Tracer, a, b));
  });
}

/** Losses and activations as functions (PyTorch's torch.nn.functional). */
export const functional = {
  relu,
  sigmoid,
  tanh,
  softmax: (x: Tensor, dim = -1) => x.softmax(dim),
  logSoftmax: (x: Tensor, dim = -1) => x.logSoftmax(dim),
  /** mean((input - target)²). */
  mseLoss(input: Tensor, target: Operand): Tensor {
    return op("mseLoss", [], [input, target], (a, b) => np.mean(np.square(np.subtract(a, b))));
  },
  /** Mean cross entropy of logits [N, C] against integer class indices [N] or probabilities [N, C]. */
  crossEntropy(logits: Tensor, target: Operand): Tensor {
    return op("crossEntropy", [], [logits, target], (l, t) => {
      const tv = np.asarray(t);
      return np.mean(tv.ndim === np.asarray(l).ndim ? tnn.softmaxCrossEntropy(l, lax.stopGradient(tv)) : tnn.softmaxCrossEntropyWithIntegerLabels(l, tv));
    });
  },
  binaryCrossEntropyWithLogits(logits: Tensor, target: Operand): Tensor {
    return op("bceWithLogits", [], [logits, target], (l, t) => np.mean(tnn.sigmoidBinaryCrossEntropy(l, t)));
  },
};
