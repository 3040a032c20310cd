/**
 * Standard normal and truncated-normal helpers for the Parzen estimator's kernels, written for the
 * hot loop: every function here is a few multiply-adds plus one exp or log.
 *
 * erfcx(x) = exp(x^2) erfc(x) is evaluated for 0 <= x < 8 by piecewise Chebyshev series fitted once
 * at module load from slow but accurate references (a power series and Laplace's continued
 * fraction), so no magic constants are needed and the fit reaches double precision; beyond 8 the
 * continued fraction itself is short and exact.
 */
import type { Random } from '../../core/random.js';

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
export const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Reference erfcx for fitting only: the series for small x, the continued fraction otherwise. */
function erfcxReference(x: number): number {
  if (x < 1.5) {
    // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n x (2x^2)^n / (1*3*...*(2n+1)): all terms positive.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 400; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-18 * sum) break;
    }
    const erf = (2 / SQRT_PI) * Math.exp(-x2) * sum;
    return Math.exp(x2) * (1 - erf);
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards.
  let f = x;
  for (let k = 4000; k >= 1; k--) f = x + k / 2 / f;
  return 1 / (SQRT_PI * f);
}

/** Piecewise Chebyshev fits of erfcx on [0, CHEB_END): PIECES intervals of width 1/PIECES_PER_UNIT. */
const CHEB_END = 8;
const PIECES_PER_UNIT = 4;
const PIECES = CHEB_END * PIECES_PER_UNIT;
const DEGREE = 12;
const CHEB: Float64Array = (() => {
  const coef = new Float64Array(PIECES * DEGREE);
  const values = new Float64Array(DEGREE);
  for (let p = 0; p < PIECES; p++) {
    const lo = p / PIECES_PER_UNIT;
    const half = 0.5 / PIECES_PER_UNIT;
    for (let k = 0; k < DEGREE; k++)
      values[k] = erfcxReference(lo + half + half * Math.cos((Math.PI * (k + 0.5)) / DEGREE));
    for (let j = 0; j < DEGREE; j++) {
      let s = 0;
      for (let k = 0; k < DEGREE; k++) s += values[k] * Math.cos((Math.PI * j * (k + 0.5)) / DEGREE);
      coef[p * DEGREE + j] = (2 / DEGREE) * s;
    }
  }
  return coef;
})();

/** exp(x^2) erfc(x) for x >= 0. */
function erfcxPositive(x: number): number {
  if (x >= CHEB_END) {
    // Laplace's continued fraction: this far out 12 terms reach double precision.
    let f = x;
    for (let k = 12; k >= 1; k--) f = x + k / 2 / f;
    return 1 / (SQRT_PI * f);
  }
  const p = Math.floor(x * PIECES_PER_UNIT);
  // Clenshaw recurrence on u in [-1, 1] within the piece.
  const u = 2 * (x * PIECES_PER_UNIT - p) - 1;
  const u2 = 2 * u;
  const base = p * DEGREE;
  let b1 = 0;
  let b2 = 0;
  for (let j = DEGREE - 1; j >= 1; j--) {
    const b0 = u2 * b1 - b2 + CHEB[base + j];
    b2 = b1;
    b1 = b0;
  }
  return u * b1 - b2 + 0.5 * CHEB[base];
}

/** Scaled complementary error function exp(x^2) erfc(x). */
export function erfcx(x: number): number {
  if (x >= 0) return erfcxPositive(x);
  return 2 * Math.exp(x * x) - erfcxPositive(-x);
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (x >= 0) return x > 27.3 ? 0 : Math.exp(-x * x) * erfcxPositive(x);
  return x < -6 ? 2 : 2 - Math.exp(-x * x) * erfcxPositive(-x);
}

/** Standard normal CDF, relatively accurate in the lower tail. */
export function ndtr(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** log of the standard normal CDF, finite far into the lower tail. */
export function logNdtr(z: number): number {
  if (z > -1) return Math.log1p(-0.5 * erfc(z / SQRT2));
  return Math.log(0.5 * erfcxPositive(-z / SQRT2)) - 0.5 * z * z;
}

/** log(Phi(b) - Phi(a)) for a <= b, without cancellation in either tail. */
export function logNdtrDiff(a: number, b: number): number {
  if (!(b > a)) return Number.NEGATIVE_INFINITY;
  if (b <= 0) {
    const lb = logNdtr(b);
    return lb + Math.log1p(-Math.exp(logNdtr(a) - lb));
  }
  if (a >= 0) {
    const la = logNdtr(-a);
    return la + Math.log1p(-Math.exp(logNdtr(-b) - la));
  }
  // Tails beyond 8.5 sigma hold less than 1e-17 and cannot change the result.
  return Math.log1p(-(a < -8.5 ? 0 : ndtr(a)) - (b > 8.5 ? 0 : ndtr(-b)));
}

/** Cubic Hermite table of Phi on [-TAIL, 0] (absolute error below 1e-11) for kernel normalisers. */
const TAIL = 8.5;
const TABLE_STEPS_PER_UNIT = 128;
const TABLE_CDF = new Float64Array(TAIL * TABLE_STEPS_PER_UNIT + 2);
const TABLE_PDF = new Float64Array(TAIL * TABLE_STEPS_PER_UNIT + 2);
for (let i = 0; i < TABLE_CDF.length; i++) {
  const z = -TAIL + i / TABLE_STEPS_PER_UNIT;
  TABLE_CDF[i] = ndtr(z);
  TABLE_PDF[i] = Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

/** Phi(z) for z <= 0 to about 1e-11 absolute: a table lookup instead of an erfc. */
function ndtrLowerFast(z: number): number {
  if (z <= -TAIL) return 0;
  const u = (z + TAIL) * TABLE_STEPS_PER_UNIT;
  const i = Math.floor(u);
  const t = u - i;
  const t2 = t * t;
  const t3 = t2 * t;
  const h = 1 / TABLE_STEPS_PER_UNIT;
  return (
    (2 * t3 - 3 * t2 + 1) * TABLE_CDF[i] +
    (t3 - 2 * t2 + t) * h * TABLE_PDF[i] +
    (-2 * t3 + 3 * t2) * TABLE_CDF[i + 1] +
    (t3 - t2) * h * TABLE_PDF[i + 1]
  );
}

/**
 * log(Phi(b) - Phi(a)), the log mass a kernel keeps inside the search bounds. When the interval
 * contains 0 that mass is at least Phi(1/2) - 1/2 for TPE's kernels, so the tabulated CDF's
 * absolute error stays a relative one; intervals in one tail take the exact path.
 */
export function logTruncatedMass(a: number, b: number): number {
  if (a < -TAIL && b > TAIL) return 0;
  if (a >= 0 || b <= 0) return logNdtrDiff(a, b);
  return Math.log1p(-ndtrLowerFast(a) - ndtrLowerFast(-b));
}

/**
 * Inverse standard normal CDF: Acklam's rational approximation (relative error 1.2e-9) refined by
 * one Halley step against `ndtr`, which brings it to about machine precision.
 */
export function ndtri(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((-7.784894002430293e-3 * q - 3.223964580411365e-1) * q - 2.400758277161838) * q -
        2.549732539343734) *
        q +
        4.374664141464968) *
        q +
        2.938163982698783) /
      ((((7.784695709041462e-3 * q + 3.224671290700398e-1) * q + 2.445134137142996) * q + 3.754408661907416) *
        q +
        1);
  } else if (p > 1 - 0.02425) {
    return -ndtri(1 - p);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((-3.969683028665376e1 * r + 2.209460984245205e2) * r - 2.759285104469687e2) * r +
        1.38357751867269e2) *
        r -
        3.066479806614716e1) *
        r +
        2.506628277459239) *
        q) /
      (((((-5.447609879822406e1 * r + 1.615858368580409e2) * r - 1.556989798598866e2) * r +
        6.680131188771972e1) *
        r -
        1.328068155288572e1) *
        r +
        1);
  }
  const e = ndtr(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

/**
 * A draw from the standard normal truncated to [a, b] by inverting the CDF, so every draw costs
 * exactly one uniform (streams stay aligned). Works on the lower tail, where CDF values keep their
 * relative precision, by reflecting intervals that lie right of zero.
 */
export function sampleStandardTruncNorm(rng: Random, a: number, b: number): number {
  if (a >= 0) return -sampleStandardTruncNorm(rng, -b, -a);
  const u = rng.next();
  if (!(b > a)) return a;
  const pa = ndtr(a);
  const pb = ndtr(b);
  if (!(pb > pa)) {
    // Both ends beyond about -38 sigma, where Phi underflows: the tail is exponential with rate |b|.
    const x = b + Math.log1p(-u) / -b;
    return Math.min(Math.max(x, a), b);
  }
  const x = ndtri(pa + u * (pb - pa));
  return Math.min(Math.max(x, a), b);
}
