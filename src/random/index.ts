// tinyflow.random: JAX's threefry PRNG with explicit keys. Keys are plain
// uint32 arrays of shape [2]; every sampler is a pure function of its key, so
// `jit`, `vmap` (over a stack of keys from `split`) and `grad` compose with it.

import "../setup";

export {
  key, PRNGKey, split, foldIn, randomBits, bits, keyData, threefry2x32,
  setThreefryPartitionable, isThreefryPartitionable, withThreefryPartitionable,
  type PRNGKey as KeyArray,
} from "./prng";
export {
  uniform,
  normal,
  bernoulli,
  gumbel,
  exponential,
  categorical,
  randint,
  permutation,
  choice,
  truncatedNormal,
  rademacher,
  type UniformOptions,
  type CategoricalOptions,
  type ChoiceOptions,
} from "./distributions";
export {
  cauchy,
  laplace,
  logistic,
  lognormal,
  rayleigh,
  pareto,
  weibullMin,
  geometric,
  triangular,
  maxwell,
  multivariateNormal,
  gamma,
  beta,
  chisquare,
  t,
  dirichlet,
  ball,
  type MultivariateNormalOptions,
  type DTypeOption,
} from "./derived_distributions";
