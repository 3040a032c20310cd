/**
 * The single place where Parsimony registers its own wasm kernels (fast paths and missing gradients).
 * Called once by initBackend after tfjs-backend-wasm has registered its kernels and before the wasm
 * backend is selected (so each kernel's setup runs when the backend initialises).
 *
 * Overriding is deliberate: wasm's own kernel function is captured first (replacements call the
 * original fast path, never themselves), then unregistered and replaced.
 */
import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { adamUpdateConfigs } from './kernels/adam-update.js';
import { conv2dConfigs } from './kernels/conv2d.js';
import { conv2dBackpropConfigs } from './kernels/conv2d-backprop.js';
import { crossEntropyConfigs } from './kernels/cross-entropy.js';
import { depthwiseBackpropConfigs } from './kernels/depthwise-backprop.js';
import { identityConfigs } from './kernels/identity.js';
import { matMulConfigs } from './kernels/mat-mul.js';
import { poolGradConfigs } from './kernels/pool-grad.js';
import { reduceConfigs } from './kernels/reduce.js';
import { segmentSumConfigs } from './kernels/segment-sum.js';
import { captureBaseKernels } from './kernels/wasm-calls.js';

let registered: string[] | undefined;

/** The kernels Parsimony replaces or adds on the wasm backend. */
export function parsimonyKernelConfigs(): KernelConfig[] {
  const original = (name: string) => getKernel(name, 'wasm');
  return [
    ...matMulConfigs(original),
    ...conv2dConfigs(original),
    ...conv2dBackpropConfigs(),
    ...poolGradConfigs(),
    ...depthwiseBackpropConfigs(),
    ...segmentSumConfigs(),
    ...reduceConfigs(original),
    ...adamUpdateConfigs(),
    ...identityConfigs(),
    ...crossEntropyConfigs(),
  ];
}

/** Registers Parsimony's wasm kernels once; returns their names. Needs tfjs-backend-wasm imported first. */
export function registerParsimonyKernels(): string[] {
  if (registered) return registered;
  const missing = captureBaseKernels();
  if (missing.length > 0)
    // not a user error: a tfjs-backend-wasm without the kernels this code was written against
    throw new Error(
      `registerParsimonyKernels: import @tensorflow/tfjs-backend-wasm first (missing ${missing.join(', ')})`,
    );
  const configs = parsimonyKernelConfigs();
  for (const config of configs) {
    if (getKernel(config.kernelName, 'wasm') !== undefined) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registered = configs.map((c) => c.kernelName);
  return registered;
}
