/**
 * An optimizer's state taken after some steps and loaded into a new optimizer continues exactly
 * as the first would have (up to float rounding of tfjs' bias-correction powers), on tfjs'
 * optimizers (cpu) and the fused Adam (wasm); starting afresh instead gives other values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backends/index.js';
import { createOptimizer, type OptimizerConfig, type OptimizerState } from '../../src/train/optimizers.js';
import { randoms } from '../helpers/random.js';

const SHAPES = [[3, 4], [4]];

function makeVariables(prefix: string): tf.Variable[] {
  return tf.tidy(() =>
    SHAPES.map((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.variable(tf.tensor(randoms(size, i + 1), shape), true, `${prefix}-v${i}`);
    }),
  );
}

function step(optimizer: ReturnType<typeof createOptimizer>, variables: tf.Variable[], k: number): void {
  tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    variables.forEach((v, i) => {
      grads[v.name] = tf.tensor(randoms(v.size, 100 * k + i + 7), v.shape);
    });
    optimizer.apply(grads, variables);
  });
}

/** 6 steps: straight through, resumed from a state after 3, restarted afresh after 3. */
async function run(backend: string, config: OptimizerConfig) {
  tf.setBackend(backend);
  const straight = makeVariables(`${backend}-straight`);
  const a = createOptimizer(tf, config);
  for (let k = 0; k < 6; k++) step(a, straight, k);
  a.dispose();

  const resumed = makeVariables(`${backend}-resumed`);
  const first = createOptimizer(tf, config);
  for (let k = 0; k < 3; k++) step(first, resumed, k);
  const state = await first.getState(resumed);
  first.dispose();
  const second = createOptimizer(tf, config);
  await second.setState(state, resumed);
  for (let k = 3; k < 6; k++) step(second, resumed, k);
  second.dispose();

  const restarted = makeVariables(`${backend}-restarted`);
  const b = createOptimizer(tf, config);
  for (let k = 0; k < 3; k++) step(b, restarted, k);
  b.dispose();
  const c = createOptimizer(tf, config);
  for (let k = 3; k < 6; k++) step(c, restarted, k);
  c.dispose();

  const values = (vs: tf.Variable[]) => vs.flatMap((v) => Array.from(v.dataSync()));
  const out = { straight: values(straight), resumed: values(resumed), restarted: values(restarted), state };
  tf.dispose([...straight, ...resumed, ...restarted]);
  return out;
}

function maxDifference(a: number[], b: number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}

let previous = '';
before(async () => {
  await initBackend({ backend: 'wasm' });
  previous = tf.getBackend();
});
after(() => {
  tf.setBackend(previous);
});

describe('optimizer state', () => {
  const cases: [string, OptimizerConfig][] = [
    ['cpu', { type: 'adam', learningRate: 0.05 }],
    ['cpu', { type: 'adamw', learningRate: 0.05, weightDecay: 0.1 }],
    ['wasm', { type: 'adam', learningRate: 0.05 }],
    ['wasm', { type: 'adamw', learningRate: 0.05, weightDecay: 0.1 }],
    ['cpu', { type: 'sgd', learningRate: 0.05, momentum: 0.9 }],
    ['cpu', { type: 'rmsprop', learningRate: 0.01 }],
  ];
  for (const [backend, config] of cases)
    test(`${config.type} on ${backend} resumes where it stopped`, async () => {
      const { straight, resumed, restarted, state } = await run(backend, config);
      assert.equal(state.iterations, 3, 'three steps were taken before the state was read');
      const resumedGap = maxDifference(straight, resumed);
      const restartedGap = maxDifference(straight, restarted);
      assert.ok(resumedGap <= 1e-6, `resumed run is ${resumedGap} away from the uninterrupted one`);
      assert.ok(restartedGap > 1e-4, `a fresh optimizer should differ, gap ${restartedGap}`);
    });

  test('a state of another optimizer or other variables is refused', async () => {
    tf.setBackend('cpu');
    const variables = makeVariables('refuse');
    const adam = createOptimizer(tf, { type: 'adam', learningRate: 0.01 });
    step(adam, variables, 0);
    const state: OptimizerState = await adam.getState(variables);
    adam.dispose();
    const rms = createOptimizer(tf, { type: 'rmsprop', learningRate: 0.01 });
    await assert.rejects(rms.setState(state, variables), InvalidArgumentError);
    rms.dispose();
    const other = createOptimizer(tf, { type: 'adam', learningRate: 0.01 });
    await assert.rejects(other.setState(state, variables.slice(0, 1)), /slot/);
    other.dispose();
    tf.dispose(variables);
  });
});
