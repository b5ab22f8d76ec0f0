// TF1's graph inputs and state: `placeholder`, `constant`, `Variable` and
// `assign*`, `group`/`no_op`, the variable collections and their initializers.

import "../../setup";
import type { Array as TfArray } from "../../core/array";
import { isDType, type DType } from "../../core/dtype";
import { ArgumentError, TinyflowError } from "../../core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../../core/options";
import * as np from "../../numpy";
import { Operation, RefVariable, Tensor, describe, get_default_graph, makeAssign, type Data, type TensorLike, type VariableOptions } from "./graph";
import { nameRules, type NameOpt } from "./op_common";

export interface PlaceholderOptions extends NameOpt {
  /** Static shape; null dims (or no shape) are unknown. */
  shape?: readonly (number | null)[] | null;
}
const placeholderRules: OptionRules<PlaceholderOptions> = {
  shape: { expected: "null or a list of non-negative integers and nulls", accepts: (v) => v === null || (Array.isArray(v) && v.every((d) => d === null || (Number.isInteger(d) && d >= 0))) },
  name: opt.string,
};

/**
 * `tf.placeholder(dtype, shape?, name?)` or `tf.placeholder(dtype, { shape, name })` (TF1's keywords):
 * a value given at run time through feed_dict; null dims (or no shape) are unknown.
 */
export function placeholder(dtype: DType, shapeOrOpts?: readonly (number | null)[] | null | PlaceholderOptions, name?: string): Tensor {
  let shape: readonly (number | null)[] | null | undefined;
  if (isPlainObject(shapeOrOpts)) {
    if (name !== undefined) throw new ArgumentError(`tf.placeholder: name given twice, positionally and in the options; give it one way`);
    const o = checkOptions("tf.placeholder", shapeOrOpts as PlaceholderOptions, placeholderRules);
    shape = o.shape;
    name = o.name;
  } else {
    shape = shapeOrOpts as readonly (number | null)[] | null | undefined;
  }
  if (!isDType(dtype)) throw new ArgumentError(`tf.placeholder: unknown dtype ${String(dtype)}`);
  if (name !== undefined && typeof name !== "string") throw new ArgumentError(`tf.placeholder: name must be a string, got ${describe(name)}`);
  if (shape !== undefined && shape !== null) {
    if (!Array.isArray(shape) || shape.some((d) => d !== null && (!Number.isInteger(d) || d < 0))) {
      throw new ArgumentError(`tf.placeholder: shape must be an array of non-negative integers or null, got ${JSON.stringify(shape)}`);
    }
  }
  return new Tensor({ opType: "Placeholder", inputs: [], kernel: null, shape: shape === undefined || shape === null ? null : [...shape], dtype, name: name ?? "Placeholder" });
}

/** `tf.constant(value, dtype?, shape?)`. */
export function constant(value: Data, dtype?: DType | null, shape?: readonly number[] | null, name?: string): Tensor {
  // A constant is never weakly typed (np.array(2) alone would be): a bare number is a strong float32.
  let a: TfArray;
  try {
    a = np.array(value as never, { dtype: dtype ?? (typeof value === "number" ? "float32" : undefined) }) as TfArray;
  } catch (e) {
    if (e instanceof TinyflowError) e.message = `tf.constant: the value cannot become a tensor (${e.message})`;
    throw e;
  }
  if (dtype === undefined || dtype === null) {
    // np.array's number policy (JS numbers are float32 — TF1 would make integer literals int32;
    // Int32Array gives int32), narrowed to the dtypes TF1 infers for constants.
    if (a.dtype !== "bool" && a.dtype !== "int32" && a.dtype !== "float32") a = np.astype(a, "float32") as TfArray;
  }
  if (shape !== undefined && shape !== null) a = (a.size === 1 ? np.broadcastTo(np.reshape(a, []), shape) : np.reshape(a, shape)) as TfArray;
  return new Tensor({ opType: "Const", inputs: [], kernel: () => a, shape: [...a.shape], dtype: a.dtype, name: name ?? "Const", attrs: { value: a } });
}

interface VariableFn {
  (initialValue: TensorLike, opts?: VariableOptions): RefVariable;
  new (initialValue: TensorLike, opts?: VariableOptions): RefVariable;
}
/** `tf.Variable(initialValue, { name, trainable, dtype })`, with or without `new`. */
export const Variable = function Variable(initialValue: TensorLike, opts?: VariableOptions): RefVariable {
  return new RefVariable(initialValue, opts);
} as unknown as VariableFn;
Variable.prototype = RefVariable.prototype;
export type Variable = RefVariable;

export function assign(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("Assign", ref, value, checkOptions("tf.assign", opts, nameRules).name);
}
export function assign_add(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("AssignAdd", ref, value, checkOptions("tf.assign_add", opts, nameRules).name);
}
export function assign_sub(ref: RefVariable, value: TensorLike, opts?: NameOpt): Tensor {
  return makeAssign("AssignSub", ref, value, checkOptions("tf.assign_sub", opts, nameRules).name);
}

/** `tf.group(...)`: one op that runs all of its inputs. Accepts the inputs spread or as one array. */
export function group(...inputs: (Tensor | Operation | readonly (Tensor | Operation)[])[]): Operation {
  const flat = inputs.flat() as (Tensor | Operation)[];
  for (const x of flat) if (!(x instanceof Tensor || x instanceof Operation)) throw new ArgumentError(`tf.group: expected Tensors or Operations, got ${describe(x)}`);
  return new Operation("NoOp", flat, "group_deps");
}

export function no_op(name?: string): Operation {
  return new Operation("NoOp", [], name);
}

export function global_variables(): RefVariable[] {
  return [...get_default_graph().variables];
}
export function trainable_variables(): RefVariable[] {
  return get_default_graph().trainableVariables;
}
export function variables_initializer(varList: readonly RefVariable[], name = "init"): Operation {
  if (!Array.isArray(varList)) throw new ArgumentError(`tf.variables_initializer: expected an array of variables, got ${typeof varList}`);
  return new Operation("NoOp", varList.map((v) => v.initializer), name);
}
/** Initialize every variable made so far (call it after building the model and the optimizer). */
export function global_variables_initializer(): Operation {
  return variables_initializer(global_variables());
}
/** TF ≤ 0.11's name of global_variables_initializer. */
export const initialize_all_variables = global_variables_initializer;
export const all_variables = global_variables;
