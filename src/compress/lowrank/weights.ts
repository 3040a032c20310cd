/**
 * The weight side of low-rank factorisation: from one layer's kernel and bias to the kernels of
 * its factor layers, named and shaped as `factoriseSpec` lays them out.
 */

import { spatialSvd, truncatedSvd, tucker2 } from './factorize.js';
import { FACTOR_SUFFIX, type FactorisableLayer, type Factorisation } from './rewrite.js';

export interface FactorWeights {
  name: string;
  kernel: Float32Array;
  kernelShape: number[];
  /** Only the last factor has a bias (the original one, when the layer had it). */
  bias?: Float32Array;
}

/** Kernels of the factors of `layer` (in spec order); the bias moves to the last factor. */
export function factoriseWeights(
  layer: FactorisableLayer,
  f: Factorisation,
  kernel: Float32Array,
  bias: Float32Array | undefined,
): FactorWeights[] {
  const shape = layer.kernelShape;
  if (layer.type === 'dense') {
    if (f.kind !== 'svd')
      // not a user error: validation allows Tucker-2 on convolutions only
      throw new Error(`unreachable: tucker2 on dense layer ${layer.name}`);
    const [cin, cout] = shape;
    const d = truncatedSvd(kernel, cin, cout, f.rank);
    return [
      { name: `${layer.name}${FACTOR_SUFFIX.svd}`, kernel: d.left, kernelShape: [cin, f.rank] },
      { name: layer.name, kernel: d.right, kernelShape: [f.rank, cout], bias },
    ];
  }
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  if (f.kind === 'svd') {
    const d = spatialSvd(kernel, [kh, kw, cin, cout], f.rank);
    return [
      { name: `${layer.name}${FACTOR_SUFFIX.svd}`, kernel: d.left, kernelShape: [kh, kw, cin, f.rank] },
      { name: layer.name, kernel: d.right, kernelShape: [1, 1, f.rank, cout], bias },
    ];
  }
  const t = tucker2(kernel, [kh, kw, cin, cout], f.ranks);
  const [rIn, rOut] = f.ranks;
  return [
    { name: `${layer.name}${FACTOR_SUFFIX.tuckerIn}`, kernel: t.first, kernelShape: [1, 1, cin, rIn] },
    { name: `${layer.name}${FACTOR_SUFFIX.tuckerCore}`, kernel: t.core, kernelShape: [kh, kw, rIn, rOut] },
    { name: layer.name, kernel: t.last, kernelShape: [1, 1, rOut, cout], bias },
  ];
}
