/**
 * The training path of tfjs-layers' Dense and Conv2D: one fused kernel (product or convolution,
 * plus bias, plus ReLU) whose gradients Parsimony registers per input (../backends/gradients.ts).
 *
 * While gradients are recorded, tfjs-core's fused ops run unfused whenever the activation is not
 * linear (a product or convolution, a bias add and a ReLU: three kernels and their gradients), and
 * when they do fuse they compute every input's gradient at once, the data's included (about 11%
 * of a LeNet-5 training step went to the first convolution's unused input gradient). Here the
 * layer calls the kernel directly, so the engine records it with the registered gradient and asks
 * only for the gradients on the path to the variables. Other activations (softmax) run after the
 * fused product with bias. Outside training, or for what the kernels do not cover (dense inputs
 * of rank > 2, NCHW, dilated convolutions), the layer's own call runs. The layer keeps its class,
 * config and weights, so saved models are unchanged.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

/** The fields of Dense and Conv2D the fused call reads (protected in tfjs-layers' typings). */
interface FusableInternals {
  kernel: { read(): TfCore.Tensor };
  bias: { read(): TfCore.Tensor } | null;
  activation: { apply(x: TfCore.Tensor): TfCore.Tensor; getClassName(): string };
  call(
    inputs: TfCore.Tensor | TfCore.Tensor[],
    kwargs: Record<string, unknown>,
  ): TfCore.Tensor | TfCore.Tensor[];
  invokeCallHook?(inputs: TfCore.Tensor | TfCore.Tensor[], kwargs: Record<string, unknown>): void;
  // Conv2D only
  strides?: [number, number];
  padding?: 'valid' | 'same';
  dilationRate?: [number, number] | number;
  dataFormat?: string;
}

/** The kernel's own activation, or linear with the layer's applied after it. */
function fusedActivation(layer: FusableInternals): { kernel: 'linear' | 'relu'; after: boolean } {
  const name = layer.activation.getClassName();
  if (name === 'relu' || name === 'linear') return { kernel: name, after: false };
  return { kernel: 'linear', after: true };
}

const dilationsAreOne = (d: [number, number] | number | undefined) =>
  d === undefined || (Array.isArray(d) ? d.every((v) => v === 1) : d === 1);

/** Makes a Dense or Conv2D layer run its fused kernel while gradients are recorded. */
export function fuseTrainingCall(
  tf: typeof TfCore,
  layer: TfLayers.layers.Layer,
  kind: 'dense' | 'conv2d',
): void {
  const own = layer as unknown as FusableInternals;
  const original = own.call.bind(own);
  own.call = (inputs, kwargs) => {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TfCore.Tensor;
    const supported =
      tf.engine().state.gradientDepth > 0 &&
      x.dtype === 'float32' &&
      (kind === 'dense'
        ? x.rank === 2
        : x.rank === 4 && own.dataFormat === 'channelsLast' && dilationsAreOne(own.dilationRate));
    if (!supported) return original(inputs, kwargs);
    return tf.tidy(() => {
      if (kind === 'dense') own.invokeCallHook?.(inputs, kwargs);
      const { kernel: activation, after } = fusedActivation(own);
      const bias: TfCore.NamedTensorMap = own.bias === null ? {} : { bias: own.bias.read() };
      let y: TfCore.Tensor;
      if (kind === 'dense') {
        // Matrices as batches of one, as tfjs' matMul passes them (wasm's own kernel reads 3 dims).
        const [m, k] = x.shape as [number, number];
        const w = own.kernel.read();
        const product = tf
          .engine()
          .runKernel(
            '_FusedMatMul',
            { a: tf.reshape(x, [1, m, k]), b: tf.reshape(w, [1, ...w.shape]), ...bias },
            { transposeA: false, transposeB: false, activation },
          ) as TfCore.Tensor;
        y = tf.reshape(product, [m, w.shape[1] as number]);
      } else
        y = tf.engine().runKernel(
          'FusedConv2D',
          { x, filter: own.kernel.read(), ...bias },
          {
            strides: own.strides as [number, number],
            pad: own.padding as 'valid' | 'same',
            dataFormat: 'NHWC',
            dilations: [1, 1],
            activation,
          },
        ) as TfCore.Tensor;
      return after ? own.activation.apply(y) : y;
    });
  };
}

/**
 * Applies the fused training call to every plain Dense and Conv2D layer of a model rebuilt from
 * its topology (`modelFromJSON`), as `buildTfjsModel` does while building: a data-parallel
 * replica must run the same kernels as the trainer's thread, or every step waits for it.
 * Returns how many layers were fused.
 */
export function fuseModelTrainingCalls(tf: typeof TfCore, model: TfLayers.LayersModel): number {
  let fused = 0;
  for (const layer of model.layers) {
    const name = layer.getClassName();
    if (name === 'Dense') fuseTrainingCall(tf, layer, 'dense');
    else if (name === 'Conv2D') fuseTrainingCall(tf, layer, 'conv2d');
    else continue;
    fused++;
  }
  return fused;
}
