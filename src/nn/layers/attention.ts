// MultiHeadAttention: query/key/value projections, scaled dot-product
// attention per head (self or cross, causal, with boolean masks and key
// padding masks), dropout on the attention weights in train mode, and the
// output projection. The attention core is written here rather than through
// nn.dotProductAttention because dropout acts on the softmax weights.

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError, DTypeError } from "../../core/errors";
import { checkOptions, opt, type OptionRule, type OptionRules } from "../../core/options";
import { softmax } from "../functions";
import { Linear, type LinearParams } from "./dense";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

export interface MultiHeadAttentionOptions {
  /** Dropout rate on the attention weights in train mode (default 0). */
  dropout?: number;
  /** Biases in the four projections (default true). */
  bias?: boolean;
}

/** Apply options of MultiHeadAttention. */
export interface AttentionApplyOptions {
  /** Keys and values come from here ([batch, keyLen, dModel]) instead of x: cross-attention. */
  context?: Tracer;
  /** Query t attends keys s <= t only. */
  isCausal?: boolean;
  /** Boolean, true = attend; broadcastable to [batch, numHeads, queryLen, keyLen] (e.g. [queryLen, keyLen]). */
  mask?: Tracer;
  /** Boolean [batch, keyLen], true = a real key, false = padding that no query attends. */
  keyPaddingMask?: Tracer;
}

export interface MultiHeadAttentionParams {
  query: LinearParams;
  key: LinearParams;
  value: LinearParams;
  out: LinearParams;
}

const arrayRule: OptionRule = { expected: "an array", accepts: (v) => isTracer(v) };
const applyRules: OptionRules<AttentionApplyOptions> = { context: arrayRule, isCausal: opt.boolean, mask: arrayRule, keyPaddingMask: arrayRule };

/** The logit given to masked pairs: very negative but finite, so fully masked rows stay finite (as nn.dotProductAttention). */
const MASKED_LOGIT = -0.7 * 3.4028234663852886e38;

/**
 * Multi-head attention over x [batch, seq, dModel] (or [seq, dModel], e.g.
 * under vmap): numHeads heads of size dModel / numHeads. Params are four
 * Linear(dModel→dModel) projections { query, key, value, out }.
 */
export function MultiHeadAttention(dModel: number, numHeads: number, opts: MultiHeadAttentionOptions = {}): Layer<MultiHeadAttentionParams, {}, AttentionApplyOptions> {
  const where = "nn.MultiHeadAttention";
  checkOptions(where, opts, { dropout: opt.nonNegative, bias: opt.boolean });
  positiveInt(where, "dModel", dModel);
  positiveInt(where, "numHeads", numHeads);
  if (dModel % numHeads !== 0) throw new ArgumentError(`${where}: dModel=${dModel} must be a multiple of numHeads=${numHeads}`);
  const rate = opts.dropout ?? 0;
  if (rate >= 1) throw new ArgumentError(`${where}: dropout must be in [0, 1), got ${rate}`);
  const useBias = opts.bias ?? true;
  const headDim = dModel / numHeads;
  const proj = () => Linear(dModel, dModel, { bias: useBias });
  const projections = { query: proj(), key: proj(), value: proj(), out: proj() };
  const names = ["query", "key", "value", "out"] as const;
  const header = `MultiHeadAttention(dModel=${dModel}, heads=${numHeads}${rate > 0 ? `, dropout=${rate}` : ""}${useBias ? "" : ", bias=false"})`;

  const checkMask = (name: string, m: Tracer, full: number[]): Tracer => {
    if (m.dtype !== "bool") throw new DTypeError(`${header}: ${name} must be boolean (true = attend), got ${m.aval.str()}`);
    let ok = m.ndim <= 4;
    if (ok) ok = m.shape.every((d, i) => d === 1 || d === full[i + 4 - m.ndim]);
    if (!ok) throw new ArgumentError(`${header}: ${name} ${m.aval.str()} does not broadcast to [batch, heads, queryLen, keyLen] = [${full.join(", ")}]`);
    return np.broadcastTo(m, full);
  };

  return defineLayer<MultiHeadAttentionParams, {}, AttentionApplyOptions>({
    name: "MultiHeadAttention",
    header,
    optionRules: applyRules,
    children: names.map((n) => [n, projections[n]] as const),
    init(key) {
      const keys = random.split(key, 4);
      const params = Object.fromEntries(names.map((n, i) => [n, projections[n].init(keys.slice(i)).params])) as unknown as MultiHeadAttentionParams;
      return { params, state: {} };
    },
    forward(params, state, x, { context, isCausal, mask, keyPaddingMask, train, key }) {
      expectShape(header, (x.ndim === 3 || x.ndim === 2) && x.shape[x.ndim - 1] === dModel, `[batch, seq, ${dModel}]`, x);
      const unbatched = x.ndim === 2;
      const q3 = unbatched ? np.expandDims(x, 0) : x;
      let kv = q3;
      if (context !== undefined) {
        expectShape(header, context.ndim === x.ndim && context.shape[context.ndim - 1] === dModel && (unbatched || context.shape[0] === x.shape[0]),
          unbatched ? `[keyLen, ${dModel}]` : `[${x.shape[0]}, keyLen, ${dModel}]`, context, "context");
        kv = unbatched ? np.expandDims(context, 0) : context;
      }
      const [B, T] = q3.shape;
      const S = kv.shape[1];
      const heads = (t: Tracer, len: number) => np.reshape(t, [B, len, numHeads, headDim]);
      const q = heads(projections.query.apply(params.query, q3), T);
      const k = heads(projections.key.apply(params.key, kv), S);
      const v = heads(projections.value.apply(params.value, kv), S);
      // logits[b, n, t, s] = Σ_h q[b, t, n, h] k[b, s, n, h] / sqrt(headDim)
      let logits = np.multiply(lax.dotGeneral(q, k, [[[3], [3]], [[0, 2], [0, 2]]]), 1 / Math.sqrt(headDim));
      const full = [B, numHeads, T, S];
      let keep: Tracer | null = mask === undefined ? null : checkMask("mask", mask, full);
      if (keyPaddingMask !== undefined) {
        if (keyPaddingMask.dtype !== "bool") throw new DTypeError(`${header}: keyPaddingMask must be boolean (true = keep), got ${keyPaddingMask.aval.str()}`);
        const kpm = unbatched && keyPaddingMask.ndim === 1 ? np.expandDims(keyPaddingMask, 0) : keyPaddingMask;
        expectShape(header, kpm.ndim === 2 && kpm.shape[0] === B && kpm.shape[1] === S, `[${B}, ${S}]`, kpm, "keyPaddingMask");
        const padKeep = np.broadcastTo(np.reshape(kpm, [B, 1, 1, S]), full);
        keep = keep === null ? padKeep : np.logicalAnd(keep, padKeep);
      }
      if (isCausal) {
        const causal = np.broadcastTo(np.greaterEqual(lax.broadcastedIota("int32", [T, S], 0), lax.broadcastedIota("int32", [T, S], 1)), full);
        keep = keep === null ? causal : np.logicalAnd(keep, causal);
      }
      if (keep !== null) logits = np.where(keep, logits, np.fullLike(logits, MASKED_LOGIT));
      let weights = softmax(logits, -1);
      if (train && rate > 0) {
        if (key === undefined) throw new ArgumentError(`${header}: train mode with dropout=${rate} needs a PRNG key: apply(params, x, { train: true, key })`);
        weights = np.where(random.bernoulli(key, 1 - rate, weights.shape), np.divide(weights, 1 - rate), np.zerosLike(weights));
      }
      // out[b, t, n, h] = Σ_s weights[b, n, t, s] v[b, s, n, h]
      const attended = np.transpose(lax.dotGeneral(weights, v, [[[3], [1]], [[0, 1], [0, 2]]]), [0, 2, 1, 3]);
      const y = projections.out.apply(params.out, np.reshape(attended, [B, T, dModel]));
      return [unbatched ? np.squeeze(y, 0) : y, state];
    },
  });
}

