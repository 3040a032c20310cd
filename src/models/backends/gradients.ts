/**
 * Gradients Parsimony registers in place of tfjs-core's, once, after tfjs-layers has registered
 * the defaults. Same mathematics, fewer full-size tensors.
 *
 * FusedBatchNorm: tfjs-core broadcasts 1/sqrt(var + eps) to the input's full shape with `tile`
 * before multiplying, and computes dy·scale, (x − mean) and their products once per parameter. On
 * wasm, Tile alone was 46% of a MobileNetV2 training step (52 calls, 6.6 ms each). Here the
 * per-channel factors broadcast, and the two reductions that all parameter gradients need,
 * Σdy and Σdy·(x − mean), are computed once:
 *   dx = dy·s with s = scale/sqrt(var + eps)
 *   dmean = −Σdy·s,  dvar = −½·scale·(var + eps)^(−3/2)·Σdy·(x − mean)
 *   dscale = Σdy·(x − mean)/sqrt(var + eps),  doffset = Σdy
 * (sums over every axis the statistics broadcast along).
 *
 * FusedConv2D and _FusedMatMul (a convolution or product, plus bias, plus ReLU, in one kernel):
 * tfjs-core has no gradient for these kernels; its fused ops wrap them in a custom gradient that
 * computes every input's gradient at once, and while recording gradients they run unfused (three
 * kernels) whenever the activation is not linear. Registered here, each input's gradient is its own
 * function, which the engine calls only for inputs on the path to the variables (a convolution
 * reading the data computes no gradient for the data), and the layers' training path
 * (`../../tfjs/fused-layers.ts`) runs the fused kernel while recording. Linear and ReLU only:
 *   dz = dy, or dy·step(y) after ReLU (y > 0 exactly where the pre-activation is)
 *   conv: dx = Conv2DBackpropInput(dz, filter), dfilter = Conv2DBackpropFilter(x, dz)
 *   product C = op(A)·op(B): dA, dB as tfjs' BatchMatMul gradient (equal batch shapes, no broadcast)
 *   dbias = dz summed over every axis but the last (a bias of one value per output channel).
 *
 * ParsimonyClippedCrossEntropy (wasm only, ./kernels/cross-entropy.ts): the probabilities' gradient
 * is one kernel; the targets' (never a variable in training) is composed.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import {
  CLIPPED_CROSS_ENTROPY,
  CLIPPED_CROSS_ENTROPY_GRAD,
  PROBABILITY_EPSILON,
} from './kernels/cross-entropy.js';

let registered = false;

type Attrs = TfCore.NamedAttrMap;

/** dy through the fused activation (linear or ReLU), y the kernel's output. */
function preActivation(tf: typeof TfCore, dy: TfCore.Tensor, y: TfCore.Tensor, attrs: Attrs, kernel: string) {
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  if (activation === 'linear') return dy;
  if (activation === 'relu') return tf.mul(dy, tf.step(y));
  // not a user error: only Parsimony's training path records these kernels (fused-layers.ts)
  throw new Error(`${kernel} gradient: activation ${activation} is not supported (linear or relu)`);
}

/**
 * One value per output channel (the only bias the training path passes). The bias is not saved:
 * the engine cannot save an input that is absent, and these kernels run without one too.
 */
const biasGradient = (tf: typeof TfCore, dz: TfCore.Tensor) => tf.sum(dz, [...Array(dz.rank - 1).keys()]);

export function registerParsimonyGradients(tf: typeof TfCore): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const dyT = dy as TfCore.Tensor;
      const [x, mean, variance, scale] = saved;
      const epsilon = (attrs as { varianceEpsilon: number }).varianceEpsilon;
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: TfCore.Tensor) => (axes.length > 0 ? tf.sum(t, axes) : t);
      const inv = tf.rsqrt(tf.add(variance, epsilon));
      const perChannel = scale == null ? inv : tf.mul(inv, scale);
      const sumDy = reduce(dyT);
      const sumDyCentred = reduce(tf.mul(dyT, tf.sub(x, mean)));
      const scaleOrOne = scale == null ? tf.scalar(1) : scale;
      return {
        x: () => tf.reshape(tf.mul(dyT, perChannel), x.shape),
        mean: () => tf.reshape(tf.neg(tf.mul(sumDy, perChannel)), mean.shape),
        variance: () =>
          tf.reshape(tf.mul(sumDyCentred, tf.mul(scaleOrOne, tf.mul(tf.pow(inv, 3), -0.5))), mean.shape),
        scale: () => tf.reshape(tf.mul(sumDyCentred, inv), mean.shape),
        offset: () => tf.reshape(sumDy, mean.shape),
      };
    },
  });
  tf.registerGradient({
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const a = attrs as Attrs;
      if (a.dataFormat === 'NCHW' || !tf.backend_util.tupleValuesAreOne((a.dilations ?? 1) as number[]))
        // not a user error: the training path runs this kernel on NHWC without dilations only
        throw new Error('FusedConv2D gradient: NHWC without dilations only');
      const dz = preActivation(tf, dy as TfCore.Tensor, y, a, 'FusedConv2D');
      const conv = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: a.dimRoundingMode };
      return {
        x: () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...conv, inputShape: x.shape }),
        filter: () =>
          tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...conv, filterShape: filter.shape }),
        bias: () => biasGradient(tf, dz),
      };
    },
  });
  tf.registerGradient({
    kernelName: CLIPPED_CROSS_ENTROPY,
    inputsToSave: ['p', 't'],
    gradFunc: (dy, saved) => {
      const [p, t] = saved;
      return {
        p: () =>
          tf
            .engine()
            .runKernel(CLIPPED_CROSS_ENTROPY_GRAD, { dy: dy as TfCore.Tensor, p, t }) as TfCore.Tensor,
        t: () =>
          tf.mul(
            tf.log(tf.clipByValue(p, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)),
            tf.div(tf.neg(dy as TfCore.Tensor), p.shape[0]),
          ),
      };
    },
  });
  tf.registerGradient({
    kernelName: '_FusedMatMul',
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [a, b, y] = saved;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (a.rank !== b.rank || a.shape.slice(0, -2).join() !== b.shape.slice(0, -2).join())
        // not a user error: the training path runs this kernel on one batch shape (of one matrix)
        throw new Error('_FusedMatMul gradient: equal batch shapes only (no broadcasting)');
      const dz = preActivation(tf, dy as TfCore.Tensor, y, attrs as Attrs, '_FusedMatMul');
      const mm = (p: TfCore.Tensor, q: TfCore.Tensor, tp: boolean, tq: boolean) => tf.matMul(p, q, tp, tq);
      return {
        a: () =>
          !transposeA
            ? transposeB
              ? mm(dz, b, false, false)
              : mm(dz, b, false, true)
            : transposeB
              ? mm(b, dz, true, true)
              : mm(b, dz, false, true),
        b: () =>
          !transposeB
            ? transposeA
              ? mm(a, dz, false, false)
              : mm(a, dz, true, false)
            : transposeA
              ? mm(dz, a, true, true)
              : mm(dz, a, true, false),
        bias: () => biasGradient(tf, dz),
      };
    },
  });
}
