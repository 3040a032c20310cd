/**
 * The sliding-window geometry (a convolution or pooling over NHWC tensors) that the generated
 * convolution and pooling kernels take as their leading i32 parameters, in WINDOW_PARAMS order.
 */
import type { backend_util } from '@tensorflow/tfjs-core';

export const WINDOW_PARAMS = [
  'batch',
  'h', // input height
  'w', // input width
  'c', // input channels
  'oh', // output height
  'ow', // output width
  'fh', // filter (window) height
  'fw', // filter (window) width
  'sh', // strides
  'sw',
  'dh', // dilations
  'dw',
  'top', // padding before the first row and column
  'left',
] as const;

export type WindowGeometry = Record<(typeof WINDOW_PARAMS)[number], number>;

/** From tfjs' convolution or pooling info (computeConv2DInfo / computePool2DInfo). */
export function windowGeometry(info: backend_util.Conv2DInfo): WindowGeometry {
  return {
    batch: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** The geometry as arguments, in WINDOW_PARAMS order. */
export function windowArgs(g: WindowGeometry): number[] {
  return WINDOW_PARAMS.map((name) => g[name]);
}
