/**
 * The GP kernel: Matern 5/2 over a weighted squared distance with one weight (inverse squared
 * lengthscale, ARD) per parameter. A numeric parameter contributes (x - x')^2 on its [0, 1]
 * column; a categorical parameter, one-hot encoded, contributes half the squared distance of its
 * block, i.e. 0 for the same choice and 1 for different ones (a Hamming distance).
 */
import type { SearchSpaceTransform } from '../transform.js';

/** Which encoded columns belong to which parameter ("group"), and whether it is categorical. */
export interface GroupLayout {
  readonly dim: number;
  readonly groups: number;
  readonly start: Int32Array;
  readonly width: Int32Array;
  readonly categorical: Uint8Array;
}

export function layoutFromTransform(transform: SearchSpaceTransform): GroupLayout {
  const groups = transform.names.length;
  const start = new Int32Array(groups);
  const width = new Int32Array(groups);
  const categorical = new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    start[g] = transform.paramStart[g];
    width[g] = (g + 1 < groups ? transform.paramStart[g + 1] : transform.dim) - start[g];
    categorical[g] = transform.distributions[g].type === 'categorical' ? 1 : 0;
  }
  return { dim: transform.dim, groups, start, width, categorical };
}

/** Distance contribution of group g between rows a (at offset aOff) and b (at bOff). */
export function groupDistance(
  layout: GroupLayout,
  g: number,
  a: ArrayLike<number>,
  aOff: number,
  b: ArrayLike<number>,
  bOff: number,
): number {
  const s = layout.start[g];
  if (!layout.categorical[g]) {
    const d = a[aOff + s] - b[bOff + s];
    return d * d;
  }
  let sum = 0;
  for (let c = s; c < s + layout.width[g]; c++) {
    const d = a[aOff + c] - b[bOff + c];
    sum += d * d;
  }
  return 0.5 * sum;
}

/** Matern 5/2 correlation as a function of the squared scaled distance q = r^2. */
export function matern52(q: number): number {
  const a = Math.sqrt(5 * q);
  return (1 + a + (a * a) / 3) * Math.exp(-a);
}

/** d matern52 / dq; finite (-5/6) at q = 0, which keeps gradients smooth through data points. */
export function matern52Derivative(q: number): number {
  const a = Math.sqrt(5 * q);
  return (-5 / 6) * (1 + a) * Math.exp(-a);
}

/**
 * Per-pair, per-group distances of n rows, packed over pairs i > j (pair index i(i-1)/2 + j) with
 * the groups of a pair adjacent, computed once per fit and reused for every hyperparameter trial.
 */
export function pairwiseGroupDistances(layout: GroupLayout, x: Float64Array, n: number): Float64Array {
  const G = layout.groups;
  const out = new Float64Array(((n * (n - 1)) / 2) * G);
  let p = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      for (let g = 0; g < G; g++)
        out[p * G + g] = groupDistance(layout, g, x, i * layout.dim, x, j * layout.dim);
      p++;
    }
  }
  return out;
}
