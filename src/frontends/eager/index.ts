// tinyflow/eager: the PyTorch-style define-and-run front end. A `Tensor`
// wraps a concrete tinyflow Array; ops run eagerly, and an op on tensors
// that require grad records its operands and a backward rule: the op's vjp,
// traced once per op signature and cached as a jitted function (so the
// gradient rules are tinyflow's own, with no second set of formulas, and
// nothing is traced per op in a training loop). `backward()` walks this tape in reverse
// topological order and accumulates `.grad` on leaves, as PyTorch does:
// grads add up across backward calls until zeroed, a non-scalar needs an
// explicit `gradient`, and the tape is freed after a backward unless
// `{ retainGraph: true }` (a second backward through a freed tape throws).

/**
 * The PyTorch-style define-and-run front end: tensors with `backward()`, `noGrad`, optimizers with `step()`.
 *
 * @module tinyflow/eager
 */

import "../../setup";
import { Tensor } from "./tensor";
import { isGradEnabled } from "./grad_mode";
import { makeCompile } from "./compile";

export { Tensor, apply, lift, type BackwardOptions, type Data, type GradFn, type Operand, type TensorOptions } from "./tensor";
export { enableGrad, isGradEnabled, noGrad, setGradEnabled } from "./grad_mode";
export { AutogradError } from "./errors";
export { arange, manualSeed, ones, rand, randn, tensor, zeros } from "./creation";
export { add, cat, div, exp, functional, log, matmul, mean, mul, relu, sigmoid, stack, sub, sum, tanh, where } from "./functional";
export { Linear, Module, ReLU, Sequential, Sigmoid, Tanh, nn, type LinearOptions } from "./nn";
export { Adam, SGD, optim, type AdamOptions, type SGDOptions } from "./optim";

// --- compile ---------------------------------------------------------------------------------------------

/**
 * `compile(fn)`: run an eager function as one compiled program (the
 * torch.compile idea). fn is traced once per input signature (argument
 * structure, each tensor's shape, dtype and requiresGrad, the other
 * arguments, grad mode) into a jaxpr; calls with that signature run it
 * compiled, and `backward()` through its results runs its compiled backward.
 * Tensors fn reads from outside (a model's parameters) are inputs too, read
 * at each call. A JS branch on a tensor's value inside fn is a CompileError
 * naming the fix (`where`, `lax.cond`).
 */
export const compile = makeCompile({ Tensor, isGradEnabled });
export { CompileError } from "./compile_state";
export type { Compiled, CompileOptions, CompileDeps } from "./compile";
