/**
 * Training-step time of larger zoo networks against PyTorch, in one run.
 *
 *   node --import tsx bench/zoo-training.ts [--steps 6] [--networks resnet-18,mobilenet-v2,vgg-16]
 *
 * Batch 32 of random images, cross-entropy, Adam 1e-3. The anchor is `bench/torch_zoo_step.py`
 * (torchvision's models, whose parameter counts match the zoo's exactly at these settings; Debian's
 * python3-torch and python3-torchvision, one thread), run first so the two never share the cores.
 * Times are the median step after one warm-up step (PyTorch) and the mean over the timed epoch
 * after a one-step warm-up epoch (Parsimony). No target is set for these networks; the table
 * shows where the wasm backend stands beyond the LeNets of bench/training.ts.
 */
import path from 'node:path';
import { initBackend } from '../src/models/backends/index.js';
import { analyzeModel } from '../src/models/complexity/analyze.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { zooModel } from '../src/models/zoo/index.js';
import { type TrainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { pythonModuleVersion, runPythonJsonLines } from './lib/python.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['steps', 'networks']);
const steps = args.count('steps', 6);
const BATCH = 32;
const CONFIGS: Record<string, { options: Record<string, number>; size: number; alpha?: number }> = {
  'resnet-18': { options: { inputSize: 32, numClasses: 10 }, size: 32 },
  'mobilenet-v2': { options: { alpha: 0.35, inputSize: 64, numClasses: 10 }, size: 64, alpha: 0.35 },
  'vgg-16': { options: { inputSize: 32, numClasses: 10 }, size: 32 },
};
const networks = args.string('networks', Object.keys(CONFIGS).join(',')).split(',');
for (const n of networks)
  if (!(n in CONFIGS)) throw new Error(`unknown network ${n} (${Object.keys(CONFIGS)})`);

function randomImages(count: number, size: number, seed: number): TrainingData {
  const x = new Float32Array(count * size * size * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = (s >>> 0) / 2 ** 32 - 0.5;
  }
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  return { x, labels, shape: [size, size, 3], numClasses: 10 };
}

async function main(): Promise<void> {
  const torch = pythonModuleVersion('torchvision');
  const backend = await initBackend();
  const rows: string[][] = [];
  for (const network of networks) {
    const config = CONFIGS[network];
    let torchMs: number | null = null;
    let torchParams: number | null = null;
    if (torch) {
      process.stderr.write(`[torch] ${network}: ${steps} steps...\n`);
      const [record] = await runPythonJsonLines(path.join(import.meta.dirname, 'torch_zoo_step.py'), [
        '--network',
        network,
        '--input-size',
        String(config.size),
        '--alpha',
        String(config.alpha ?? 1),
        '--batch',
        String(BATCH),
        '--steps',
        String(steps),
      ]);
      torchMs = Number(record.ms_per_step);
      torchParams = Number(record.params);
    }
    process.stderr.write(`[parsimony ${backend.name}] ${network}: ${steps} steps...\n`);
    const spec = zooModel(network, config.options);
    // Trainable parameters as PyTorch counts them (batch-norm statistics are buffers there).
    const params = analyzeModel(spec).params;
    const model = await buildTfjsModel(spec, { seed: 0 });
    const options = {
      epochs: 1,
      batchSize: BATCH,
      optimizer: { type: 'adam' as const, learningRate: 1e-3 },
      seed: 0,
    };
    let ms: number;
    try {
      await trainModel(model, randomImages(BATCH, config.size, 1), options);
      const timed = await trainModel(model, randomImages(BATCH * steps, config.size, 2), options);
      ms = (timed.history[0].seconds * 1000) / steps;
    } finally {
      model.dispose();
    }
    rows.push([
      network,
      JSON.stringify(config.options).replace(/"/g, ''),
      params.toLocaleString('en-US'),
      torchParams === null ? '-' : torchParams.toLocaleString('en-US'),
      ms.toFixed(0),
      torchMs === null ? '-' : torchMs.toFixed(0),
      torchMs === null ? '-' : `${(ms / torchMs).toFixed(2)}x`,
    ]);
  }
  console.log(
    `# Zoo training steps, ${new Date().toISOString().slice(0, 10)}\n\nBatch ${BATCH}, random images, Adam 1e-3; Parsimony on ${backend.name}, PyTorch/torchvision ${torch ?? 'absent (apt-get install python3-torchvision)'} on 1 thread.\n`,
  );
  console.log(
    markdownTable(
      ['network', 'options', 'params', 'torchvision params', 'Parsimony ms/step', 'PyTorch ms/step', 'ratio'],
      rows,
    ),
  );
}

await main();
