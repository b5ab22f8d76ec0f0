// The core's public surface. Importing it registers the eval trace.

import "./eval_trace";

export { Array, isArray } from "./array";
export { setMemoryLimit, memoryStats, type MemoryStats } from "./residency";
export { ShapedArray } from "./aval";
export { getBackend, setDefaultBackend, defaultBackendName, listBackends, registerBackend, type Backend, type DeferredExecution, type Executable, type FusionGroup, type OpRunner, type StackedRows } from "./backend";
export * from "./dtype";
export * from "./errors";
export { evalJaxpr, evalClosedJaxpr } from "./eval_jaxpr";
export { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, printJaxpr, type Atom } from "./ir";
export { installTracerMethods, type AtUpdater, type IndexSpec, type TracerMethods } from "./methods";
export * from "./primitives";
export * as tree from "./pytree";
export { shapeRules } from "./shape_rules";
export * from "./shape";
export { Trace, Tracer, MainTrace, bind, bind1, fullRaise, isTracer, withMainTrace, withDynamicTrace, atEvalLevel, type ArrayLike, type ArrayJSON, type NestedJSON, type ArrayTransferable, type Axis, type KeepDims } from "./trace";
export { checkJaxpr, typecheckJaxpr } from "./typecheck";
export { checkOptions, opt, type OptionRule, type OptionRules } from "./options";
export { config, FloatingPointError, type ConfigFlags } from "./debug";
