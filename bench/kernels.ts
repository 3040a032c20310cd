/**
 * Parsimony's wasm kernels against wasm's own and the cpu backend, in one run.
 *
 *   node --import tsx bench/kernels.ts [--skip-cpu]
 *
 * Every kernel LeNet-5 and LeNet-300-100 run in a training step at batch 128, timed three ways in
 * this process: wasm before Parsimony's kernels are registered ("missing" where wasm has none),
 * wasm after (through initBackend, the path training takes), and the cpu backend. Then one full
 * training step (forward, backward, Adam update) per network through optimizer.minimize (tf.variableGrads
 * underneath) and through tfjs-layers' trainOnBatch, and a per-kernel profile of LeNet-5's step.
 * Times are medians of repeated calls after warm-up.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/models/backends/index.js';
import { markdownTable } from './lib/table.js';

const BATCH = 128;
// `--skip-cpu` leaves the cpu column empty: the cpu backend's conv gradients take minutes per call.
const skipCpu = process.argv.includes('--skip-cpu');
type Attrs = Record<string, unknown>;

interface KernelCase {
  network: string;
  label: string;
  kernel: string;
  inputs: Record<string, number[]>;
  attrs: Attrs;
}

const conv = (x: number[], f: number[]) => ({
  strides: [1, 1],
  pad: 'valid',
  dataFormat: 'NHWC',
  dilations: [1, 1],
  x,
  f,
});

function lenet5Cases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const add = (label: string, kernel: string, inputs: Record<string, number[]>, attrs: Attrs = {}) =>
    cases.push({ network: 'LeNet-5', label, kernel, inputs, attrs });
  const convs: Array<[string, number[], number[], number[]]> = [
    ['conv1', [BATCH, 28, 28, 1], [5, 5, 1, 20], [BATCH, 24, 24, 20]],
    ['conv2', [BATCH, 12, 12, 20], [5, 5, 20, 50], [BATCH, 8, 8, 50]],
  ];
  for (const [name, x, f, y] of convs) {
    const { x: _x, f: _f, ...attrs } = conv(x, f);
    add(`${name} forward`, 'Conv2D', { x, filter: f }, attrs);
    add(`${name} dW`, 'Conv2DBackpropFilter', { x, dy: y }, { ...attrs, filterShape: f });
    add(`${name} dx`, 'Conv2DBackpropInput', { dy: y, filter: f }, { ...attrs, inputShape: x });
  }
  for (const [name, x, y] of [
    ['pool1', [BATCH, 24, 24, 20], [BATCH, 12, 12, 20]],
    ['pool2', [BATCH, 8, 8, 50], [BATCH, 4, 4, 50]],
  ] as Array<[string, number[], number[]]>) {
    const attrs = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' };
    add(`${name} forward`, 'MaxPool', { x }, attrs);
    add(`${name} grad`, 'MaxPoolGrad', { dy: y, input: x, output: y }, attrs);
  }
  cases.push(...denseCases('LeNet-5', [800, 500, 10]));
  return cases;
}

function denseCases(network: string, widths: number[]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const [n, m] = [widths[i], widths[i + 1]];
    const mk = (label: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean) =>
      cases.push({
        network,
        label: `fc${i + 1} ${label}`,
        kernel: 'BatchMatMul',
        inputs: { a, b },
        attrs: { transposeA, transposeB },
      });
    mk(`forward ${BATCH}x${n}·${n}x${m}`, [1, BATCH, n], [1, n, m], false, false);
    mk('dW = xᵀ·dy (transposeA)', [1, BATCH, n], [1, BATCH, m], true, false);
    if (i > 0 || network === 'LeNet-5') mk('dx = dy·Wᵀ (transposeB)', [1, BATCH, m], [1, n, m], false, true);
  }
  return cases;
}

/** Median milliseconds per call: warm-up, then repeats until ~300 ms or 50 calls. */
function time(fn: () => void): number {
  const w0 = performance.now();
  fn();
  const first = performance.now() - w0;
  // The cpu backend's convolutions take seconds: one call is measurement enough.
  if (first > 1000) return first;
  // Slow ops (the cpu backend's convolutions) get one warm-up call and three samples.
  if (performance.now() - w0 < 100) for (let i = 0; i < 2; i++) fn();
  const minSamples = performance.now() - w0 < 300 ? 5 : 3;
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minSamples || (performance.now() - start < 300 && samples.length < 50)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function timeKernel(c: KernelCase): number | undefined {
  process.stderr.write(`  ${tf.getBackend()} ${c.network} ${c.label}\n`);
  if (tf.getKernel(c.kernel, tf.getBackend()) === undefined) return undefined;
  const inputs: tf.NamedTensorMap = {};
  for (const [name, shape] of Object.entries(c.inputs)) inputs[name] = tf.randomUniform(shape, -1, 1);
  const ms = time(() => {
    const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as never) as tf.Tensor;
    out.dataSync();
    out.dispose();
  });
  tf.dispose(Object.values(inputs));
  return ms;
}

// ---- Training steps -------------------------------------------------------------------------

interface Net {
  name: string;
  inputShape: number[];
  build(tfl: typeof import('@tensorflow/tfjs-layers')): import('@tensorflow/tfjs-layers').Sequential;
}

const NETS: Net[] = [
  {
    name: 'LeNet-5',
    inputShape: [28, 28, 1],
    build: (tfl) =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 20, kernelSize: 5 }),
          tfl.layers.maxPooling2d({ poolSize: 2 }),
          tfl.layers.conv2d({ filters: 50, kernelSize: 5 }),
          tfl.layers.maxPooling2d({ poolSize: 2 }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 500, activation: 'relu' }),
          tfl.layers.dense({ units: 10, activation: 'softmax' }),
        ],
      }),
  },
  {
    name: 'LeNet-300-100',
    inputShape: [784],
    build: (tfl) =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [784], units: 300, activation: 'relu' }),
          tfl.layers.dense({ units: 100, activation: 'relu' }),
          tfl.layers.dense({ units: 10, activation: 'softmax' }),
        ],
      }),
  },
];

async function trainingSteps(net: Net, withLayers = true): Promise<{ custom: number; layers?: number }> {
  process.stderr.write(`  ${tf.getBackend()} ${net.name} training step\n`);
  const tfl = await import('@tensorflow/tfjs-layers');
  const model = net.build(tfl);
  const x = tf.randomUniform([BATCH, ...net.inputShape]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const optimizer = tf.train.adam(1e-3);
  const custom = time(() => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    loss?.dataSync();
    loss?.dispose();
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const layers = withLayers ? await timeAsync(() => model.trainOnBatch(x, y)) : undefined;
  model.dispose();
  tf.dispose([x, y]);
  optimizer.dispose();
  return { custom, layers };
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const w0 = performance.now();
  await fn();
  if (performance.now() - w0 > 1000) return performance.now() - w0;
  await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < 1000 && samples.length < 30)) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

async function profileStep(net: Net): Promise<Array<[string, number, number]>> {
  const tfl = await import('@tensorflow/tfjs-layers');
  const model = net.build(tfl);
  const x = tf.randomUniform([BATCH, ...net.inputShape]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const optimizer = tf.train.adam(1e-3);
  const step = () => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    loss?.dataSync();
    loss?.dispose();
  };
  for (let i = 0; i < 3; i++) step();
  const byKernel = new Map<string, [number, number]>();
  const reps = 5;
  for (let r = 0; r < reps; r++) {
    const info = await tf.profile(step);
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const [t, n] = byKernel.get(k.name) ?? [0, 0];
      byKernel.set(k.name, [t + ms / reps, n + 1 / reps]);
    }
  }
  model.dispose();
  tf.dispose([x, y]);
  optimizer.dispose();
  return [...byKernel.entries()]
    .map(([k, [t, n]]) => [k, t, n] as [string, number, number])
    .sort((a, b) => b[1] - a[1]);
}

// ---- Run ------------------------------------------------------------------------------------

const fmt = (ms: number | undefined) =>
  ms === undefined ? 'missing' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);

async function main(): Promise<void> {
  const cases = [...lenet5Cases(), ...denseCases('LeNet-300-100', [784, 300, 100, 10])];
  // wasm exactly as tfjs ships it: selected before Parsimony registers anything.
  await import('@tensorflow/tfjs-layers');
  await import('@tensorflow/tfjs-backend-cpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const wasmFile = createRequire(import.meta.url).resolve(
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  );
  wasm.setWasmPaths(`${path.dirname(wasmFile)}${path.sep}`);
  await tf.setBackend('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const base = cases.map(timeKernel);
  const baseSteps: Record<string, number | undefined> = {};
  for (const net of NETS) {
    try {
      baseSteps[net.name] = (await trainingSteps(net, false)).custom;
    } catch {
      baseSteps[net.name] = undefined; // a kernel is missing
    }
  }
  const info = await initBackend({ backend: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`expected the wasm backend, got ${info.name}`);
  const ours = cases.map(timeKernel);
  const steps: Record<string, { custom: number; layers?: number }> = {};
  for (const net of NETS) steps[net.name] = await trainingSteps(net);
  const profile = await profileStep(NETS[0]);
  await tf.setBackend('cpu');
  const cpu = skipCpu ? cases.map(() => undefined) : cases.map(timeKernel);
  await tf.setBackend('wasm');

  console.log(
    `wasm: SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'} (${wasm.getThreadsCount()}), batch ${BATCH}\n`,
  );
  const rows = cases.map((c, i) => {
    const speedUp = base[i] === undefined ? '—' : `${(base[i] / (ours[i] as number)).toFixed(1)}x`;
    return [
      c.network,
      c.label,
      c.kernel,
      fmt(base[i]),
      fmt(ours[i]),
      skipCpu ? 'skipped' : fmt(cpu[i]),
      speedUp,
    ];
  });
  console.log(
    markdownTable(
      ['network', 'op', 'kernel', 'wasm default ms', 'Parsimony ms', 'cpu ms', 'speed-up vs wasm'],
      rows,
    ),
  );
  console.log('\nOne training step (forward + backward + Adam), batch 128, ms:\n');
  console.log(
    markdownTable(
      ['network', 'wasm default (minimize)', 'Parsimony wasm (minimize)', 'Parsimony wasm (trainOnBatch)'],
      NETS.map((n) => [n.name, fmt(baseSteps[n.name]), fmt(steps[n.name].custom), fmt(steps[n.name].layers)]),
    ),
  );
  console.log(
    '\nLeNet-5 step on Parsimony wasm, time per kernel (tf.profile, includes profiler overhead):\n',
  );
  const total = profile.reduce((s, [, t]) => s + t, 0);
  console.log(
    markdownTable(
      ['kernel', 'ms', 'calls', 'share'],
      profile
        .slice(0, 15)
        .map(([k, t, n]) => [k, fmt(t), n.toFixed(0), `${((100 * t) / total).toFixed(0)}%`]),
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
