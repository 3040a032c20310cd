/**
 * A small Transformer encoder for sequence classification: token and position embeddings,
 * post-norm encoder blocks (self-attention, add & norm, feed-forward, add & norm), mean pooling
 * over the sequence, and a classifier.
 */
import { ModelSpecError } from '../../core/errors.js';
import { ModelBuilder } from '../spec/builder.js';
import type { ModelSpec } from '../spec/types.js';

export interface TransformerOptions {
  vocabSize?: number;
  sequenceLength?: number;
  modelDim?: number;
  numHeads?: number;
  feedForwardDim?: number;
  numBlocks?: number;
  numClasses?: number;
}

export function transformerEncoder(options: TransformerOptions = {}): ModelSpec {
  const vocab = options.vocabSize ?? 10000;
  const steps = options.sequenceLength ?? 128;
  const dim = options.modelDim ?? 128;
  const heads = options.numHeads ?? 4;
  const ff = options.feedForwardDim ?? 4 * dim;
  if (dim % heads !== 0)
    throw new ModelSpecError(`transformer-encoder: modelDim ${dim} is not divisible by numHeads ${heads}`);
  const b = new ModelBuilder('transformer-encoder');
  const tokens = b.input([steps], { name: 'tokens', dtype: 'int32' });
  const positions = b.input([steps], { name: 'positions', dtype: 'int32' });
  let x = b.add([
    b.embedding(tokens, { inputDim: vocab, outputDim: dim, name: 'token_embedding' }),
    b.embedding(positions, { inputDim: steps, outputDim: dim, name: 'position_embedding' }),
  ]);
  for (let i = 1; i <= (options.numBlocks ?? 2); i++) {
    const attended = b.multiHeadAttention(x, {
      numHeads: heads,
      keyDim: dim / heads,
      name: `block${i}_attention`,
    });
    x = b.layerNorm(b.add([x, attended]));
    const hidden = b.dense(x, { units: ff, activation: 'gelu', name: `block${i}_ff1` });
    x = b.layerNorm(b.add([x, b.dense(hidden, { units: dim, name: `block${i}_ff2` })]));
  }
  x = b.globalAvgPool1d(x);
  return b.build(b.dense(x, { units: options.numClasses ?? 2, activation: 'softmax' }));
}
