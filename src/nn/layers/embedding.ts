// Embedding: a lookup table from integer ids to vectors, and its transpose
// `attend` (x · tableᵀ) for output layers that share the table.

import * as lax from "../../lax";
import * as np from "../../numpy";
import type { Tracer } from "../../core/trace";
import { DTypeError } from "../../core/errors";
import { checkOptions, opt } from "../../core/options";
import { normal, type Initializer } from "../initializers";
import { defineLayer, expectShape, layerInput, positiveInt, type Layer } from "./layer";

export interface EmbeddingOptions {
  /** Initializer of the [numEmbeddings, dim] table (default normal({ stddev: 1 }), as PyTorch). */
  embeddingInit?: Initializer;
}

export interface EmbeddingParams {
  table: Tracer;
}

/** An Embedding layer: apply(params, ids) maps int32 ids of any shape to [...ids.shape, dim]; `attend(params, x)` gives x · tableᵀ. */
export interface EmbeddingLayer extends Layer<EmbeddingParams, {}> {
  /** Logits against every embedding: x [..., dim] → [..., numEmbeddings] (weight tying). */
  attend(params: EmbeddingParams, x: Tracer): Tracer;
}

/**
 * Embedding(numEmbeddings, dim): params { table: [numEmbeddings, dim] }; the
 * input is an int32 (or uint32) array of ids in [0, numEmbeddings). An id out
 * of range gives NaN rows (JAX's gather "fill" mode), never a wrong row.
 */
export function Embedding(numEmbeddings: number, dim: number, opts: EmbeddingOptions = {}): EmbeddingLayer {
  const where = "nn.Embedding";
  checkOptions(where, opts, { embeddingInit: opt.function });
  positiveInt(where, "numEmbeddings", numEmbeddings);
  positiveInt(where, "dim", dim);
  const init = opts.embeddingInit ?? normal({ stddev: 1 });
  const header = `Embedding(${numEmbeddings}, ${dim})`;
  const layer = defineLayer<EmbeddingParams, {}, {}>({
    name: "Embedding",
    header,
    optionRules: {},
    init: (key) => ({ params: { table: init(key, [numEmbeddings, dim]) }, state: {} }),
    forward(params, state, ids) {
      if (ids.dtype !== "int32" && ids.dtype !== "uint32") {
        throw new DTypeError(`${header} expects integer ids (int32), got ${ids.aval.str()}; build them with { dtype: "int32" } or .astype("int32")`);
      }
      return [np.take(params.table, ids, 0), state];
    },
  });
  return Object.assign(layer, {
    attend(params: EmbeddingParams, x: Tracer): Tracer {
      const t = layerInput(`${header}.attend`, x);
      expectShape(`${header}.attend`, t.ndim >= 1 && t.shape[t.ndim - 1] === dim, `[..., ${dim}]`, t);
      return lax.dotGeneral(t, params.table, [[[t.ndim - 1], [1]], [[], []]]);
    },
  });
}
