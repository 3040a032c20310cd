/**
 * On wasm, Adam and AdamW run as Parsimony's fused kernel; the result must match tfjs' own Adam
 * (on cpu) step by step, with a learning rate that changes between steps as schedules change it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/models/backends/index.js';
import { ADAM_UPDATE } from '../../src/models/backends/kernels/adam-update.js';
import { createOptimizer, type OptimizerConfig } from '../../src/train/optimizers.js';
import { randoms } from '../helpers/random.js';

/** Runs 5 steps on `backend`; returns the variables' values and counts the fused kernel's calls. */
function run(backend: string, config: OptimizerConfig, shapes: number[][]) {
  tf.setBackend(backend);
  let fusedCalls = 0;
  const engine = tf.engine() as unknown as { runKernel(name: string, ...rest: unknown[]): unknown };
  const runKernel = engine.runKernel;
  engine.runKernel = function (name: string, ...rest: unknown[]) {
    if (name === ADAM_UPDATE) fusedCalls++;
    return runKernel.call(this, name, ...rest);
  };
  try {
    // tidy disposes the initial values, not the variables.
    const variables = tf.tidy(() =>
      shapes.map((shape, i) => {
        const size = shape.reduce((a, b) => a * b, 1);
        return tf.variable(tf.tensor(randoms(size, i + 1), shape), true, `${backend}-v${i}`);
      }),
    );
    const optimizer = createOptimizer(tf, config);
    const tensors = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      optimizer.learningRate = config.learningRate * (1 - 0.15 * step);
      tf.tidy(() => {
        const grads: tf.NamedTensorMap = {};
        variables.forEach((v, i) => {
          grads[v.name] = tf.tensor(randoms(v.size, 100 * step + i + 7), v.shape);
        });
        optimizer.apply(grads, variables);
      });
      // After the first step created the moments, a step leaves no tensor behind.
      if (step === 0) assert.ok(tf.memory().numTensors > tensors);
    }
    const values = variables.map((v) => v.dataSync() as Float32Array);
    optimizer.dispose();
    tf.dispose(variables);
    return { values, fusedCalls };
  } finally {
    engine.runKernel = runKernel;
  }
}

let previous = '';
before(async () => {
  await initBackend({ backend: 'wasm' });
  previous = tf.getBackend();
});
after(() => {
  tf.setBackend(previous);
});

describe('fused Adam on wasm', () => {
  // Sizes not multiples of 4 take the kernel's scalar tail.
  const shapes = [[7], [33, 10], [128, 30]];
  const configs: OptimizerConfig[] = [
    { type: 'adam', learningRate: 0.01 },
    { type: 'adam', learningRate: 0.003, beta1: 0.8, beta2: 0.99, epsilon: 1e-4 },
    { type: 'adamw', learningRate: 0.01, weightDecay: 0.3 },
  ];
  for (const config of configs)
    test(`${JSON.stringify(config)} matches tfjs' Adam on cpu over 5 steps`, () => {
      const before = tf.memory().numTensors;
      const wasm = run('wasm', config, shapes);
      const cpu = run('cpu', config, shapes);
      assert.equal(wasm.fusedCalls, 5 * shapes.length, 'the fused kernel ran once per variable and step');
      assert.equal(cpu.fusedCalls, 0);
      wasm.values.forEach((values, i) => {
        for (let k = 0; k < values.length; k++)
          assert.ok(
            Math.abs(values[k] - cpu.values[i][k]) <= 2e-6,
            `variable ${i}[${k}]: wasm ${values[k]} vs cpu ${cpu.values[i][k]}`,
          );
      });
      tf.setBackend('wasm');
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    });
});
