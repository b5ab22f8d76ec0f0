// The `lax` namespace: thin, typed wrappers over the primitives (one per
// first-order primitive) and the structured helpers JAX's lax offers. Binary
// ops want equal shapes and dtypes; JS numbers are weak scalars taking the
// other operand's dtype. Control flow (cond/scan/whileLoop/...) lives in
// transforms/ and is re-exported here by the lead.

import "../core/eval_trace";

export * from "./elementwise";
export * from "./structural";
export * from "./linalg";
