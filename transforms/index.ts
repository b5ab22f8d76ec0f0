// The transformations' public surface, and the one place where each rule
// table is assembled from its parts and installed. The table types demand an
// entry for every primitive, so a new primitive does not compile until every
// transformation handles it.

import type { FirstOrderPrimitive, HigherOrderPrimitive, Primitive } from "../src/core/primitives";
import { installCompositeRunner } from "../src/core/eval_trace";
import { installPjitImpl } from "../src/core/higher_order_impls";
import { callJvpRules, callPartialEvalRules, callTransposeRules, callVmapRules } from "./calls";
import { pjitImpl, runComposite } from "./compiled_call";
import { controlFlowJvpRules, controlFlowPartialEvalRules, controlFlowTransposeRules, controlFlowVmapRules } from "./control_flow/rules";
import { installJvpRules, type JvpRuleTable } from "./jvp";
import { installPartialEvalRules, type PartialEvalRuleTable } from "./partial_eval";
import { firstOrderJvpRules } from "./rules/jvp";
import { firstOrderTransposeRules } from "./rules/transpose";
import { firstOrderVmapRules } from "./rules/vmap";
import { installTransposeRules, type TransposeRuleTable } from "./transpose";
import { installVmapRules, type VmapRuleTable } from "./vmap";

const jvpRules: JvpRuleTable = { ...firstOrderJvpRules, ...controlFlowJvpRules, ...callJvpRules };
const vmapRules: VmapRuleTable = { ...firstOrderVmapRules, ...controlFlowVmapRules, ...callVmapRules };
const transposeRules: TransposeRuleTable = { ...firstOrderTransposeRules, ...controlFlowTransposeRules, ...callTransposeRules };
const partialEvalRules: PartialEvalRuleTable = { ...controlFlowPartialEvalRules, ...callPartialEvalRules };

installJvpRules(jvpRules);
installVmapRules(vmapRules);
installTransposeRules(transposeRules);
installPartialEvalRules(partialEvalRules);
installPjitImpl(pjitImpl);
installCompositeRunner(runComposite);

export { checkpoint, customJvp, customVjp, jit, type Jitted, type JitOptions, type Lowered, type CheckpointOptions } from "./calls";
export { cond, foriLoop, scan, switchCase, whileLoop } from "./control_flow/api";
export { jvp, type JvpOptions } from "./jvp";
export { makeJaxpr } from "./jaxpr_trace";
export { grad, hessian, jacfwd, jacrev, linearize, valueAndGrad, vjp, type AuxOptions, type GradOptions, type Grads, type JacobianOptions } from "./vjp";
export { vmap, type VmapOptions, type AxisSpec } from "./vmap";
export type { FirstOrderPrimitive, HigherOrderPrimitive, Primitive };
