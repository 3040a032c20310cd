/**
 * Standard normal functions that stay accurate in the far tails, where expected improvement and
 * probabilities of feasibility underflow: erfc, the scaled erfcx(x) = exp(x^2) erfc(x), log Phi,
 * and the stable log of h(z) = phi(z) + z Phi(z) from Ament et al. (2023), "Unexpected
 * Improvements to Expected Improvement for Bayesian Optimization".
 */

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const LOG_SQRT_PI_OVER_2 = 0.5 * Math.log(Math.PI / 2);
/** Below -1/sqrt(machine epsilon) the asymptotic form of log h is exact in double precision. */
const LOG_H_ASYMPTOTIC = -1 / Math.sqrt(Number.EPSILON);

/**
 * erf(x) for |x| < 2.5 from the all-positive series
 * erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1)), which has no cancellation.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/**
 * erfcx(x) = exp(x^2) erfc(x) for x >= 2.5 by the Laplace continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards.
 */
function erfcxContinuedFraction(x: number): number {
  const terms = x < 4 ? 120 : x < 10 ? 60 : 20;
  let f = x;
  for (let k = terms; k >= 1; k--) f = x + k / 2 / f;
  return 1 / (SQRT_PI * f);
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  if (x > 27.3) return 0;
  return Math.exp(-x * x) * erfcxContinuedFraction(x);
}

/** Scaled complementary error function exp(x^2) erfc(x), finite for large positive x. */
export function erfcx(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) {
    // erfcx(-y) = 2 exp(y^2) - erfcx(y); overflows to Infinity only where the true value does.
    return 2 * Math.exp(x * x) - erfcx(-x);
  }
  if (x < 2.5) return Math.exp(x * x) * (1 - erfSeries(x));
  if (x > 1e8) return 1 / (SQRT_PI * x);
  return erfcxContinuedFraction(x);
}

/** Standard normal cumulative distribution. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

/** log Phi(z), accurate for very negative z (no underflow to -Infinity before z ~ -1e154). */
export function logNormalCdf(z: number): number {
  if (z > -1) {
    const upper = 0.5 * erfc(z / SQRT2);
    return Math.log1p(-upper);
  }
  return Math.log(0.5 * erfcx(-z / SQRT2)) - 0.5 * z * z;
}

/** log(1 - exp(x)) for x < 0, accurate at both ends (Maechler 2012). */
export function log1mexp(x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/**
 * log h(z) where h(z) = phi(z) + z Phi(z), so log EI = log h((best - mu)/sigma) + log sigma.
 * The three branches follow Ament et al. (2023): direct for z > -1, an erfcx form in the middle,
 * and the asymptotic -z^2/2 - log sqrt(2 pi) - 2 log|z| where even that form would lose digits.
 */
export function logH(z: number): number {
  if (z > -1) return Math.log(normalPdf(z) + z * normalCdf(z));
  if (z > LOG_H_ASYMPTOTIC) {
    const inner = Math.log(erfcx(-z / SQRT2) * -z) + LOG_SQRT_PI_OVER_2;
    return -0.5 * z * z - LOG_SQRT_2PI + log1mexp(inner);
  }
  return -0.5 * z * z - LOG_SQRT_2PI - 2 * Math.log(-z);
}

/** d/dz log h(z) = Phi(z) / h(z), computed in log space so it stays finite where both underflow. */
export function logHDerivative(z: number): number {
  if (z > -1) return normalCdf(z) / (normalPdf(z) + z * normalCdf(z));
  return Math.exp(logNormalCdf(z) - logH(z));
}

/** d/dz log Phi(z) = phi(z) / Phi(z) (the inverse Mills ratio), stable for very negative z. */
export function logNormalCdfDerivative(z: number): number {
  if (z > -1) return normalPdf(z) / normalCdf(z);
  // phi(z)/Phi(z) = sqrt(2/pi) / erfcx(-z/sqrt(2)).
  return Math.sqrt(2 / Math.PI) / erfcx(-z / SQRT2);
}

/** Quantile of the standard normal (probit), by Newton steps on log Phi from a tail-aware start. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  if (p > 0.5) return -normalQuantile(1 - p);
  // Start from the leading tail asymptote, then Newton on log Phi(z) = log p (well scaled in the tail).
  const t = Math.sqrt(-2 * Math.log(p));
  let z =
    p > 0.3 ? (p - 0.5) * Math.sqrt(2 * Math.PI) : -(t - (2.515517 + 0.802853 * t) / (1 + 1.432788 * t));
  const target = Math.log(p);
  for (let i = 0; i < 50; i++) {
    const step = (logNormalCdf(z) - target) / logNormalCdfDerivative(z);
    z -= step;
    if (Math.abs(step) < 1e-14 * Math.max(1, Math.abs(z))) break;
  }
  return z;
}
