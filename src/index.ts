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
import { Array as ConcreteArray, type Tracer } from "./core";
import { cond, foriLoop, scan, switchCase, whileLoop } from "../transforms";
import { cholesky, eigh, lu, qr, svd, triangularSolve } from "./numpy/decompositions";
import { erfc } from "./scipy/special";

export * from "../transforms";
export { loadWasmBackend } from "./backends/wasm";
export { loadWebGpuBackend } from "./backends/webgpu";
export { ready } from "./backends";
export * as np from "./numpy";
export * as nn from "./nn";
export * as random from "./random";
export * as optim from "./optim";
export * as scipy from "./scipy";
export { isArray, ShapedArray, Tracer, getBackend, setDefaultBackend, setMemoryLimit, memoryStats, type MemoryStats, defaultBackendName, listBackends, tree, ClosedJaxpr, Jaxpr, checkJaxpr } from "./core";
export { TinyflowError, ShapeError, DTypeError, AxisError, ArgumentError, TracerError, TransformError, CustomRuleError, JaxprTypeError, BackendError, ConcretizationError, ArrayConversionError, OptionsError, MemoryLimitError, DisposedArrayError, MissingDependencyError, FloatingPointError, config } from "./core";
export type { ConfigFlags } from "./core";
export type { DType, ArrayLike, IndexSpec, ArrayJSON, NestedJSON, ArrayTransferable } from "./core";

/**
 * `Array` is the one array type users annotate with: every function returns
 * it and accepts it, whether the value is concrete or a tracer of a
 * transformation (as `jax.Array` covers both). The value `Array` is the
 * concrete class (`Array.fromTyped`, `x instanceof Array` is true for
 * concrete arrays only); the class type is exported as `ArrayImpl` for code
 * that needs concrete-only members (`dispose`, `to`, `backend`).
 */
export type Array = Tracer;
export const Array = ConcreteArray;
export const ArrayImpl = ConcreteArray;
export type ArrayImpl = ConcreteArray;

/** lax: the primitives' thin wrappers plus structured control flow and `lax.linalg`'s decompositions. */
export const lax = { ...laxOps, erfc, cond, switch: switchCase, whileLoop, foriLoop, scan, linalg: { cholesky, eigh, lu, qr, svd, triangularSolve } };

// Types named by the signatures above, so users can write them too (and the API reference links them).
export type { Axis, KeepDims, Shape, TypedArray, DTypeWithWeak, Backend, DeferredExecution, Executable, FusionGroup, OpRunner, StackedRows, Atom, AtUpdater, TracerMethods, JaxprEqn, Var } from "./core";
export type { ConvDimensionNumbers, DotDimensionNumbers, GatherDimensionNumbers, ScatterDimensionNumbers, GatherMode, Literal } from "./core";
export type {
  ConvOptions, ConvTransposeOptions, DotOptions, GatherOptions, ScatterOptions, ReduceWindowOptions, ReduceWindowOp, Padding,
  ConvDimensionNumbersLike, GatherDimensionNumbersLike, ScatterDimensionNumbersLike, SortOptions,
} from "./lax";
export type { ScanOptions, Traced } from "../transforms/control_flow/api";
export type { TriangularSolveOptions, CholeskyOptions, QrOptions, EighOptions, SvdOptions } from "./numpy/decompositions";
export type { CustomJvpFunction, CustomVjpFunction } from "../transforms/calls";
export type { WasmBackend } from "./backends/wasm";
export type { WebGpuBackend, WebGpuBuffer, WebGpuWorkCounts } from "./backends/webgpu";
