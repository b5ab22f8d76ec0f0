// Distributions built by transforming uniform, normal and gamma draws, with
// jax.random's parameterizations and (where JAX samples by a closed-form
// transform of one uniform or normal draw) JAX's transform, so the same key
// gives JAX's values: cauchy, laplace, logistic, lognormal, rayleigh, pareto,
// weibullMin, geometric, triangular, maxwell, multivariateNormal. The gamma
// family (gamma, beta, chisquare, t, dirichlet, and ball, whose generalized
// normal draws are gammas) uses Marsaglia & Tsang's rejection method run for
// all elements at once — the same distribution as JAX's, not its stream.
// Every sampler is a pure function of its key, so vmap over split keys works.

import * as lax from "../lax";
import * as np from "../numpy";
import { isFloat, type DType } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError } from "../core/errors";
import { checkOptions, opt } from "../core/options";
import { isTracer, type ArrayLike, type Tracer } from "../core/trace";
import { whileLoop } from "../../transforms/control_flow/api";
import { checkKey, checkShapeArg, split } from "./prng";
import { exponential, normal, uniform } from "./distributions";
import { cholesky, eigh, svd } from "../numpy/decompositions";

const FLOAT32_EPS = 2 ** -23;
const FLOAT32_TINY = 1.1754943508222875e-38;

/** The options of the samplers that only take a floating dtype. */
export interface DTypeOption {
  dtype?: DType;
}
const dtypeRules = { dtype: opt.dtype };

function floatDType(where: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (!isFloat(d)) throw new DTypeError(`random.${where}: dtype must be a floating dtype (float32 or float16), got ${String(d)}`);
  return d;
}

function cast(x: Tracer, dtype: DType): Tracer {
  return x.dtype === dtype ? x : np.astype(x, dtype);
}

/** A number or array parameter as a float32 array. */
function param(where: string, name: string, x: unknown): Tracer {
  if (typeof x === "number") return np.asarray(x, { dtype: "float32" });
  if (isTracer(x)) return isFloat(x.dtype) ? x : np.astype(x, "float32");
  throw new ArgumentError(`random.${where}: ${name} must be a number or an array, got ${typeof x}`);
}

/** The sample shape: the given one (which the parameters must broadcast to), else the parameters' broadcast shape. */
function sampleShape(where: string, shape: number | readonly number[] | undefined, ...params: Tracer[]): number[] {
  const pshape = np.broadcastShapes(...params.map((p) => p.shape));
  if (shape === undefined) return pshape;
  const s = checkShapeArg(where, shape);
  const joint = np.broadcastShapes(s, pshape);
  if (joint.length !== s.length || joint.some((d, i) => d !== s[i])) {
    throw new ShapeError(`random.${where}: parameters of shape [${pshape.join(",")}] do not broadcast to the requested shape [${s.join(",")}]`);
  }
  return s;
}

function keyPair(key: Tracer): [Tracer, Tracer] {
  const ks = split(key);
  return [np.index(ks, [0]), np.index(ks, [1])];
}

/** Standard Cauchy samples: tan(π (u - 1/2)) with u uniform in [eps, 1). */
export function cauchy(key: ArrayLike, shape: number | readonly number[] = [], opts: DTypeOption = {}): Tracer {
  checkOptions("random.cauchy", opts, dtypeRules);
  const dtype = floatDType("cauchy", opts.dtype);
  const u = uniform(checkKey("cauchy", key), checkShapeArg("cauchy", shape), { minval: FLOAT32_EPS });
  return cast(np.tan(np.multiply(Math.PI, np.subtract(u, 0.5))), dtype);
}

/** Standard Laplace samples: sign(u) · log1p(-|u|) with u uniform in (-1, 1). */
export function laplace(key: ArrayLike, shape: number | readonly number[] = [], opts: DTypeOption = {}): Tracer {
  checkOptions("random.laplace", opts, dtypeRules);
  const dtype = floatDType("laplace", opts.dtype);
  const u = uniform(checkKey("laplace", key), checkShapeArg("laplace", shape), { minval: -1 + FLOAT32_EPS / 2, maxval: 1 });
  return cast(np.multiply(np.sign(u), np.log1p(np.negative(np.abs(u)))), dtype);
}

/** Standard logistic samples: log(u / (1 - u)) with u uniform in [tiny, 1). */
export function logistic(key: ArrayLike, shape: number | readonly number[] = [], opts: DTypeOption = {}): Tracer {
  checkOptions("random.logistic", opts, dtypeRules);
  const dtype = floatDType("logistic", opts.dtype);
  const u = uniform(checkKey("logistic", key), checkShapeArg("logistic", shape), { minval: FLOAT32_TINY });
  return cast(np.log(np.divide(u, np.subtract(1, u))), dtype);
}

/** Log-normal samples exp(sigma · z), z standard normal. */
export function lognormal(key: ArrayLike, sigma: ArrayLike = 1, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.lognormal", opts, dtypeRules);
  const dtype = floatDType("lognormal", opts.dtype);
  const s = param("lognormal", "sigma", sigma);
  const out = sampleShape("lognormal", shape, s);
  return cast(np.exp(np.multiply(normal(checkKey("lognormal", key), out), s)), dtype);
}

/** Rayleigh samples scale · sqrt(-2 log u). */
export function rayleigh(key: ArrayLike, scale: ArrayLike = 1, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.rayleigh", opts, dtypeRules);
  const dtype = floatDType("rayleigh", opts.dtype);
  const sc = param("rayleigh", "scale", scale);
  const out = sampleShape("rayleigh", shape, sc);
  const u = uniform(checkKey("rayleigh", key), out);
  return cast(np.multiply(sc, np.sqrt(np.multiply(-2, np.log(u)))), dtype);
}

/** Pareto samples exp(e / b) (support [1, ∞)), e standard exponential. */
export function pareto(key: ArrayLike, b: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.pareto", opts, dtypeRules);
  const dtype = floatDType("pareto", opts.dtype);
  const bt = param("pareto", "b", b);
  const out = sampleShape("pareto", shape, bt);
  return cast(np.exp(np.divide(exponential(checkKey("pareto", key), out), bt)), dtype);
}

/** Weibull samples scale · (-log1p(-u))^(1/concentration). */
export function weibullMin(key: ArrayLike, scale: ArrayLike, concentration: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.weibullMin", opts, dtypeRules);
  const dtype = floatDType("weibullMin", opts.dtype);
  const sc = param("weibullMin", "scale", scale);
  const k = param("weibullMin", "concentration", concentration);
  const out = sampleShape("weibullMin", shape, sc, k);
  const u = uniform(checkKey("weibullMin", key), out);
  return cast(np.multiply(np.power(np.negative(np.log1p(np.negative(u))), np.reciprocal(k)), sc), dtype);
}

/** The number of Bernoulli(p) trials up to and including the first success (int32, >= 1): floor(log u / log1p(-p)) + 1. */
export function geometric(key: ArrayLike, p: ArrayLike, shape?: number | readonly number[], opts: { dtype?: DType } = {}): Tracer {
  checkOptions("random.geometric", opts, dtypeRules);
  const dtype = opts.dtype ?? "int32";
  if (dtype !== "int32") throw new DTypeError(`random.geometric: dtype must be int32, got ${String(dtype)}`);
  const pt = param("geometric", "p", p);
  const out = sampleShape("geometric", shape, pt);
  const u = uniform(checkKey("geometric", key), out);
  return np.astype(np.add(np.floor(np.divide(np.log(u), np.log1p(np.negative(pt)))), 1), "int32");
}

/** Triangular samples on [left, right] with peak at mode, by the inverse CDF. */
export function triangular(key: ArrayLike, left: ArrayLike, mode: ArrayLike, right: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.triangular", opts, dtypeRules);
  const dtype = floatDType("triangular", opts.dtype);
  const l = param("triangular", "left", left);
  const m = param("triangular", "mode", mode);
  const r = param("triangular", "right", right);
  const out = sampleShape("triangular", shape, l, m, r);
  const width = np.subtract(r, l);
  const fc = np.divide(np.subtract(m, l), width);
  const u = uniform(checkKey("triangular", key), out);
  const low = np.add(l, np.sqrt(np.multiply(np.multiply(u, width), np.subtract(m, l))));
  const high = np.subtract(r, np.sqrt(np.multiply(np.multiply(np.subtract(1, u), width), np.subtract(r, m))));
  return cast(np.where(np.less(u, fc), low, high), dtype);
}

/** Maxwell samples: the length of a standard normal 3-vector. */
export function maxwell(key: ArrayLike, shape: number | readonly number[] = [], opts: DTypeOption = {}): Tracer {
  checkOptions("random.maxwell", opts, dtypeRules);
  const dtype = floatDType("maxwell", opts.dtype);
  const z = normal(checkKey("maxwell", key), [...checkShapeArg("maxwell", shape), 3]);
  return cast(np.sqrt(np.sum(np.square(z), -1)), dtype);
}

export interface MultivariateNormalOptions {
  /** How cov is factored: "cholesky" (default), "eigh" or "svd" (the last two accept singular covariances). */
  method?: "cholesky" | "eigh" | "svd";
  dtype?: DType;
}

/** Samples mean + F z with F Fᵀ = cov and z standard normal; shape defaults to the batch shape of mean and cov. */
export function multivariateNormal(key: ArrayLike, mean: ArrayLike, cov: ArrayLike, shape?: readonly number[], opts: MultivariateNormalOptions = {}): Tracer {
  const where = "random.multivariateNormal";
  checkOptions(where, opts, { method: opt.oneOf("cholesky", "eigh", "svd"), dtype: opt.dtype });
  const dtype = floatDType("multivariateNormal", opts.dtype);
  const mu = param("multivariateNormal", "mean", mean);
  const sigma = param("multivariateNormal", "cov", cov);
  if (mu.ndim < 1) throw new ShapeError(`${where}: mean must have at least one dimension, got ${mu.aval.str()}`);
  const n = mu.shape[mu.ndim - 1];
  if (sigma.ndim < 2 || sigma.shape[sigma.ndim - 1] !== n || sigma.shape[sigma.ndim - 2] !== n) {
    throw new ShapeError(`${where}: cov must be [..., ${n}, ${n}] to match mean ${mu.aval.str()}, got ${sigma.aval.str()}`);
  }
  const batch = np.broadcastShapes(mu.shape.slice(0, -1), sigma.shape.slice(0, -2));
  const out = shape === undefined ? batch : checkShapeArg("multivariateNormal", shape);
  if (shape !== undefined) sampleShape("multivariateNormal", out, np.zeros(batch));
  const method = opts.method ?? "cholesky";
  let factor: Tracer;
  if (method === "cholesky") factor = cholesky(sigma);
  else if (method === "eigh") {
    const [v, w] = eigh(sigma);
    factor = np.multiply(v, np.expandDims(np.sqrt(np.maximum(w, 0)), -2));
  } else {
    const [u, s] = svd(sigma, { fullMatrices: false });
    factor = np.multiply(u, np.expandDims(np.sqrt(s), -2));
  }
  const z = normal(checkKey("multivariateNormal", key), [...out, n]);
  return cast(np.add(mu, np.squeeze(np.matmul(factor, np.expandDims(z, -1)), -1)), dtype);
}

// --- the gamma family ----------------------------------------------------------------

const MAX_GAMMA_ROUNDS = 64;

/**
 * Gamma(alpha, 1) samples by Marsaglia & Tsang's method, every element at
 * once: each round draws a normal and a uniform per still-rejected element
 * and accepts where u < 1 - 0.0331 x⁴ or log u < x²/2 + d (1 - v + log v);
 * alpha < 1 is boosted to alpha + 1 and scaled by u^(1/alpha). The
 * acceptance rate is above 95%, so 64 rounds leave no element unaccepted in
 * practice; an element still rejected then is NaN.
 */
function gammaStandard(key: Tracer, alpha: Tracer, shape: number[]): Tracer {
  const a = np.broadcastTo(alpha, shape);
  const boosted = np.where(np.greaterEqual(a, 1), a, np.add(a, 1));
  const d = np.subtract(boosted, 1 / 3);
  const c = np.divide(1 / 3, np.sqrt(d));
  const [loopKey, boostKey] = keyPair(key);
  const init = [np.asarray(0, { dtype: "int32" }), loopKey, np.full(shape, NaN), np.zeros(shape, { dtype: "bool" })];
  const [, , sample] = whileLoop(
    ([round, , , done]: Tracer[]) => np.logicalAnd(np.less(round, MAX_GAMMA_ROUNDS), np.logicalNot(np.all(done))),
    ([round, k, sample, done]: Tracer[]) => {
      const ks = split(k, 3);
      const x = normal(np.index(ks, [1]), shape);
      const u = uniform(np.index(ks, [2]), shape);
      const v = np.power(np.add(1, np.multiply(c, x)), 3);
      const x2 = np.square(x);
      const positive = np.greater(v, 0);
      const safeV = np.where(positive, v, 1);
      const squeeze = np.less(u, np.subtract(1, np.multiply(0.0331, np.square(x2))));
      const logTest = np.less(np.log(u), np.add(np.multiply(0.5, x2), np.multiply(d, np.add(np.subtract(1, safeV), np.log(safeV)))));
      const accept = np.logicalAnd(positive, np.logicalOr(squeeze, logTest));
      const fresh = np.logicalAnd(accept, np.logicalNot(done));
      return [np.add(round, 1), np.index(ks, [0]), np.where(fresh, np.multiply(d, safeV), sample), np.logicalOr(done, accept)];
    },
    init,
  ) as Tracer[];
  const boost = np.power(uniform(boostKey, shape, { minval: FLOAT32_TINY }), np.reciprocal(a));
  return np.where(np.greaterEqual(a, 1), sample, np.multiply(sample, boost));
}

/** Gamma(a, 1) samples (mean a); scale them for other rates. */
export function gamma(key: ArrayLike, a: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.gamma", opts, dtypeRules);
  const dtype = floatDType("gamma", opts.dtype);
  const at = lax.stopGradient(param("gamma", "a", a));
  const out = sampleShape("gamma", shape, at);
  return cast(gammaStandard(checkKey("gamma", key), at, out), dtype);
}

/** Beta(a, b) samples as Ga / (Ga + Gb). */
export function beta(key: ArrayLike, a: ArrayLike, b: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.beta", opts, dtypeRules);
  const dtype = floatDType("beta", opts.dtype);
  const at = lax.stopGradient(param("beta", "a", a));
  const bt = lax.stopGradient(param("beta", "b", b));
  const out = sampleShape("beta", shape, at, bt);
  const [ka, kb] = keyPair(checkKey("beta", key));
  const ga = gammaStandard(ka, at, out);
  const gb = gammaStandard(kb, bt, out);
  return cast(np.divide(ga, np.add(ga, gb)), dtype);
}

/** Chi-square samples with df degrees of freedom: 2 · Gamma(df / 2). */
export function chisquare(key: ArrayLike, df: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.chisquare", opts, dtypeRules);
  const dtype = floatDType("chisquare", opts.dtype);
  const d = lax.stopGradient(param("chisquare", "df", df));
  const out = sampleShape("chisquare", shape, d);
  return cast(np.multiply(2, gammaStandard(checkKey("chisquare", key), np.divide(d, 2), out)), dtype);
}

/** Student's t samples: z / sqrt(chi²(df) / df). */
export function t(key: ArrayLike, df: ArrayLike, shape?: number | readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.t", opts, dtypeRules);
  const dtype = floatDType("t", opts.dtype);
  const d = lax.stopGradient(param("t", "df", df));
  const out = sampleShape("t", shape, d);
  const [kn, kg] = keyPair(checkKey("t", key));
  const chi2 = np.multiply(2, gammaStandard(kg, np.divide(d, 2), out));
  return cast(np.divide(normal(kn, out), np.sqrt(np.divide(chi2, d))), dtype);
}

/** Dirichlet(alpha) samples over the last axis of alpha: normalized Gamma(alpha_i) draws. */
export function dirichlet(key: ArrayLike, alpha: ArrayLike, shape?: readonly number[], opts: DTypeOption = {}): Tracer {
  checkOptions("random.dirichlet", opts, dtypeRules);
  const dtype = floatDType("dirichlet", opts.dtype);
  const al = lax.stopGradient(param("dirichlet", "alpha", alpha));
  if (al.ndim < 1) throw new ShapeError(`random.dirichlet: alpha must have at least one dimension (the categories), got ${al.aval.str()}`);
  const k = al.shape[al.ndim - 1];
  const batch = sampleShape("dirichlet", shape, np.zeros(al.shape.slice(0, -1)));
  const g = gammaStandard(checkKey("dirichlet", key), al, [...batch, k]);
  return cast(np.divide(g, np.sum(g, -1, { keepdims: true })), dtype);
}

/**
 * Points uniform in the d-dimensional unit p-ball (shape [...shape, d]):
 * generalized-normal draws g (a random sign times Gamma(1/p)^(1/p)) over
 * (Σ|g|^p + e)^(1/p), e standard exponential (Barthe et al.).
 */
export function ball(key: ArrayLike, d: number, opts: { p?: number; shape?: readonly number[]; dtype?: DType } = {}): Tracer {
  checkOptions("random.ball", opts, { p: opt.number, shape: opt.integers, dtype: opt.dtype });
  const dtype = floatDType("ball", opts.dtype);
  if (!Number.isInteger(d) || d < 1) throw new ArgumentError(`random.ball: d must be a positive integer dimension, got ${d}`);
  const p = opts.p ?? 2;
  if (!(p > 0)) throw new ArgumentError(`random.ball: p must be positive, got ${p}`);
  const shape = checkShapeArg("ball", opts.shape ?? []);
  const ks = split(checkKey("ball", key), 3);
  const gShape = [...shape, d];
  const magnitude = np.power(gammaStandard(np.index(ks, [0]), np.asarray(1 / p, { dtype: "float32" }), gShape), 1 / p);
  const sign = np.subtract(np.multiply(np.astype(np.less(uniform(np.index(ks, [1]), gShape), 0.5), "float32"), 2), 1);
  const g = np.multiply(sign, magnitude);
  const e = exponential(np.index(ks, [2]), shape);
  const radius = np.power(np.add(np.sum(np.power(np.abs(g), p), -1), e), 1 / p);
  return cast(np.divide(g, np.expandDims(radius, -1)), dtype);
}
