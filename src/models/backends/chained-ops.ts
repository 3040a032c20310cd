/**
 * Chained tensor methods (`t.flatten()`, `t.mul(x)`) for the CommonJS build of tfjs-core that
 * Node loads: that build leaves them out, the `@tensorflow/tfjs` bundle adds them, and
 * tfjs-layers calls some (the orthogonal initialiser calls `flatten`). Each method forwards to
 * the op of the same name with the tensor as first argument; methods that already exist (from
 * another bundle) are left alone.
 */
import type * as TfCore from '@tensorflow/tfjs-core';

const FORWARDED = [
  'abs',
  'acos',
  'acosh',
  'add',
  'all',
  'any',
  'argMax',
  'argMin',
  'asin',
  'asinh',
  'atan',
  'atan2',
  'atanh',
  'avgPool',
  'batchToSpaceND',
  'batchNorm',
  'broadcastTo',
  'cast',
  'ceil',
  'clipByValue',
  'concat',
  'conv1d',
  'conv2d',
  'conv2dTranspose',
  'cos',
  'cosh',
  'cumprod',
  'cumsum',
  'depthToSpace',
  'depthwiseConv2d',
  'dilation2d',
  'div',
  'divNoNan',
  'dot',
  'elu',
  'equal',
  'erf',
  'euclideanNorm',
  'exp',
  'expandDims',
  'expm1',
  'fft',
  'floor',
  'floorDiv',
  'gather',
  'greater',
  'greaterEqual',
  'ifft',
  'irfft',
  'isFinite',
  'isInf',
  'isNaN',
  'leakyRelu',
  'less',
  'lessEqual',
  'localResponseNormalization',
  'log',
  'log1p',
  'logSigmoid',
  'logSoftmax',
  'logSumExp',
  'logicalAnd',
  'logicalNot',
  'logicalOr',
  'logicalXor',
  'matMul',
  'max',
  'maxPool',
  'maximum',
  'mean',
  'min',
  'minimum',
  'mirrorPad',
  'mod',
  'mul',
  'neg',
  'norm',
  'notEqual',
  'oneHot',
  'onesLike',
  'pad',
  'pool',
  'pow',
  'prelu',
  'prod',
  'reciprocal',
  'relu',
  'relu6',
  'reshape',
  'resizeBilinear',
  'resizeNearestNeighbor',
  'reverse',
  'rfft',
  'round',
  'rsqrt',
  'selu',
  'separableConv2d',
  'sigmoid',
  'sign',
  'sin',
  'sinh',
  'slice',
  'softmax',
  'softplus',
  'spaceToBatchND',
  'split',
  'sqrt',
  'square',
  'squaredDifference',
  'squeeze',
  'stack',
  'step',
  'stridedSlice',
  'sub',
  'sum',
  'tan',
  'tanh',
  'tile',
  'topk',
  'transpose',
  'unique',
  'unsortedSegmentSum',
  'unstack',
  'where',
  'zerosLike',
] as const;

type Method = (this: TfCore.Tensor, ...args: unknown[]) => unknown;

export function registerChainedOps(tf: typeof TfCore): void {
  const proto = tf.Tensor.prototype as unknown as Record<string, Method>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => unknown>;
  const define = (name: string, method: Method) => {
    if (typeof proto[name] !== 'function') proto[name] = method;
  };
  for (const name of FORWARDED)
    if (typeof ops[name] === 'function')
      define(name, function (...args) {
        return ops[name](this, ...args);
      });
  define('flatten', function () {
    return tf.reshape(this, [this.size]);
  });
  define('asScalar', function () {
    return tf.reshape(this, []);
  });
  for (const rank of [1, 2, 3, 4, 5])
    define(`as${rank}D`, function (...shape) {
      return tf.reshape(this, rank === 1 ? [this.size] : (shape as number[]));
    });
  define('asType', function (dtype) {
    return tf.cast(this, dtype as TfCore.DataType);
  });
  define('toFloat', function () {
    return tf.cast(this, 'float32');
  });
  define('toInt', function () {
    return tf.cast(this, 'int32');
  });
  define('toBool', function () {
    return tf.cast(this, 'bool');
  });
  define('reshapeAs', function (other) {
    return tf.reshape(this, (other as TfCore.Tensor).shape);
  });
}
