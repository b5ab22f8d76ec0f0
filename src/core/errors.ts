// Typed errors thrown by tinyflow. Every message names the primitive or API
// at fault, the shapes/dtypes involved and what was expected, so a user can
// act on it without reading the library's source.

export class TinyflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, reshape sizes…). */
export class ShapeError extends TinyflowError {}

/** A dtype that the operation does not accept, or two that do not mix. */
export class DTypeError extends TinyflowError {}

/** An axis or axis list out of range or repeated. */
export class AxisError extends TinyflowError {}

/** Wrong number or kind of arguments, or a pytree leaf that is not an array. */
export class ArgumentError extends TinyflowError {}

/** A tracer used outside the transformation that made it, or a traced value
 * needed as a concrete one (e.g. in a JS `if`). */
export class TracerError extends TinyflowError {}

/** A transformation that cannot be applied (e.g. reverse mode through whileLoop). */
export class TransformError extends TinyflowError {}

/** A user-supplied rule (customJvp's jvp, customVjp's fwd/bwd) whose outputs do not have
 * the shapes/dtypes its primal function implies (JAX's TypeError from custom_derivatives). */
export class CustomRuleError extends TransformError {}

/** A jaxpr that fails the IR type checker. */
export class JaxprTypeError extends TinyflowError {}

/** A backend that cannot do what was asked (missing feature, unavailable device). */
export class BackendError extends TinyflowError {}

/** An operation that cannot fit under the device memory limit (setMemoryLimit). */
export class MemoryLimitError extends TinyflowError {}

/** An array used after dispose(), `using`, or after a jit call it was donated to consumed it. */
export class DisposedArrayError extends TinyflowError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** A traced value used where JS needs a concrete one: a comparison, arithmetic,
 * `Number(x)`, a loop bound or `JSON.stringify` inside jit/vmap/makeJaxpr
 * (JAX's ConcretizationTypeError / TracerBoolConversionError). */
export class ConcretizationError extends TracerError {}

/** A non-scalar array converted to a JS number (`x > 0`, `x + 1`, `Number(x)`):
 * only a 0-d array has one number to give. */
export class ArrayConversionError extends TinyflowError {}

/** An options object with an unknown key or a value of the wrong type. */
export class OptionsError extends ArgumentError {}

/** An optional package that a feature needs is not installed (the message names it and the install command). */
export class MissingDependencyError extends TinyflowError {}
