// tinyflow/eager's layers (PyTorch's torch.nn): a Module's tensor fields are
// its parameters; Linear, the activation layers and Sequential.

import type { Array as TfArray } from "../../core/array";
import { checkOptions, opt, type OptionRules } from "../../core/options";
import * as random from "../../random";
import { nextKey } from "./creation";
import { functional } from "./functional";
import { Tensor } from "./tensor";

// --- layers -------------------------------------------------------------------------------------------

/** A layer: its tensor-valued fields (and sub-modules') are its parameters. */
export abstract class Module {
  abstract forward(x: Tensor): Tensor;
  call(x: Tensor): Tensor {
    return this.forward(x);
  }
  parameters(): Tensor[] {
    const out: Tensor[] = [];
    const visit = (v: unknown) => {
      if (v instanceof Tensor) {
        if (v.requiresGrad && !out.includes(v)) out.push(v);
      } else if (v instanceof Module) for (const x of Object.values(v)) visit(x);
      else if (Array.isArray(v)) v.forEach(visit);
    };
    for (const x of Object.values(this)) visit(x);
    return out;
  }
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }
}

export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
}
const linearRules: OptionRules<LinearOptions> = { bias: opt.boolean };

/** y = x Wᵀ + b with PyTorch's initialization U(-1/√in, 1/√in). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    checkOptions("Linear", opts, linearRules);
    const bound = 1 / Math.sqrt(inFeatures);
    const init = (shape: number[]) => new Tensor(random.uniform(nextKey(), shape, { minval: -bound, maxval: bound }) as TfArray, { requiresGrad: true });
    this.weight = init([outFeatures, inFeatures]);
    this.bias = opts.bias === false ? null : init([outFeatures]);
  }
  forward(x: Tensor): Tensor {
    const y = x.matmul(this.weight.T);
    return this.bias === null ? y : y.add(this.bias);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
}

export const nn = { Module, Linear, ReLU, Tanh, Sigmoid, Sequential, functional };
