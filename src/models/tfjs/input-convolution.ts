/**
 * A convolution that reads a model input should not compute the gradient with respect to that
 * input: the data are not trained. tfjs-core's fused conv2d (what tfjs-layers' Conv2D calls when
 * its activation is linear) records a single gradient function that computes the input gradient
 * together with the filter's, needed or not; on LeNet-5 that wasted Conv2DBackpropInput is about
 * 11% of a training step. While gradients are being recorded, such a layer runs the plain Conv2D
 * op and a bias add instead, whose gradients tfjs computes only for what is being differentiated.
 * The layer keeps its class, config and weights, so saved models are unchanged; outside training
 * it keeps the fused kernel.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

/** The Conv2D fields the unfused call reads (protected in tfjs-layers' typings). */
interface Conv2DInternals {
  kernel: { read(): TfCore.Tensor4D };
  bias: { read(): TfCore.Tensor1D } | null;
  strides: [number, number];
  padding: 'valid' | 'same';
  dilationRate: [number, number];
  dataFormat: string;
  activation: { apply(x: TfCore.Tensor): TfCore.Tensor };
  call(inputs: TfCore.Tensor | TfCore.Tensor[], kwargs: Record<string, unknown>): TfCore.Tensor;
}

export function skipInputGradient(tf: typeof TfCore, layer: TfLayers.layers.Layer): void {
  const conv = layer as unknown as Conv2DInternals;
  const fused = conv.call.bind(conv);
  conv.call = (inputs, kwargs) => {
    if (tf.engine().state.gradientDepth === 0 || conv.dataFormat !== 'channelsLast')
      return fused(inputs, kwargs);
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor4D;
      let y: TfCore.Tensor = tf.conv2d(
        x,
        conv.kernel.read(),
        conv.strides,
        conv.padding,
        'NHWC',
        conv.dilationRate,
      );
      if (conv.bias !== null) y = tf.add(y, conv.bias.read());
      return conv.activation.apply(y);
    });
  };
}
