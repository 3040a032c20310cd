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
 * difference is printed beside. `--only latency` or `--only analyze` runs one part.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { readModelWeights } from '../src/compress/model-weights.js';
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

const args = new BenchArgs(['repeats', 'latency-repeats', 'only']);
const repeats = args.count('repeats', 5);
const latencyRepeats = args.count('latency-repeats', 30);
const only = args.string('only', '');
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
  if (only !== 'latency') await analyzeBench();
  if (only !== 'analyze') await latency();
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
          ['Parsimony: `parsimony analyze model.onnx --json` (whole process)', ms(median(command))],
        ],
      )}\n`,
    );
    const goal = median(inProcess) < 1000 ? 'met' : 'NOT met';
    process.stdout.write(`\ngoal (analyze under 1 s): ${goal}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
