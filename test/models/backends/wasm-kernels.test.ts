/**
 * Parsimony's wasm kernels against the cpu backend on seeded random inputs: forward values and
 * gradients (tf.grads through the op), over shapes, strides, paddings and dilations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/models/backends/index.js';
import { conv2dConfigs } from '../../../src/models/backends/kernels/conv2d.js';
import { conv2dBackpropConfigs } from '../../../src/models/backends/kernels/conv2d-backprop.js';
import { heapMemory } from '../../../src/models/backends/kernels/wasm-calls.js';
import { registerParsimonyKernels } from '../../../src/models/backends/register-kernels.js';
import { countCorrect, crossEntropy } from '../../../src/train/gradient-step.js';
import { randoms } from '../../helpers/random.js';

type Pad = 'valid' | 'same';

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `fn` on each backend with the same inputs; returns each output's values per backend. */
function onBoth(inputs: Array<{ shape: number[]; seed: number }>, fn: (...xs: tf.Tensor[]) => tf.Tensor[]) {
  const results: Record<string, Float32Array[]> = {};
  for (const backend of ['cpu', 'wasm']) {
    tf.setBackend(backend);
    results[backend] = tf.tidy(() => {
      const xs = inputs.map(({ shape, seed }) => tf.tensor(randoms(sizeOf(shape), seed), shape));
      return fn(...xs).map((t) => t.dataSync() as Float32Array);
    });
  }
  tf.setBackend('wasm');
  return results as { cpu: Float32Array[]; wasm: Float32Array[] };
}

function assertClose(actual: Float32Array[], expected: Float32Array[], label: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, label);
  actual.forEach((a, i) => {
    assert.equal(a.length, expected[i].length, `${label} output ${i} size`);
    let scale = 1;
    for (const v of expected[i]) scale = Math.max(scale, Math.abs(v));
    for (let k = 0; k < a.length; k++) {
      const diff = Math.abs(a[k] - expected[i][k]);
      if (!(diff <= tol * scale))
        assert.fail(`${label} output ${i}[${k}]: wasm ${a[k]} vs cpu ${expected[i][k]} (scale ${scale})`);
    }
  });
}

/** Forward values plus the gradient of a weighted sum (weights random, so every output counts). */
function check(
  label: string,
  inputs: Array<{ shape: number[]; seed: number }>,
  op: (...xs: tf.Tensor[]) => tf.Tensor,
  tol?: number,
): void {
  const r = onBoth(inputs, (...xs) => {
    const y = op(...xs);
    const w = tf.tensor(randoms(y.size, 99), y.shape);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(op(...args), w)))(xs);
    return [y, ...grads];
  });
  assertClose(r.wasm, r.cpu, label, tol);
}

let startTensors = 0;
let previousBackend = '';

before(async () => {
  const info = await initBackend({ backend: 'wasm' });
  assert.equal(info.name, 'wasm');
  previousBackend = tf.getBackend();
  startTensors = tf.memory().numTensors;
});

after(() => {
  tf.setBackend(previousBackend);
  assert.equal(tf.memory().numTensors, startTensors, 'tests leaked tensors');
});

describe('registration', () => {
  test("the installed tfjs-backend-wasm exposes the heap Parsimony's generated kernels run on", () => {
    const memory = heapMemory(tf.backend() as never);
    assert.ok(memory instanceof WebAssembly.Memory);
  });

  test('registers each kernel once, on wasm only', () => {
    const names = registerParsimonyKernels();
    assert.deepEqual(registerParsimonyKernels(), names);
    for (const name of [
      'BatchMatMul',
      '_FusedMatMul',
      'Conv2D',
      'FusedConv2D',
      'Identity',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'MaxPoolGrad',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
    ]) {
      assert.ok(names.includes(name), name);
      assert.ok(tf.getKernel(name, 'wasm'), name);
    }
  });
});

describe('BatchMatMul and _FusedMatMul with transpose flags', () => {
  for (const [m, k, n, batch] of [
    [3, 4, 5, 1],
    [17, 33, 9, 2],
    [64, 1, 7, 3],
  ])
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const aShape = batch === 1 ? (ta ? [k, m] : [m, k]) : ta ? [batch, k, m] : [batch, m, k];
        const bShape = batch === 1 ? (tb ? [n, k] : [k, n]) : tb ? [batch, n, k] : [batch, k, n];
        const inputs = [
          { shape: aShape, seed: 1 },
          { shape: bShape, seed: 2 },
        ];
        test(`matMul ${aShape}x${bShape} tA=${ta} tB=${tb}`, () => {
          check('matMul', inputs, (a, b) => tf.matMul(a, b, ta, tb));
        });
        if (batch === 1)
          test(`fused matMul + bias + relu ${aShape}x${bShape} tA=${ta} tB=${tb}`, () => {
            check('fused', [...inputs, { shape: [n], seed: 3 }], (a, b, bias) =>
              tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' }),
            );
          });
      }
});

describe('matMul cases beside the GEMM fast path', () => {
  // Forward only: tfjs-core's BatchMatMul gradient does not reduce over a broadcast batch (on any backend).
  test('batched A times one matrix B (broadcast batch)', () => {
    const r = onBoth(
      [
        { shape: [3, 5, 7], seed: 1 },
        { shape: [7, 6], seed: 2 },
      ],
      (a, b) => [tf.matMul(a, b)],
    );
    assertClose(r.wasm, r.cpu, 'broadcast');
  });
  test('one matrix Aᵀ times batched Bᵀ', () => {
    const r = onBoth(
      [
        { shape: [1, 7, 5], seed: 1 },
        { shape: [4, 6, 7], seed: 2 },
      ],
      (a, b) => [tf.matMul(a, b, true, true)],
    );
    assertClose(r.wasm, r.cpu, 'broadcast tA tB');
  });
  test('fused matMul with bias and linear activation', () => {
    check(
      'fused linear',
      [
        { shape: [9, 12], seed: 1 },
        { shape: [12, 10], seed: 2 },
        { shape: [10], seed: 3 },
      ],
      (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'linear' }),
    );
  });
  test('matrices (rank 2) with fewer rows than a tile go to wasm’s kernel as a batch of one', () => {
    for (const rows of [1, 3])
      for (const activation of ['linear', 'relu']) {
        const r = onBoth(
          [
            { shape: [rows, 12], seed: 1 },
            { shape: [12, 10], seed: 2 },
            { shape: [10], seed: 3 },
          ],
          (a, b, bias) => [
            tf.engine().runKernel('_FusedMatMul', { a, b, bias }, {
              transposeA: false,
              transposeB: false,
              activation,
            } as never) as tf.Tensor,
            tf.engine().runKernel('BatchMatMul', { a: b, b: a }, {
              transposeA: true,
              transposeB: true,
            } as never) as tf.Tensor,
          ],
        );
        assertClose(r.wasm, r.cpu, `${rows} rows ${activation}`);
      }
  });
  test('fused matMul with an activation the GEMM does not fuse (elu)', () => {
    const r = onBoth(
      [
        { shape: [9, 12], seed: 1 },
        { shape: [12, 10], seed: 2 },
        { shape: [10], seed: 3 },
      ],
      (a, b, bias) => [tf.fused.matMul({ a, b, bias, activation: 'elu' })],
    );
    assertClose(r.wasm, r.cpu, 'fused elu');
  });
});

describe('Sum and Mean', () => {
  const cases: Array<[number[], number | number[], boolean]> = [
    [[4, 5, 6, 7], [0, 1, 2], false], // the bias-gradient and batch-norm shape: leading axes
    [[4, 5, 6, 7], [2, 0, 1], true], // unordered, keepDims
    [[9, 3], 0, false],
    [[1, 13], [0], true], // one row
    [[3, 4, 10], [0, 1], false], // 10 columns: a vector run and a scalar tail
    [[4, 5, 6], [1], false], // not leading: wasm's own kernel
    [[4, 5, 6], [0, 1, 2], false], // everything: wasm's own kernel
  ];
  for (const [shape, axis, keepDims] of cases)
    for (const op of ['sum', 'mean'] as const)
      test(`${op} of ${JSON.stringify(shape)} over ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`, () => {
        check(op, [{ shape, seed: 41 }], (x) =>
          op === 'sum' ? tf.sum(x, axis, keepDims) : tf.mean(x, axis, keepDims),
        );
      });
});

describe('Conv2D and FusedConv2D forward (patch matrix times the GEMM, bias and ReLU fused)', () => {
  const cases: Array<[number[], number[], number | [number, number], Pad | number]> = [
    [[2, 8, 8, 1], [5, 5, 1, 3], 1, 'valid'],
    [[3, 7, 9, 2], [3, 3, 2, 5], 1, 'same'],
    [[2, 9, 9, 3], [3, 3, 3, 2], 2, 'valid'],
    [[1, 12, 10, 2], [4, 3, 2, 3], [3, 2], 'same'],
    [[2, 5, 5, 4], [1, 1, 4, 6], 1, 'valid'], // pointwise: x is the patch matrix
    [[2, 6, 6, 4], [1, 1, 4, 6], 2, 'valid'], // 1x1 strided: a patch matrix again
    [[2, 12, 12, 20], [5, 5, 20, 50], 1, 'valid'], // LeNet-5's second convolution
    [[2, 7, 7, 3], [3, 3, 3, 4], 1, 1], // numeric padding
  ];
  for (const [xShape, fShape, strides, pad] of cases)
    for (const activation of ['linear', 'relu'] as const)
      test(`x ${xShape} filter ${fShape} strides ${strides} pad ${pad} bias + ${activation}`, () => {
        const r = onBoth(
          [
            { shape: xShape, seed: 51 },
            { shape: fShape, seed: 52 },
            { shape: [fShape[3]], seed: 53 },
          ],
          (x, filter, bias) => [
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: filter as tf.Tensor4D,
              strides,
              pad,
              bias,
              activation,
            }),
            tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad),
          ],
        );
        assertClose(r.wasm, r.cpu, `conv ${xShape} ${activation}`);
      });
  test('what the GEMM path does not cover (dilations, elu) goes to wasm’s own kernel', () => {
    const r = onBoth(
      [
        { shape: [2, 9, 9, 2], seed: 54 },
        { shape: [3, 3, 2, 3], seed: 55 },
        { shape: [3], seed: 56 },
      ],
      (x, filter, bias) => [
        tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NHWC', 2),
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: filter as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias,
          activation: 'elu',
        }),
      ],
    );
    assertClose(r.wasm, r.cpu, 'fallbacks');
  });
  test('in chunks of images when the patch matrix passes the budget', () => {
    const [, fused] = conv2dConfigs((name) => tf.getKernel(name, 'wasm'), { patchBudget: 300 });
    const xShape = [3, 7, 7, 3];
    const fShape = [2, 2, 3, 4];
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    const make = () => ({
      x: tf.tensor(randoms(sizeOf(xShape), 57), xShape),
      filter: tf.tensor(randoms(sizeOf(fShape), 58), fShape),
      bias: tf.tensor1d(randoms(4, 59)),
    });
    tf.setBackend('cpu');
    const cpu = tf.tidy(() => [
      (tf.engine().runKernel('FusedConv2D', make(), attrs as never) as tf.Tensor).dataSync() as Float32Array,
    ]);
    tf.setBackend('wasm');
    const wasm = tf.tidy(() => {
      const info = fused.kernelFunc({
        inputs: make(),
        backend: tf.backend(),
        attrs,
      } as never) as tf.TensorInfo;
      return [tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array];
    });
    assertClose(wasm, cpu, 'chunked forward');
  });
});

describe('clipped cross-entropy and the count of correct rows (one kernel each on wasm)', () => {
  // Probabilities with exact 0 and 1 (clipped: no gradient there), rows that tie, mixed targets.
  const probabilities = () => {
    const p = tf.softmax(tf.tensor(randoms(6 * 5, 71, -3, 3), [6, 5]));
    const edges = tf.tensor2d([
      [0, 1, 0, 0, 0],
      [0.25, 0.25, 0.25, 0.25, 0],
    ]);
    return tf.concat([p, edges]);
  };
  const targets = () =>
    tf.concat([
      tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5), 'float32'),
      tf.tensor2d([
        [0.5, 0.5, 0, 0, 0],
        [0, 0, 0, 0, 1],
      ]),
    ]);
  test('loss and probability gradient match the composed ops on cpu', () => {
    const r = onBoth([], () => {
      const p = probabilities();
      const t = targets();
      const [loss, grad] = [
        crossEntropy(tf, t, p, true),
        tf.grad((q: tf.Tensor) => crossEntropy(tf, t, q, true))(p),
      ];
      return [loss, grad];
    });
    assertClose(r.wasm, r.cpu, 'cross-entropy', 1e-5);
    assert.ok(
      r.wasm[1][30] === 0 && r.wasm[1][31] === 0,
      'no gradient where the probability was clipped (0 and 1)',
    );
  });
  test('correct rows: the first maximum, as argMax', () => {
    const labels = () => tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 0], 'int32');
    const r = onBoth([], () => [countCorrect(tf, probabilities(), labels())]);
    assertClose(r.wasm, r.cpu, 'correct count');
    assert.ok(r.wasm[0][0] >= 2, 'counts the rows whose maximum is the label (the tie counts its first)');
  });
});

describe('Identity shares the values instead of copying them', () => {
  test('a clone reads the same values and outlives the original', () => {
    const x = tf.tensor(randoms(20, 61), [4, 5]);
    const y = tf.clone(x);
    const expected = x.dataSync().slice();
    x.dispose();
    assert.deepEqual(y.dataSync(), expected, 'the clone keeps the values after the original is gone');
    y.dispose();
  });
  test('gradients read the tensors saved for them (shared, not copied) and nothing leaks', () => {
    const before = tf.memory().numBytes;
    const x = tf.tensor(randoms(4096, 62), [64, 64]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(x);
    assert.deepEqual(
      [...g.dataSync()].slice(0, 8),
      [...x.dataSync()].slice(0, 8).map((v) => (v > 0 ? 1 : 0)),
      'relu gradient from the saved input',
    );
    tf.dispose([x, g]);
    assert.equal(tf.memory().numBytes, before, 'nothing left behind');
  });
});

describe('conv2d gradients in chunks of images (a patch matrix larger than the budget)', () => {
  // A budget of 300 floats: with 'same' padding an image's patch matrix is 7x7 windows x 12 taps, so
  // the batch of 3 runs one image at a time; 'valid' stride 2 gives 3x3 windows, two images then one.
  // The filter gradient accumulates across chunks, the input gradient scatters into each chunk's images.
  const [chunked] = [conv2dBackpropConfigs({ patchBudget: 300 })];
  const kernel = (name: string) => chunked.find((c) => c.kernelName === name)!.kernelFunc;
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
    tf.tidy(() => {
      const info = kernel(name)({ inputs, backend: tf.backend(), attrs } as never) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(info);
    });
  for (const [pad, strides] of [
    ['same', 1],
    ['valid', 2],
  ] as const)
    test(`filter and input gradients match cpu, ${pad} stride ${strides}`, () => {
      const xShape: [number, number, number, number] = [3, 7, 7, 3];
      const fShape: [number, number, number, number] = [2, 2, 3, 2];
      const conv = () => {
        const x = tf.tensor4d(randoms(3 * 7 * 7 * 3, 31), xShape);
        const f = tf.tensor4d(randoms(2 * 2 * 3 * 2, 32), fShape);
        return {
          x,
          f,
          dy: tf.tensor(randoms(tf.conv2d(x, f, strides, pad).size, 33), tf.conv2d(x, f, strides, pad).shape),
        };
      };
      const attrs = { strides, pad, dataFormat: 'NHWC' };
      tf.setBackend('cpu');
      const cpu = tf.tidy(() => {
        const { x, f, dy } = conv();
        return [
          tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape }) as tf.Tensor,
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy, filter: f },
              { ...attrs, inputShape: xShape },
            ) as tf.Tensor,
        ].map((t) => t.dataSync() as Float32Array);
      });
      tf.setBackend('wasm');
      const wasm = tf.tidy(() => {
        const { x, f, dy } = conv();
        return [
          run('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape }),
          run('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xShape }),
        ].map((t) => t.dataSync() as Float32Array);
      });
      assertClose(wasm, cpu, `chunked ${pad} ${strides}`);
    });
});

describe('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput)', () => {
  const cases: Array<[number[], number[], number | [number, number], Pad]> = [
    [[2, 8, 8, 1], [5, 5, 1, 3], 1, 'valid'],
    [[3, 7, 9, 2], [3, 3, 2, 4], 1, 'same'],
    [[2, 9, 9, 3], [3, 3, 3, 2], 2, 'valid'],
    [[2, 10, 11, 3], [3, 2, 3, 5], 2, 'same'],
    [[1, 12, 10, 2], [4, 3, 2, 3], [3, 2], 'same'],
    [[2, 11, 12, 2], [2, 4, 2, 3], [2, 3], 'valid'],
    [[2, 5, 5, 4], [1, 1, 4, 6], 1, 'valid'],
    [[2, 6, 6, 8], [3, 3, 8, 4], 1, 'valid'],
    [[2, 9, 9, 6], [3, 3, 6, 4], 2, 'same'],
    [[2, 12, 12, 20], [5, 5, 20, 7], 1, 'valid'],
    [[1, 10, 11, 5], [3, 4, 5, 3], [2, 3], 'same'],
    // Long taps (576, 540 floats per patch row).
    [[2, 6, 6, 64], [3, 3, 64, 4], 1, 'valid'],
    [[2, 7, 7, 60], [3, 3, 60, 3], 2, 'same'],
  ];
  for (const [xShape, fShape, strides, pad] of cases)
    test(`x ${xShape} filter ${fShape} strides ${strides} ${pad}`, () => {
      check(
        'conv2d',
        [
          { shape: xShape, seed: 11 },
          { shape: fShape, seed: 12 },
        ],
        (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad),
      );
    });
  test('explicit padding', () => {
    check(
      'conv2d explicit',
      [
        { shape: [2, 7, 6, 2], seed: 13 },
        { shape: [3, 3, 2, 3], seed: 14 },
      ],
      (x, f) =>
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, [
          [0, 0],
          [2, 1],
          [0, 3],
          [0, 0],
        ]),
    );
  });
  for (const [strides, pad] of [
    [1, 'same'],
    [2, 'same'],
    [2, 'valid'],
  ] as Array<[number, Pad]>)
    test(`conv2dTranspose strides ${strides} ${pad} (Conv2DBackpropInput forward, both gradients)`, () => {
      const outH = pad === 'same' ? 5 * strides : (5 - 1) * strides + 3;
      check(
        'conv2dTranspose',
        [
          { shape: [2, 5, 5, 3], seed: 15 },
          { shape: [3, 3, 4, 3], seed: 16 },
        ],
        (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [2, outH, outH, 4], strides, pad),
      );
    });
});

describe('MaxPoolGrad', () => {
  const cases: Array<[number[], number | [number, number], number | [number, number], Pad]> = [
    [[2, 24, 24, 3], 2, 2, 'valid'], // windows tile the input
    [[2, 24, 24, 20], 2, 2, 'valid'], // LeNet-5's first pooling: tiled, vector channels only
    [[2, 8, 8, 50], 2, 2, 'valid'], // LeNet-5's second: tiled, vector and scalar channels
    [[2, 9, 7, 6], 2, 2, 'valid'], // tiled, the last row and column in no window
    [[2, 9, 10, 6], 3, 3, 'valid'], // tiled 3x3 (the general tiled pass), the last column in no window
    [[2, 7, 7, 2], 2, 2, 'same'], // stride = window but the last windows reach into padding
    [[3, 9, 8, 4], 3, 2, 'valid'],
    [[2, 9, 8, 4], 3, 2, 'same'],
    [[1, 10, 9, 1], [3, 2], [1, 2], 'same'],
    [[2, 6, 6, 5], 3, 1, 'valid'],
    [[2, 8, 8, 9], 2, 2, 'valid'],
    [[1, 7, 7, 13], 3, 2, 'same'],
  ];
  for (const [shape, size, strides, pad] of cases)
    test(`input ${shape} pool ${size} strides ${strides} ${pad}`, () => {
      check('maxPool', [{ shape, seed: 21 }], (x) => tf.maxPool(x as tf.Tensor4D, size, strides, pad));
    });
  test('ties go to the first maximum in the window, as on cpu (vector and scalar channels)', () => {
    // Inputs rounded to {-1, 0, 1}: most windows hold several equal maxima.
    const r = onBoth([{ shape: [2, 8, 8, 6], seed: 23 }], (x) => {
      const rounded = tf.round(x) as tf.Tensor4D;
      const w = tf.tensor(randoms(2 * 4 * 4 * 6, 98), [2, 4, 4, 6]);
      return [
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), w)))(rounded),
      ];
    });
    assertClose(r.wasm, r.cpu, 'maxPool ties');
  });
  test('avgPool gradient (wasm’s own kernel) still agrees', () => {
    check('avgPool', [{ shape: [2, 9, 9, 3], seed: 22 }], (x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'));
  });
});

describe('depthwise conv gradients', () => {
  const cases: Array<[number[], number[], number | [number, number], Pad, number | [number, number]]> = [
    [[2, 8, 8, 3], [3, 3, 3, 1], 1, 'same', 1],
    [[2, 9, 9, 2], [3, 3, 2, 2], 2, 'valid', 1],
    [[2, 10, 9, 3], [3, 2, 3, 3], 2, 'same', 1],
    [[1, 11, 11, 2], [3, 3, 2, 1], 1, 'same', 2],
    [[2, 12, 10, 2], [2, 3, 2, 2], 1, 'valid', [2, 3]],
    [[2, 7, 8, 4], [3, 3, 4, 1], [2, 1], 'same', 1],
    // Multiplier 1 with channels not a multiple of 4 (vector run plus scalar tail).
    [[2, 9, 9, 9], [3, 3, 9, 1], 2, 'same', 1],
    [[2, 6, 7, 8], [5, 5, 8, 1], 1, 'valid', 1],
  ];
  for (const [xShape, fShape, strides, pad, dilations] of cases.filter((c) => c[4] === 1))
    test(`x ${xShape} filter ${fShape} strides ${strides} ${pad} dilations ${dilations}`, () => {
      check(
        'depthwise',
        [
          { shape: xShape, seed: 31 },
          { shape: fShape, seed: 32 },
        ],
        (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations),
      );
    });
  // tfjs-core's depthwise gradient refuses dilations and the cpu kernels ignore them, so the dilated
  // cases call the kernels directly and compare with cpu on the equivalent undilated filter (zeros
  // inserted between taps).
  for (const [xShape, fShape, strides, pad, dilations] of cases.filter((c) => c[4] !== 1))
    test(`kernels directly: x ${xShape} filter ${fShape} strides ${strides} ${pad} dilations ${dilations}`, () => {
      const [dh, dw] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
      const [kh, kw, c, m] = fShape;
      const expandedShape = [(kh - 1) * dh + 1, (kw - 1) * dw + 1, c, m];
      const expand = (f: tf.Tensor) =>
        tf.slice(
          tf.reshape(
            tf.pad(tf.reshape(f, [kh, 1, kw, 1, c, m]), [
              [0, 0],
              [0, dh - 1],
              [0, 0],
              [0, dw - 1],
              [0, 0],
              [0, 0],
            ]),
            [kh * dh, kw * dw, c, m],
          ),
          [0, 0, 0, 0],
          expandedShape,
        );
      const run = (dilated: boolean) =>
        tf.tidy(() => {
          const x = tf.tensor(randoms(sizeOf(xShape), 36), xShape) as unknown as tf.Tensor4D;
          const f = tf.tensor(randoms(sizeOf(fShape), 37), fShape) as unknown as tf.Tensor4D;
          const filter = dilated ? f : (expand(f) as tf.Tensor4D);
          const y = tf.depthwiseConv2d(x, filter, strides, pad, 'NHWC', dilated ? dilations : 1);
          const dy = tf.tensor(randoms(y.size, 38), y.shape);
          const common = {
            strides,
            pad,
            dilations: dilated ? dilations : 1,
            dimRoundingMode: undefined,
          } as never;
          const kernel = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
            tf.engine().runKernel(name, inputs, { ...(common as object), ...attrs } as never) as tf.Tensor;
          let dW = kernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { filterShape: filter.shape });
          if (!dilated) dW = tf.stridedSlice(dW, [0, 0, 0, 0], expandedShape, [dh, dw, 1, 1]);
          const dX = kernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { inputShape: xShape });
          return [y, dW, dX].map((t) => t.dataSync() as Float32Array);
        });
      tf.setBackend('cpu');
      const expected = run(false);
      tf.setBackend('wasm');
      assertClose(run(true), expected, 'dilated depthwise kernels');
    });
  test('separableConv2d', () => {
    check(
      'separable',
      [
        { shape: [2, 8, 8, 3], seed: 33 },
        { shape: [3, 3, 3, 2], seed: 34 },
        { shape: [1, 1, 6, 4], seed: 35 },
      ],
      (x, d, p) => tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
    );
  });
});

describe('UnsortedSegmentSum', () => {
  test('forward with out-of-range ids dropped', () => {
    const r = onBoth([{ shape: [6, 3], seed: 41 }], (x) => [
      tf.unsortedSegmentSum(x, tf.tensor1d([0, 2, -1, 2, 4, 0], 'int32'), 3),
    ]);
    assertClose(r.wasm, r.cpu, 'unsortedSegmentSum');
  });
  test('gather gradient (embedding lookup)', () => {
    check('gather', [{ shape: [10, 4], seed: 42 }], (table) =>
      tf.gather(table, tf.tensor2d([1, 3, 3, 9, 0, 1], [2, 3], 'int32')),
    );
  });
});
