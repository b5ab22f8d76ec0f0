// The type of an interpreter rule: exact reference semantics of one
// first-order primitive on host arrays. Rules may assume inputs already
// passed the primitive's shape rule; `outAvals` are that rule's result.

import type { ShapedArray } from "../../../core/aval";
import type { ParamsOf, Primitive } from "../../../core/primitives";
import type { HostArray } from "../host_array";

export type InterpRule<P extends Primitive> = (inputs: HostArray[], params: ParamsOf<P>, outAvals: ShapedArray[]) => HostArray[];

export type InterpRuleTable<Ps extends Primitive> = { [P in Ps]: InterpRule<P> };
