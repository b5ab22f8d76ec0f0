// The complete table of shape/dtype rules, one per primitive. The type makes
// a primitive without a rule a compile error.

import type { Primitive } from "../primitives";
import { decompositionShapeRules } from "./decompositions";
import { elementwiseShapeRules } from "./elementwise";
import { higherOrderShapeRules } from "./higher_order";
import { indexingShapeRules } from "./indexing";
import { linalgShapeRules } from "./linalg";
import { structuralShapeRules } from "./structural";
import type { ShapeRuleTable } from "./types";

export const shapeRules: ShapeRuleTable<Primitive> = {
  ...elementwiseShapeRules,
  ...structuralShapeRules,
  ...indexingShapeRules,
  ...linalgShapeRules,
  ...decompositionShapeRules,
  ...higherOrderShapeRules,
};

export type { ShapeRule, ShapeRuleTable } from "./types";
