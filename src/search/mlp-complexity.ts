/**
 * Complexity of a dense network from its widths alone, so a search can judge (and reject) a
 * configuration before building it. In a dense layer every weight is one connection and one
 * multiply-accumulate per sample; biases add parameters but neither connections nor MACs.
 */
export interface MlpComplexity {
  params: number;
  connections: number;
  /** Multiply-accumulates per sample (FLOPs = 2 x MACs). */
  macs: number;
}

export function mlpComplexity(
  inputs: number,
  hiddenUnits: readonly number[],
  outputs: number,
): MlpComplexity {
  const widths = [inputs, ...hiddenUnits, outputs];
  let weights = 0;
  let biases = 0;
  for (let i = 1; i < widths.length; i++) {
    weights += widths[i - 1] * widths[i];
    biases += widths[i];
  }
  return { params: weights + biases, connections: weights, macs: weights };
}
