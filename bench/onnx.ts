/**
 * `analyze` on an ONNX file against the onnx package's own loading and shape inference, in one run.
 *
 *   node --import tsx bench/onnx.ts [--repeats 5]
 *
 * bench/onnx_anchor.py exports torchvision's ResNet-50 (random weights, Debian's python3-torch and
 * python3-torchvision) to a temporary ONNX file and times onnx.load and
 * onnx.shape_inference.infer_shapes on it (python3-onnx); it runs first, so the two sides never
 * share the cores. Parsimony's side is `analyzeOnnxFile` in this process (read, decode, shape
 * inference, costs) and the whole `parsimony analyze model.onnx --json` command as a child process
 * (node and tsx start-up included). Medians over the repeats after one warm-up. Goal: under 1 s.
 *
 * Then inference latency of exported zoo models (random weights, seed 0): LeNet-300-100, LeNet-5
 * and MobileNetV2 (alpha 0.35, 224x224), each exported by `exportOnnx` and run in onnxruntime-node
 * (1 intra-op thread) and, in the same process, in TensorFlow.js on the wasm backend; batch 1 and
 * batch 32, median of `--latency-repeats` (default 30) after a warm-up; the largest output
 * difference is printed beside.
 *
 * Then int8: bench/onnx_torch_anchor.py trains LeNet-300-100, LeNet-5 and MobileNetV2 (alpha 0.35,
 * 28x28) in PyTorch on `--train-samples` Fashion-MNIST images (standardised here as Parsimony does,
 * `--epochs` epochs), exports each to ONNX and times it in PyTorch (1 thread). The same file then
 * runs in onnxruntime-node (1 thread), imported as a spec in tfjs wasm (import-spec.ts), and is
 * quantized by `compressOnnxFile` to static QDQ int8 (per-channel weights, activations calibrated
 * with `--calibration` on 256 training images); accuracy on the 10,000 test images of both files as
 * written, and their latencies. `--only analyze|latency|int8` runs one part.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { buildModelWithWeights, readModelWeights } from '../src/compress/model-weights.js';
import { compressOnnxFile, validateOnnxRecipe } from '../src/compress/onnx/compress-onnx.js';
import { importOnnxFile } from '../src/compress/onnx/import-spec.js';
import { loadDataset } from '../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../src/data/transforms.js';
import { evaluateModel } from '../src/deploy/evaluate.js';
import { exportOnnx } from '../src/deploy/onnx-export.js';
import { initBackend } from '../src/models/backends/index.js';
import { analyzeOnnxFile } from '../src/models/formats/onnx/analyze.js';
import { modelProtoType } from '../src/models/formats/onnx/proto.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { zooModel } from '../src/models/zoo/index.js';
import { BenchArgs } from './lib/args.js';
import { requirePythonModules, runPythonJsonLines } from './lib/python.js';
import { median } from './lib/stats.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['repeats', 'latency-repeats', 'only', 'train-samples', 'epochs', 'calibration']);
const repeats = args.count('repeats', 5);
const latencyRepeats = args.count('latency-repeats', 30);
const only = args.string('only', '');
const trainSamples = args.count('train-samples', 20000);
const epochs = args.count('epochs', 1);
const calibration = args.string('calibration', 'percentile');
const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function timeMedian(run: () => Promise<unknown>): Promise<number> {
  await run(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < latencyRepeats; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Exported zoo models in onnxruntime-node against the same models in tfjs wasm, same process. */
async function latency(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  const models: [string, string, Record<string, number>][] = [
    ['LeNet-300-100', 'lenet-300-100', {}],
    ['LeNet-5', 'lenet-5', {}],
    ['MobileNetV2 alpha 0.35, 224', 'mobilenet-v2', { alpha: 0.35 }],
  ];
  const rows: string[][] = [];
  for (const [label, name, options] of models) {
    process.stderr.write(`[latency] ${label}...\n`);
    const spec = zooModel(name, options);
    const model = await buildTfjsModel(spec, { seed: 0 });
    const proto = exportOnnx(readModelWeights(model, spec));
    const type = modelProtoType();
    const bytes = type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const input = spec.inputs[0];
    for (const batch of [1, 32]) {
      const x = new Float32Array(batch * input.shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
      const feeds = { [input.name]: new ort.Tensor('float32', x, [batch, ...input.shape]) };
      const xt = tf.tensor(x, [batch, ...input.shape]);
      const predict = async () => {
        const y = model.predict(xt) as tf.Tensor;
        const values = await y.data();
        y.dispose();
        return values;
      };
      const onnxMs = await timeMedian(() => session.run(feeds));
      const tfjsMs = await timeMedian(predict);
      const want = await predict();
      const got = (await session.run(feeds))[spec.outputs[0]].data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
      rows.push([
        label,
        String(batch),
        `${onnxMs.toFixed(3)} ms`,
        `${tfjsMs.toFixed(3)} ms`,
        `${(tfjsMs / onnxMs).toFixed(1)}x`,
        worst.toExponential(1),
      ]);
      xt.dispose();
    }
    await session.release();
    model.dispose();
  }
  process.stdout.write(
    `\nExported models: onnxruntime-node ${ort.env.versions?.common ?? ''} (1 thread) against tfjs wasm, median of ${latencyRepeats}\n\n`,
  );
  process.stdout.write(
    `${markdownTable(['model', 'batch', 'onnxruntime-node', 'tfjs wasm', 'tfjs / ort', 'max |diff|'], rows)}\n`,
  );
}

async function main(): Promise<void> {
  if (only === '' || only === 'analyze') await analyzeBench();
  if (only === '' || only === 'latency') await latency();
  if (only === '' || only === 'int8') await int8Bench();
}

/** PyTorch-trained models: the same file in onnxruntime, tfjs wasm (imported) and PyTorch; int8 static QDQ against float32. */
async function int8Bench(): Promise<void> {
  requirePythonModules('bench/onnx.ts', { torch: 'python3-torch', torchvision: 'python3-torchvision' });
  await initBackend({ backend: 'wasm' });
  const dir = mkdtempSync(path.join(tmpdir(), 'parsimony-bench-int8-'));
  try {
    const bundle = await loadDataset('fashion-mnist');
    const splits = splitBundle(bundle, { seed: 0 });
    const train = fitStandardScaler(splits.train).transform(splits.train);
    const n = Math.min(trainSamples, train.numSamples);
    writeFileSync(
      path.join(dir, 'x.f32'),
      new Uint8Array(train.data.buffer, train.data.byteOffset, n * 784 * 4),
    );
    writeFileSync(path.join(dir, 'y.u8'), Uint8Array.from(train.labels.subarray(0, n)));
    process.stderr.write(`[python] training and exporting on ${n} images, ${epochs} epoch(s)...\n`);
    const records = (await runPythonJsonLines(path.join(import.meta.dirname, 'onnx_torch_anchor.py'), [
      ...['--data', dir, '--out', dir, '--epochs', String(epochs), '--repeats', String(latencyRepeats)],
      ...['--threads', '1'],
    ])) as {
      model: string;
      file: string;
      params: number;
      torch: Record<string, number>;
      torch_version: string;
    }[];
    const latencyRows: string[][] = [];
    const int8Rows: string[][] = [];
    const x = (batch: number) => Float32Array.from(train.data.subarray(0, batch * 784));
    for (const r of records) {
      process.stderr.write(`[int8] ${r.model}...\n`);
      const out = path.join(dir, `${r.model}-int8.onnx`);
      const steps = validateOnnxRecipe([
        { method: 'quantize', options: { activations: calibration, granularity: 'channel' } },
      ]);
      await compressOnnxFile(r.file, steps, out, { dataset: 'fashion-mnist', seed: 0 });
      const weights = importOnnxFile(r.file);
      const imported = await buildModelWithWeights(weights);
      const sessions = await Promise.all(
        [r.file, out].map((f) =>
          ort.InferenceSession.create(f, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
        ),
      );
      const ms: Record<string, Record<number, number>> = { float: {}, int8: {}, tfjs: {} };
      let worst = 0;
      for (const batch of [1, 32]) {
        const feeds = { input: new ort.Tensor('float32', x(batch), [batch, 1, 28, 28]) };
        ms.float[batch] = await timeMedian(() => sessions[0].run(feeds));
        ms.int8[batch] = await timeMedian(() => sessions[1].run(feeds));
        const xt = tf.tensor(x(batch), [batch, 28, 28, 1]);
        const predict = async () => {
          const y = imported.predict(xt) as tf.Tensor;
          const values = await y.data();
          y.dispose();
          return values;
        };
        ms.tfjs[batch] = await timeMedian(predict);
        const want = (await sessions[0].run(feeds)).output.data as Float32Array;
        const got = await predict();
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
        xt.dispose();
      }
      await Promise.all(sessions.map((s) => s.release()));
      imported.dispose();
      const float = await evaluateModel(r.file, { dataset: 'fashion-mnist', seed: 0, repeats: 1 });
      const int8 = await evaluateModel(out, { dataset: 'fashion-mnist', seed: 0, repeats: 1 });
      const label =
        r.model === 'mobilenet-v2'
          ? 'MobileNetV2 alpha 0.35, 28x28'
          : r.model === 'lenet-5'
            ? 'LeNet-5'
            : 'LeNet-300-100';
      for (const batch of [1, 32])
        latencyRows.push([
          label,
          r.params.toLocaleString('en-US'),
          String(batch),
          `${ms.float[batch].toFixed(3)} ms`,
          `${ms.tfjs[batch].toFixed(3)} ms`,
          `${r.torch[String(batch)].toFixed(3)} ms`,
          worst.toExponential(1),
        ]);
      int8Rows.push([
        label,
        `${(100 * float.accuracy).toFixed(2)}%`,
        `${(100 * int8.accuracy).toFixed(2)}%`,
        `${(100 * (int8.accuracy - float.accuracy)).toFixed(2)}`,
        `${ms.float[1].toFixed(3)} / ${ms.int8[1].toFixed(3)} ms (${(ms.float[1] / ms.int8[1]).toFixed(2)}x)`,
        `${ms.float[32].toFixed(3)} / ${ms.int8[32].toFixed(3)} ms (${(ms.float[32] / ms.int8[32]).toFixed(2)}x)`,
        `${(float.fileBytes / 1024).toFixed(0)} / ${(int8.fileBytes / 1024).toFixed(0)} KiB`,
      ]);
    }
    process.stdout.write(
      `\nPyTorch-trained models (${n} Fashion-MNIST images, ${epochs} epoch(s)), the same ONNX file in onnxruntime-node ${ort.env.versions?.common ?? ''} (1 thread), imported as a spec in tfjs wasm, and the PyTorch model itself (torch ${records[0]?.torch_version}, 1 thread); median of ${latencyRepeats}\n\n`,
    );
    process.stdout.write(
      `${markdownTable(['model', 'params', 'batch', 'onnxruntime-node', 'tfjs wasm', 'PyTorch', 'max |diff| tfjs vs ort'], latencyRows)}\n`,
    );
    process.stdout.write(
      `\nint8 static QDQ (per-channel weights, ${calibration} calibration on 256 training images) against float32, onnxruntime-node 1 thread; accuracy on the 10,000 test images of the files as written\n\n`,
    );
    process.stdout.write(
      `${markdownTable(['model', 'float32 acc', 'int8 acc', 'change (points)', 'batch 1: float / int8', 'batch 32: float / int8', 'file'], int8Rows)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function analyzeBench(): Promise<void> {
  requirePythonModules('bench/onnx.ts', {
    torch: 'python3-torch',
    torchvision: 'python3-torchvision',
    onnx: 'python3-onnx',
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'parsimony-bench-onnx-'));
  try {
    const file = path.join(dir, 'resnet50.onnx');
    process.stderr.write('[python] exporting ResNet-50 and timing onnx.load + infer_shapes...\n');
    const records = await runPythonJsonLines(path.join(import.meta.dirname, 'onnx_anchor.py'), [
      '--out',
      file,
      '--repeats',
      String(repeats),
    ]);
    const anchor = records.find((r) => 'load_ms' in r) as {
      load_ms: number[];
      infer_ms: number[];
      onnx: string;
    };
    const load = median(anchor.load_ms);
    const infer = median(anchor.infer_ms);
    const both = median(anchor.load_ms.map((l, i) => l + anchor.infer_ms[i]));

    process.stderr.write('[parsimony] analyze...\n');
    const inProcess: number[] = [];
    let analysis = analyzeOnnxFile(file); // warm-up
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      analysis = analyzeOnnxFile(file);
      inProcess.push(performance.now() - t);
    }
    const command: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      const t = performance.now();
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/bin.ts', 'analyze', file, '--json'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        },
      );
      if (r.status !== 0) throw new Error(`parsimony analyze failed: ${r.stderr}`);
      if (i > 0) command.push(performance.now() - t);
    }
    // The installed command runs the compiled dist/ (what `npm install` builds), without tsx.
    process.stderr.write('[parsimony] building dist/ for the installed command...\n');
    const build = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    if (build.status !== 0) throw new Error(`tsc build failed: ${build.stdout}${build.stderr}`);
    const compiled: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, ['bin/parsimony.js', 'analyze', file, '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error(`parsimony analyze (compiled) failed: ${r.stderr}`);
      if (i > 0) compiled.push(performance.now() - t);
    }
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const size = statSync(file).size / 2 ** 20;
    process.stdout.write(
      `ResNet-50 ONNX (${size.toFixed(1)} MiB, opset 13; ${analysis.params.toLocaleString('en-US')} parameters, ${(analysis.macs / 1e9).toFixed(3)} GMACs), median of ${repeats}\n\n`,
    );
    process.stdout.write(
      `${markdownTable(
        ['what', 'time'],
        [
          [`onnx ${anchor.onnx}: onnx.load`, ms(load)],
          ['onnx: shape_inference.infer_shapes', ms(infer)],
          ['onnx: load + infer_shapes', ms(both)],
          ['Parsimony: analyzeOnnxFile (read, decode, shapes, costs)', ms(median(inProcess))],
          [
            'Parsimony: `parsimony analyze model.onnx --json` (whole process, compiled dist/ as installed)',
            ms(median(compiled)),
          ],
          [
            'Parsimony: the same through tsx (whole process, TypeScript compiled on load)',
            ms(median(command)),
          ],
        ],
      )}\n`,
    );
    const goal = (x: number) => (x < 1000 ? 'met' : 'NOT met');
    process.stdout.write(
      `\ngoal (analyze under 1 s): in-process ${goal(median(inProcess))}, whole installed command ${goal(median(compiled))}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
