// Typed errors thrown by tinyflow. Every message names the primitive or API
// at fault, the shapes/dtypes involved and what was expected, so a user can
// act on it without reading the library's source.

// Traceback filtering, as JAX's jax_traceback_filtering: a TinyflowError's
// `stack` lists the user's frames only -- the first one is the line that called
// into tinyflow (for an error raised while tracing under jit/grad/vmap, the line
// of the traced function that made the bad call), not the shape rule deep inside.
// The full stack stays in `unfilteredStack`; TINYFLOW_TRACEBACK_FILTERING=off
// turns filtering off. The stack is captured when the error is made (deep enough
// to reach past the library's frames) and formatted only when read.

// Frames inside the library: its src/ and transforms/ trees, built or not.
// (Not `new URL("../../", import.meta.url)`: bundlers take that for an asset to ship.)
const libraryRoot = import.meta.url.replace(/[^/]*\/[^/]*\/[^/]*$/, "");
const libraryDirs = [`${libraryRoot}src/`, `${libraryRoot}transforms/`].flatMap((u) => [u, u.replace(/^file:\/\//, "")]);

/** Whether a stack line is a frame of tinyflow's own code. */
export function isLibraryFrame(line: string): boolean {
  return libraryDirs.some((d) => line.includes(d));
}

const filteringOn = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TINYFLOW_TRACEBACK_FILTERING !== "off";
/** Frames captured per error: enough to get past tinyflow's own to the user's call. */
const CAPTURED_FRAMES = 64;
type StackApi = { captureStackTrace?(target: object, ctor?: Function): void; stackTraceLimit?: number };

/** Replaces `err.stack` with a lazily formatted one without tinyflow's frames; keeps the full one as `unfilteredStack`. */
function installFilteredStack(err: Error): void {
  const api = Error as unknown as StackApi;
  if (!filteringOn || typeof api.captureStackTrace !== "function") return;
  const raw: { stack?: string } = {};
  const limit = api.stackTraceLimit;
  api.stackTraceLimit = CAPTURED_FRAMES;
  try {
    api.captureStackTrace(raw, installFilteredStack);
  } finally {
    api.stackTraceLimit = limit;
  }
  const frames = (): string[] => (raw.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  const header = (): string => `${err.name}: ${err.message}`;
  let assigned: string | undefined;
  let filtered: string | undefined;
  Object.defineProperty(err, "stack", {
    configurable: true,
    enumerable: false,
    get(): string {
      if (assigned !== undefined) return assigned;
      if (filtered === undefined) {
        const all = frames();
        const user = all.filter((l) => !isLibraryFrame(l));
        const hidden = all.length - user.length;
        const note = hidden > 0 && user.length > 0 ? [`    (${hidden} tinyflow frame(s) hidden; error.unfilteredStack has them, TINYFLOW_TRACEBACK_FILTERING=off keeps them)`] : [];
        filtered = [header(), ...(user.length > 0 ? user : all), ...note].join("\n");
      }
      return filtered;
    },
    set(v: string): void {
      assigned = v;
    },
  });
  Object.defineProperty(err, "unfilteredStack", { configurable: true, enumerable: false, get: () => [header(), ...frames()].join("\n") });
}

export class TinyflowError extends Error {
  /** The stack with tinyflow's own frames (`stack` shows the user's frames only). */
  declare readonly unfilteredStack?: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    installFilteredStack(this);
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

/**
 * Runs the body of public function `where`, which delegates to other public
 * functions: a TinyflowError they raise gets `where: ` put in front of its
 * message unless it already names `where`, so the user reads the function
 * they called first (`average: mean: argument must be an array ...`), then
 * the one that found the fault. The error keeps its class.
 */
export function asCalledFrom<R>(where: string, body: () => R): R {
  try {
    return body();
  } catch (e) {
    if (e instanceof TinyflowError && !new RegExp(`\\b${where.replace(/^[a-z]+\./, "")}\\b`).test(e.message)) e.message = `${where}: ${e.message}`;
    throw e;
  }
}
