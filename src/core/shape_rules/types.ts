// The type of a shape/dtype rule ("abstract evaluation"): given the avals of
// a primitive's inputs and its params, the avals of its outputs, or a typed
// error naming the primitive and the offending shapes/dtypes.

import type { ShapedArray } from "../aval";
import type { ParamsOf, Primitive } from "../primitives";

export type ShapeRule<P extends Primitive> = (inAvals: ShapedArray[], params: ParamsOf<P>) => ShapedArray[];

export type ShapeRuleTable<Ps extends Primitive> = { [P in Ps]: ShapeRule<P> };
