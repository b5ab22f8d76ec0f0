// TF1's symbolic differentiation: `tf.gradients(ys, xs, grad_ys)` builds
// gradient nodes from tinyflow's `vjp` of the subgraph; `stop_gradient`.

import "../../setup";
import { ArgumentError } from "../../core/errors";
import { checkOptions, isPlainObject, opt, type OptionRules } from "../../core/options";
import * as lax from "../../lax";
import { Tensor, describe, makeOp, toTensor, type TensorLike } from "./graph";
import type { NameOpt } from "./op_common";

export interface GradientsOptions extends NameOpt {
  /** Cotangents for ys (default: ones). */
  grad_ys?: TensorLike | readonly (TensorLike | null)[] | null;
}
// grad_ys is checked against ys where it is used.
const gradientsRules: OptionRules<GradientsOptions> = { grad_ys: opt.any, name: opt.string };

/**
 * `tf.gradients(ys, xs, grad_ys?)`: symbolic d(sum of ys)/d x for each x
 * (Variables or any Tensors). An x that ys do not depend on gets zeros (TF gives None).
 */
export function gradients(ys: Tensor | readonly Tensor[], xs: Tensor | readonly Tensor[], grad_ys?: GradientsOptions["grad_ys"] | GradientsOptions): Tensor[] {
  let gy: GradientsOptions["grad_ys"] = grad_ys as GradientsOptions["grad_ys"];
  let name: string | undefined;
  // Data is never a plain object, so one is the options form.
  if (isPlainObject(grad_ys)) {
    const o = checkOptions("tf.gradients", grad_ys as GradientsOptions, gradientsRules);
    gy = o.grad_ys;
    name = o.name;
  }
  const yList = (Array.isArray(ys) ? ys : [ys]) as Tensor[];
  const xList = (Array.isArray(xs) ? xs : [xs]) as Tensor[];
  for (const y of yList) if (!(y instanceof Tensor)) throw new ArgumentError(`tf.gradients: ys must be Tensors, got ${describe(y)}`);
  for (const x of xList) if (!(x instanceof Tensor)) throw new ArgumentError(`tf.gradients: xs must be Tensors or Variables, got ${describe(x)}`);
  for (const x of xList) {
    if (x.dtype !== "float32" && x.dtype !== "float16") throw new ArgumentError(`tf.gradients: x '${x.name}' has dtype ${x.dtype}; gradients need floating-point xs`);
  }
  let gyList: (Tensor | null)[];
  if (gy === undefined || gy === null) gyList = yList.map(() => null);
  else {
    const isList = Array.isArray(gy) && gy.length === yList.length && gy.every((g) => g === null || g instanceof Tensor);
    if (!isList && yList.length !== 1) throw new ArgumentError(`tf.gradients: grad_ys must be a list with one entry (Tensor or null) per y (${yList.length})`);
    const raw = (isList ? gy : [gy]) as (TensorLike | null)[];
    gyList = raw.map((g) => (g === null ? null : toTensor(g)));
  }
  const unique = [...new Set(xList)];
  const node = new Tensor({
    opType: "Gradients",
    inputs: [...yList, ...unique, ...gyList.filter((g): g is Tensor => g !== null)],
    kernel: null,
    shape: [],
    dtype: "float32",
    name: name ?? "gradients",
    attrs: { ys: yList, xs: unique, grad_ys: gyList },
  });
  return xList.map(
    (x) => new Tensor({ opType: "GradientsOutput", inputs: [node], kernel: null, shape: x.shape, dtype: x.dtype, name: `${node.opName}/${x.opName}_grad`, attrs: { index: unique.indexOf(x) } }),
  );
}

export function stop_gradient(x: TensorLike, name?: string): Tensor {
  return makeOp("StopGradient", [x], ([a]) => lax.stopGradient(a), { api: "stop_gradient", name });
}
