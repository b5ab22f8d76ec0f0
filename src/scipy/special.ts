// jax.scipy.special's everyday functions as compositions of elementwise ops
// (ints promoted to float32, gradients from the composition): erf, erfc
// (a Chebyshev-fitted formula with relative error below 1.2e-7, so large
// arguments keep their tiny tails instead of 1 - erf(x) rounding to 0), erfinv,
// logit, expit, xlogy, xlog1py, entr, gammaln (Lanczos, with the reflection
// formula below 1/2), digamma (recurrence up to 6 then the asymptotic series),
// logsumexp.

import * as np from "../numpy";
import { promoteArgs } from "../numpy/promote";
import type { DTypeWithWeak } from "../core/dtype";
import type { ArrayLike, Tracer } from "../core/trace";

/** Ints and bools compute in float32, as jax.scipy.special promotes them. */
const toInexact = (d: DTypeWithWeak): DTypeWithWeak => (d.dtype === "float16" || d.dtype === "float32" ? d : { dtype: "float32", weakType: d.weakType });

function inexact(where: string, x: ArrayLike): Tracer {
  return promoteArgs(where, [x], { toDType: toInexact }).args[0];
}

export const erf = np.erf;
export const erfinv = np.erfinv;
export const logsumexp = np.logsumexp;

// Numerical Recipes' erfcc coefficients (Chebyshev fit of erfc(z)·exp(z²) in t = 1/(1 + z/2)).
const ERFC_COEFFS = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/** The complementary error function 1 - erf(x), accurate in the tails. */
export function erfc(x: ArrayLike): Tracer {
  const t0 = inexact("erfc", x);
  const z = np.abs(t0);
  const t = np.divide(1, np.add(1, np.multiply(0.5, z)));
  // Horner: c0 + t(c1 + t(c2 + ...)).
  let horner: Tracer = np.multiply(t, 0);
  for (let i = ERFC_COEFFS.length - 1; i >= 0; i--) horner = np.add(ERFC_COEFFS[i], np.multiply(t, horner));
  const ans = np.multiply(t, np.exp(np.add(np.negative(np.square(z)), horner)));
  return np.where(np.less(t0, 0), np.subtract(2, ans), ans);
}

/** log(p / (1 - p)). */
export function logit(p: ArrayLike): Tracer {
  const t = inexact("logit", p);
  return np.log(np.divide(t, np.subtract(1, t)));
}

/** The logistic sigmoid 1 / (1 + exp(-x)). */
export function expit(x: ArrayLike): Tracer {
  const t = inexact("expit", x);
  return np.divide(1, np.add(1, np.exp(np.negative(t))));
}

/** x · log(y), 0 where x = 0 (even for y = 0). */
export function xlogy(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("xlogy", [x, y], { toDType: toInexact }).args;
  const zero = np.equal(a, 0);
  return np.where(zero, 0, np.multiply(a, np.log(np.where(zero, 1, b))));
}

/** x · log1p(y), 0 where x = 0. */
export function xlog1py(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("xlog1py", [x, y], { toDType: toInexact }).args;
  const zero = np.equal(a, 0);
  return np.where(zero, 0, np.multiply(a, np.log1p(np.where(zero, 0, b))));
}

/** The elementwise entropy term -x log x (0 at 0, -inf below 0). */
export function entr(x: ArrayLike): Tracer {
  const t = inexact("entr", x);
  return np.where(np.less(t, 0), -Infinity, np.negative(xlogy(t, t)));
}

// Lanczos coefficients for g = 7, n = 9.
const LANCZOS_G = 7;
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

function lgammaPositive(x: Tracer): Tracer {
  // ln Γ(x) for x >= 1/2: Γ(x) = √(2π) t^(x-1/2) e^(-t) A(x-1), t = x - 1 + g + 1/2.
  const xm1 = np.subtract(x, 1);
  let a: Tracer = np.add(np.multiply(xm1, 0), LANCZOS[0]);
  for (let i = 1; i < LANCZOS.length; i++) a = np.add(a, np.divide(LANCZOS[i], np.add(xm1, i)));
  const t = np.add(xm1, LANCZOS_G + 0.5);
  return np.add(np.add(0.5 * Math.log(2 * Math.PI), np.multiply(np.add(xm1, 0.5), np.log(t))), np.subtract(np.log(a), t));
}

/** ln |Γ(x)|. */
export function gammaln(x: ArrayLike): Tracer {
  const t = inexact("gammaln", x);
  const reflect = np.less(t, 0.5);
  const safe = np.where(reflect, np.subtract(1, t), t);
  const direct = lgammaPositive(safe);
  // Γ(x) Γ(1 - x) = π / sin(πx)
  const reflected = np.subtract(np.log(np.divide(Math.PI, np.abs(np.sin(np.multiply(Math.PI, t))))), direct);
  return np.where(reflect, reflected, direct);
}

/** The digamma function ψ(x) = d/dx ln Γ(x). */
export function digamma(x: ArrayLike): Tracer {
  const t = inexact("digamma", x);
  const reflect = np.lessEqual(t, 0);
  const y = np.where(reflect, np.subtract(1, t), t);
  // ψ(y) = ψ(y + 6) - Σ_{k<6} 1/(y + k), and the asymptotic series at y + 6.
  let shift: Tracer = np.multiply(y, 0);
  for (let k = 0; k < 6; k++) shift = np.add(shift, np.divide(1, np.add(y, k)));
  const z = np.add(y, 6);
  const inv2 = np.divide(1, np.square(z));
  const series = np.subtract(
    np.subtract(np.log(z), np.divide(0.5, z)),
    np.multiply(inv2, np.subtract(1 / 12, np.multiply(inv2, np.subtract(1 / 120, np.multiply(inv2, 1 / 252))))),
  );
  const direct = np.subtract(series, shift);
  // ψ(1 - x) - ψ(x) = π / tan(πx)
  return np.where(reflect, np.subtract(direct, np.divide(Math.PI, np.tan(np.multiply(Math.PI, t)))), direct);
}
