/**
 * Quantization and the Deep Compression pipeline against PyTorch, in one run.
 *
 *   node --import tsx bench/compression-deep.ts [--networks lenet-300-100,lenet-5] [--epochs 10]
 *        [--sparsity 0.94] [--prune-steps 4] [--finetune-epochs 2] [--cluster-epochs 2]
 *        [--backend wasm] [--skip-torch]
 *
 * Per network, on Fashion-MNIST (pixels / 255, batch 128, Adam 1e-3; validation = the first 5,000
 * training images, test = the 10,000 test images):
 * - The anchor (`../shared/anchors/torch_compress.py`, Debian's python3-torch, one thread, run
 *   first so the two never share the cores) trains dense for --epochs, prunes globally by
 *   magnitude to --sparsity (AGP, --prune-steps steps, --finetune-epochs after each), then
 *   quantizes the Linear layers dynamically to int8.
 * - Parsimony trains the same dense model, then:
 *   1. int8 post-training quantization of the dense model (weights per channel, symmetric), weight
 *      only and full (activations calibrated by entropy on 1,000 training images); test accuracy
 *      measured on the model rebuilt from the stored integer file, and the seconds to load that
 *      file, rebuild the model and classify the 10,000 test images;
 *   2. global magnitude pruning as the anchor does, then int8 of the pruned model (beside the
 *      anchor's pruned int8);
 *   3. Deep Compression: the pruned model clustered (5 bits for convolutions, 4 for dense layers,
 *      linear initialisation, --cluster-epochs of centroid fine-tuning) and Huffman-coded;
 *      stored size counted as Han et al. 2016 do (relative 5-bit indices for dense layers and 8-bit
 *      for convolutions with padding zeros, codebooks, Huffman-coded values and indices; biases at
 *      float32), against float32 storage of every parameter.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compressModel } from '../src/compress/compress.js';
import { loadCompressed } from '../src/compress/compressed-format.js';
import { weightsAccuracy } from '../src/compress/fine-tune.js';
import type { ModelWeights } from '../src/compress/model-weights.js';
import type { Recipe } from '../src/compress/pipeline.js';
import type { CompressionReport, ReportRow } from '../src/compress/report.js';
import { BenchArgs } from './lib/args.js';
import {
  checkLeNetNetworks,
  type FashionData,
  initBenchBackend,
  loadFashionData,
  runTorchCompressAnchor,
  trainDenseLeNet,
} from './lib/fashion-lenet.js';
import { pythonModuleVersion } from './lib/python.js';
import { markdownTable, pct } from './lib/table.js';

const args = new BenchArgs(
  ['networks', 'epochs', 'sparsity', 'prune-steps', 'finetune-epochs', 'cluster-epochs', 'backend'],
  ['skip-torch'],
);
const networks = args.string('networks', 'lenet-300-100,lenet-5').split(',');
const epochs = args.count('epochs', 10);
const pruneSteps = args.count('prune-steps', 4);
const finetunePerStep = args.count('finetune-epochs', 2);
const clusterEpochs = args.count('cluster-epochs', 2);
const sparsityArg = args.has('sparsity') ? Number(args.string('sparsity', '0.94')) : null;
/** Issue targets: stored-size reduction against float32 and the most points lost to our dense model. */
const TARGETS: Record<string, { ratio: number; sparsity: number }> = {
  'lenet-300-100': { ratio: 50, sparsity: 0.94 },
  'lenet-5': { ratio: 39, sparsity: 0.93 },
};
checkLeNetNetworks(networks);

interface TorchRecord {
  dense_test_accuracy: number;
  pruned_test_accuracy: number;
  pruned_int8_test_accuracy: number;
  weight_reduction: number;
  seconds: { dense: number; prune_finetune: number; quantize: number };
}

type Data = FashionData;

const points = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null ? '-' : (100 * (a - b)).toFixed(2);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function run(
  base: ModelWeights,
  recipe: Recipe,
  data: Data,
  out?: string,
): Promise<{ report: CompressionReport; weights: ModelWeights }> {
  return compressModel({
    base,
    recipe,
    data,
    seed: 0,
    out,
    onProgress: (p) => process.stderr.write(`  ${p.step}: ${p.message}\n`),
  });
}

async function network(name: string, torch: string | null, data: Data, backend: string): Promise<string[]> {
  const sparsity = sparsityArg ?? TARGETS[name].sparsity;
  let anchor: TorchRecord | undefined;
  if (torch) {
    process.stderr.write(`[torch ${torch}] ${name}: dense ${epochs} epochs, prune to ${sparsity}, int8...\n`);
    const record = await runTorchCompressAnchor(name, { epochs, sparsity, pruneSteps, finetunePerStep });
    anchor = record as unknown as TorchRecord;
  }

  const {
    weights: base,
    seconds: denseSeconds,
    testAccuracy: dense,
  } = await trainDenseLeNet(name, data, epochs, backend);

  // 1. int8 of the dense model, stored, loaded back and timed.
  const int8Recipe: Recipe = [{ method: 'quantize', options: { bits: 8, granularity: 'channel' } }];
  const dir = await mkdtemp(path.join(tmpdir(), 'parsimony-bench-int8-'));
  let int8: CompressionReport;
  let inferenceSeconds: number;
  let storedInt8Accuracy: number;
  try {
    int8 = (await run(base, int8Recipe, data, path.join(dir, 'int8'))).report;
    const started = performance.now();
    const { weights } = await loadCompressed(path.join(dir, 'int8'));
    storedInt8Accuracy = await weightsAccuracy(weights, data.test);
    inferenceSeconds = (performance.now() - started) / 1000;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const full = await run(
    base,
    [{ method: 'quantize', options: { bits: 8, granularity: 'channel', activations: 'entropy' } }],
    data,
  );
  const fullDetails = full.report.steps[0].details as { fullIntegerTestAccuracy?: number };

  // 2. Pruned as the anchor prunes, then int8 of the pruned model.
  const pruned = await run(
    base,
    [
      {
        method: 'global',
        options: { sparsity, schedule: 'agp', pruneSteps, finetuneEpochs: pruneSteps * finetunePerStep },
      },
    ],
    data,
  );
  const prunedInt8 = await run(pruned.weights, int8Recipe, data);

  // 3. Deep Compression on the pruned model.
  const deep = await run(
    pruned.weights,
    [
      { method: 'cluster', options: { convBits: 5, denseBits: 4, fineTuneEpochs: clusterEpochs } },
      { method: 'huffman', options: {} },
    ],
    data,
  );

  const lines: string[] = [];
  const log = (s = '') => lines.push(s);
  log(`\n## ${name}\n`);
  log(
    `Dense (${epochs} epochs): Parsimony ${pct(dense)} in ${denseSeconds.toFixed(1)} s; PyTorch ${pct(anchor?.dense_test_accuracy)}${anchor ? ` in ${anchor.seconds.dense.toFixed(1)} s` : ''}.\n`,
  );
  log('### int8 post-training quantization\n');
  log(
    markdownTable(
      ['model', 'Parsimony test acc', 'vs float', 'stored', 'PyTorch test acc (dynamic int8)', 'vs float'],
      [
        [
          'dense, int8 weights per channel',
          pct(int8.result.testAccuracy),
          points(int8.result.testAccuracy, dense),
          kb(int8.result.storedBytes),
          '-',
          '-',
        ],
        [
          'dense, int8 weights + activations (entropy)',
          pct(fullDetails.fullIntegerTestAccuracy),
          points(fullDetails.fullIntegerTestAccuracy, dense),
          kb(full.report.result.storedBytes),
          '-',
          '-',
        ],
        [
          `pruned ${sparsity}, int8 weights`,
          pct(prunedInt8.report.result.testAccuracy),
          points(prunedInt8.report.result.testAccuracy, pruned.report.result.testAccuracy),
          kb(prunedInt8.report.result.storedBytes),
          pct(anchor?.pruned_int8_test_accuracy),
          points(anchor?.pruned_int8_test_accuracy, anchor?.pruned_test_accuracy),
        ],
      ],
    ),
  );
  log(
    `\nStored int8 model (compressed.json + .bin, ${kb(int8.result.storedBytes)} counted): loaded, rebuilt and 10,000 test images classified in ${inferenceSeconds.toFixed(2)} s (accuracy ${pct(storedInt8Accuracy)}; weights are decoded to float32 for the tfjs kernels).\n`,
  );
  log(`### Deep Compression (prune ${sparsity} -> cluster 5 bits conv / 4 bits dense -> Huffman)\n`);
  const rows: [string, ReportRow][] = [
    ['dense float32', pruned.report.base],
    ['pruned (global AGP)', pruned.report.result],
    ...deep.report.steps.map((s) => [s.step.replace(/^step \d+ \((.*)\)$/, '$1'), s] as [string, ReportRow]),
    ['stored result (rebuilt from compressed.bin)', deep.report.result],
  ];
  log(
    markdownTable(
      ['stage', 'non-zero params', 'stored', 'bits/weight', 'ratio vs float32', 'test acc', 'vs dense', 's'],
      rows.map(([stage, r]) => [
        stage,
        r.nonZeroParams.toLocaleString('en-US'),
        kb(r.storedBytes),
        r.bitsPerWeight.toFixed(2),
        `${r.compressionRatio.toFixed(1)}x`,
        pct(r.testAccuracy),
        points(r.testAccuracy, dense),
        r.seconds.toFixed(1),
      ]),
    ),
  );
  if (anchor)
    log(
      `\nPyTorch pruned to ${anchor.weight_reduction.toFixed(1)}x fewer weights: ${pct(anchor.pruned_test_accuracy)} (${points(anchor.pruned_test_accuracy, anchor.dense_test_accuracy)} vs its dense); dynamic int8 ${pct(anchor.pruned_int8_test_accuracy)}.`,
    );
  const target = TARGETS[name];
  const ratio = deep.report.result.compressionRatio;
  const loss = 100 * (dense - (deep.report.result.testAccuracy ?? 0));
  const int8Loss = 100 * (dense - (int8.result.testAccuracy ?? 0));
  log('\nTargets:');
  log(
    `- ${int8Loss <= 0.3 ? 'PASS' : 'FAIL'} ${name} int8: ${int8Loss.toFixed(2)} points lost (target <= 0.3)`,
  );
  log(
    `- ${ratio >= target.ratio && loss <= 1 ? 'PASS' : 'FAIL'} ${name} Deep Compression: ${ratio.toFixed(1)}x smaller stored size at ${loss.toFixed(2)} points lost (target >= ${target.ratio}x at <= 1 point)`,
  );
  return lines;
}

async function main(): Promise<void> {
  const torch = args.flag('skip-torch') ? null : pythonModuleVersion('torch');
  const backend = await initBenchBackend(args);
  const data = await loadFashionData();
  console.log(
    `# Quantization and Deep Compression benchmark, ${new Date().toISOString().slice(0, 10)}\n\nFashion-MNIST; Parsimony on ${backend.name}, PyTorch ${torch ?? 'absent'} on 1 thread; epochs: dense ${epochs}, pruning ${pruneSteps} x ${finetunePerStep}, clustering ${clusterEpochs}.`,
  );
  for (const name of networks) console.log((await network(name, torch, data, backend.name)).join('\n'));
}

await main();
