// The dense layers: Linear (y = x·W + b over the last axis, W stored
// [in, out] as in flax) and Flatten (everything after the batch axis into
// one). Both accept any number of leading batch axes.

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import type { Tracer } from "../../core/trace";
import { checkOptions, opt } from "../../core/options";
import { ArgumentError } from "../../core/errors";
import { sizeOf } from "../../core/shape";
import { lecunNormal, zeros, type Initializer } from "../initializers";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

export interface LinearOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /** Initializer of the [in, out] weight (default lecunNormal(), flax's default). */
  kernelInit?: Initializer;
  /** Initializer of the bias (default zeros). */
  biasInit?: Initializer;
}

export interface LinearParams {
  weight: Tracer;
  bias?: Tracer;
}

/** The arrow notation of feature maps in headers: "784→128". */
export const arrow = (a: number | string, b: number | string): string => `${a}→${b}`;

/**
 * A dense layer y = x·weight + bias over the last axis: params
 * `{ weight: [in, out], bias: [out] }` (no bias with `{ bias: false }`); x is
 * [..., in], the output [..., out].
 */
export function Linear(inFeatures: number, outFeatures: number, opts: LinearOptions = {}): Layer<LinearParams, {}> {
  const where = "nn.Linear";
  checkOptions(where, opts, { bias: opt.boolean, kernelInit: opt.function, biasInit: opt.function });
  positiveInt(where, "inFeatures", inFeatures);
  positiveInt(where, "outFeatures", outFeatures);
  const useBias = opts.bias ?? true;
  const kernelInit = opts.kernelInit ?? lecunNormal();
  const biasInit = opts.biasInit ?? zeros;
  const header = `Linear(${arrow(inFeatures, outFeatures)}${useBias ? "" : ", bias=false"})`;
  return defineLayer<LinearParams, {}, {}>({
    name: "Linear",
    header,
    optionRules: {},
    init(key) {
      const [kw, kb] = random.split(key, 2);
      const params: LinearParams = { weight: kernelInit(kw, [inFeatures, outFeatures]) };
      if (useBias) params.bias = biasInit(kb, [outFeatures]);
      return { params, state: {} };
    },
    forward(params, state, x) {
      expectShape(header, x.ndim >= 1 && x.shape[x.ndim - 1] === inFeatures, `[..., ${inFeatures}]`, x);
      if (params.weight === undefined || (useBias && params.bias === undefined)) {
        throw new ArgumentError(`${header}.apply: params must be { weight${useBias ? ", bias" : ""} } as init returns, got keys { ${Object.keys(params ?? {}).join(", ")} }`);
      }
      const y = lax.dotGeneral(x, params.weight, [[[x.ndim - 1], [0]], [[], []]]);
      return [useBias ? np.add(y, params.bias!) : y, state];
    },
  });
}

/** Flatten every axis after the first (the batch axis) into one: [B, ...] → [B, prod(...)]. No parameters. */
export function Flatten(): Layer<{}, {}> {
  if (arguments.length > 0) throw new ArgumentError("nn.Flatten() takes no arguments (it is a layer factory: put nn.Flatten() in the model, then call model.apply)");
  const header = "Flatten()";
  return defineLayer<{}, {}, {}>({
    name: "Flatten",
    header,
    optionRules: {},
    init: () => ({ params: {}, state: {} }),
    forward(params, state, x) {
      expectShape(header, x.ndim >= 1, "[batch, ...]", x);
      return [np.reshape(x, [x.shape[0], sizeOf(x.shape.slice(1))]), state];
    },
  });
}
