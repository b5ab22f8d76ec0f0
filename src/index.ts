// tinyflow: JAX-style arrays and composable transformations for TypeScript.
// This entry point registers the backends and the transformations' rules,
// and exposes the user-facing namespaces.

/**
 * JAX-style arrays and composable transformations: `grad`, `vmap`, `jit`, `jvp`, `vjp`, control flow, the `np`/`lax`/`nn`/`random`/`optim` namespaces and backend selection.
 *
 * @module tinyflow
 */

import "./setup";
import * as laxOps from "./lax";
import { cond, foriLoop, scan, switchCase, whileLoop } from "../transforms";

export * from "../transforms";
export { loadWasmBackend } from "./backends/wasm";
export { ready } from "./backends";
export * as np from "./numpy";
export * as nn from "./nn";
export * as random from "./random";
export * as optim from "./optim";
export { Array, isArray, ShapedArray, Tracer, getBackend, setDefaultBackend, setMemoryLimit, memoryStats, defaultBackendName, listBackends, tree, ClosedJaxpr, Jaxpr, checkJaxpr } from "./core";
export { TinyflowError, ShapeError, DTypeError, AxisError, ArgumentError, TracerError, TransformError, JaxprTypeError, BackendError } from "./core";
export type { DType, ArrayLike, IndexSpec } from "./core";

/** lax: the primitives' thin wrappers plus structured control flow. */
export const lax = { ...laxOps, cond, switch: switchCase, whileLoop, foriLoop, scan };

// Types named by the signatures above, so users can write them too (and the API reference links them).
export type { Axis, KeepDims, Shape, TypedArray, DTypeWithWeak, Backend, Executable, Atom, AtUpdater, TracerMethods, JaxprEqn, Var } from "./core";
export type { ConvDimensionNumbers, DotDimensionNumbers, GatherDimensionNumbers, ScatterDimensionNumbers, GatherMode, Literal } from "./core";
export type {
  ConvOptions, DotOptions, GatherOptions, ScatterOptions, ReduceWindowOptions, ReduceWindowOp, Padding,
  ConvDimensionNumbersLike, GatherDimensionNumbersLike, ScatterDimensionNumbersLike, SortOptions,
} from "./lax";
export type { ScanOptions, Traced } from "../transforms/control_flow/api";
export type { CustomJvpFunction, CustomVjpFunction } from "../transforms/calls";
export type { WasmBackend } from "./backends/wasm";
