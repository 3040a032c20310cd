/**
 * Compression against PyTorch's own tools, in one run.
 *
 *   node --import tsx bench/compression.ts [--networks lenet-300-100,lenet-5] [--sections unstructured]
 *        [--ratios 12,25,50] [--epochs 10] [--prune-steps 4] [--finetune-epochs 2] [--backend wasm]
 *        [--schedule polynomial|agp] [--skip-torch]
 *
 * Section `unstructured`: the anchor (`../shared/anchors/torch_compress.py`, Debian's python3-torch,
 * one thread, run before Parsimony so the two never share the cores) trains the network dense on
 * Fashion-MNIST (60,000 images, pixels / 255, batch 128, Adam 1e-3, --epochs), then prunes
 * globally by magnitude with a cubic (AGP) schedule in --prune-steps steps, fine-tuning
 * --finetune-epochs after each. Parsimony: the same dense recipe, then the `global` method with
 * the same fine-tuning epochs in total (Adam 1e-3, constant rate), the last layer keeping at least
 * 20% of its weights, pruned by TF-MOT's PolynomialDecay (power 3) every 100 steps until three
 * quarters of the fine-tuning (`--schedule agp` prunes in the anchor's --prune-steps instead; on
 * LeNet-300-100 at 25x it gave 87.70% against 88.10% for the polynomial schedule). Reduction is
 * weights / non-zero weights (biases not counted, as the anchor counts). Test accuracy is on the
 * 10,000 test images, Parsimony's measured on the model loaded back from the stored files.
 * Validation accuracy (not compared) is on the first 5,000 training images.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressModel } from '../src/compress/compress.js';
import { readModelWeights } from '../src/compress/model-weights.js';
import type { CompressionReport } from '../src/compress/report.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { initBackend } from '../src/models/backends/index.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { zooModel } from '../src/models/zoo/index.js';
import { evaluate, type TrainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { pythonModuleVersion, runPythonJsonLines } from './lib/python.js';
import { markdownTable } from './lib/table.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ANCHORS = path.resolve(REPO_ROOT, '..', 'shared', 'anchors');

const args = new BenchArgs(
  ['networks', 'sections', 'ratios', 'epochs', 'prune-steps', 'finetune-epochs', 'schedule', 'backend'],
  ['skip-torch'],
);
const networks = args.string('networks', 'lenet-300-100,lenet-5').split(',');
const sections = args.string('sections', 'unstructured').split(',');
const ratios = args
  .string('ratios', '12,25,50')
  .split(',')
  .map((r) => Number(r));
const epochs = args.count('epochs', 10);
const pruneSteps = args.count('prune-steps', 4);
const finetunePerStep = args.count('finetune-epochs', 2);
const schedule = args.string('schedule', 'polynomial');
if (schedule !== 'polynomial' && schedule !== 'agp')
  throw new Error(`--schedule: polynomial or agp, got ${schedule}`);
const ANCHOR_ARCH: Record<string, string> = { 'lenet-300-100': 'mlp:300,100', 'lenet-5': 'lenet5' };
const SECTIONS = ['unstructured'];
for (const n of networks)
  if (!(n in ANCHOR_ARCH)) throw new Error(`unknown network ${n} (lenet-300-100, lenet-5)`);
for (const s of sections)
  if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (${SECTIONS.join(', ')})`);
for (const r of ratios) if (!(r > 1)) throw new Error(`--ratios: each must be > 1, got ${r}`);

/** Loss targets from the issue: reduction at most this many points below our own dense model. */
const TARGETS: Record<string, { ratio: number; maxLoss: number }> = {
  'lenet-300-100': { ratio: 25, maxLoss: 0.5 },
  'lenet-5': { ratio: 12, maxLoss: 0.5 },
};

interface TorchRecord {
  dense_test_accuracy: number;
  pruned_test_accuracy: number;
  weight_reduction: number;
  nonzero_weights: number;
  weights: number;
  kept_per_layer: Record<string, number>;
  seconds: { dense: number; prune_finetune: number };
}

interface Row {
  ratio: number;
  torch?: TorchRecord;
  ours?: CompressionReport;
  ourReduction?: number;
  ourSeconds?: number;
}

const pct = (x: number | null | undefined) => (x == null ? '-' : `${(100 * x).toFixed(2)}%`);

function weightReduction(report: CompressionReport): number {
  const total = report.layers.reduce((a, l) => a + l.weights, 0);
  const kept = report.layers.reduce((a, l) => a + Math.round(l.kept * l.weights), 0);
  return total / kept;
}

async function unstructured(
  network: string,
  torch: string | null,
  data: { train: TrainingData; validation: TrainingData; test: TrainingData },
  backend: string,
): Promise<void> {
  const rows: Row[] = ratios.map((ratio) => ({ ratio }));
  if (torch)
    for (const row of rows) {
      const sparsity = 1 - 1 / row.ratio;
      process.stderr.write(
        `[torch ${torch}] ${network}: dense ${epochs} epochs, prune to ${row.ratio}x...\n`,
      );
      const [record] = await runPythonJsonLines(path.join(ANCHORS, 'torch_compress.py'), [
        ...['--arch', ANCHOR_ARCH[network], '--dataset', 'fashion', '--epochs', String(epochs)],
        ...['--batch', '128', '--lr', '1e-3', '--sparsity', String(sparsity)],
        ...['--prune-steps', String(pruneSteps), '--finetune-epochs', String(finetunePerStep)],
        ...['--threads', '1', '--seed', '0'],
      ]);
      row.torch = record as unknown as TorchRecord;
    }

  process.stderr.write(`[parsimony ${backend}] ${network}: dense ${epochs} epochs...\n`);
  const spec = zooModel(network);
  const model = await buildTfjsModel(spec, { seed: 0 });
  const denseStarted = performance.now();
  await trainModel(model, data.train, {
    epochs,
    batchSize: 128,
    optimizer: { type: 'adam', learningRate: 1e-3 },
    seed: 0,
    onEpoch: (m) =>
      process.stderr.write(`  epoch ${m.epoch + 1}: ${m.seconds.toFixed(1)} s, loss ${m.loss.toFixed(4)}\n`),
  });
  const denseSeconds = (performance.now() - denseStarted) / 1000;
  const denseAccuracy = (await evaluate(model, data.test)).accuracy;
  const base = readModelWeights(model, spec);
  model.dispose();
  for (const row of rows) {
    process.stderr.write(`[parsimony ${backend}] ${network}: global AGP to ${row.ratio}x...\n`);
    const started = performance.now();
    const { report } = await compressModel({
      base,
      baseSeconds: denseSeconds,
      data,
      seed: 0,
      recipe: [
        {
          method: 'global',
          options: {
            sparsity: 1 - 1 / row.ratio,
            schedule,
            pruneSteps,
            frequency: 100,
            finetuneEpochs: pruneSteps * finetunePerStep,
          },
        },
      ],
      onProgress: (p) => process.stderr.write(`  ${p.step}: ${p.message}\n`),
    });
    row.ours = report;
    row.ourReduction = weightReduction(report);
    row.ourSeconds = (performance.now() - started) / 1000;
  }

  const torchDense = rows.find((r) => r.torch)?.torch?.dense_test_accuracy;
  console.log(
    `\n## ${network}: unstructured pruning, global magnitude; PyTorch: AGP ${pruneSteps} steps x ${finetunePerStep} fine-tuning epochs; Parsimony: ${schedule === 'agp' ? `AGP ${pruneSteps} steps` : 'PolynomialDecay every 100 steps to 3/4 of'} the same ${pruneSteps * finetunePerStep} epochs\n`,
  );
  console.log(
    `Dense (${epochs} epochs): Parsimony ${pct(denseAccuracy)} in ${denseSeconds.toFixed(1)} s; PyTorch ${pct(torchDense)}${
      rows[0].torch ? ` in ${rows[0].torch.seconds.dense.toFixed(1)} s` : ''
    }.\n`,
  );
  console.log(
    markdownTable(
      [
        'target',
        'Parsimony reduction',
        'Parsimony test acc',
        'vs own dense',
        'Parsimony s',
        'PyTorch reduction',
        'PyTorch test acc',
        'vs own dense',
        'PyTorch s',
      ],
      rows.map((r) => [
        `${r.ratio}x`,
        r.ourReduction ? `${r.ourReduction.toFixed(2)}x` : '-',
        pct(r.ours?.result.testAccuracy),
        r.ours?.result.testAccuracy != null
          ? `${(100 * (r.ours.result.testAccuracy - denseAccuracy)).toFixed(2)}`
          : '-',
        r.ourSeconds?.toFixed(1) ?? '-',
        r.torch ? `${r.torch.weight_reduction.toFixed(2)}x` : '-',
        pct(r.torch?.pruned_test_accuracy),
        r.torch ? `${(100 * (r.torch.pruned_test_accuracy - r.torch.dense_test_accuracy)).toFixed(2)}` : '-',
        r.torch?.seconds.prune_finetune.toFixed(1) ?? '-',
      ]),
    ),
  );
  console.log('\nKept fraction of weights per layer (Parsimony | PyTorch):\n');
  const layerNames = rows[0].ours?.layers.map((l) => l.name) ?? [];
  console.log(
    markdownTable(
      [
        'target',
        ...layerNames.map((n, i) => `${n} | ${Object.keys(rows[0].torch?.kept_per_layer ?? {})[i] ?? '-'}`),
      ],
      rows.map((r) => [
        `${r.ratio}x`,
        ...layerNames.map((_, i) => {
          const ours = r.ours?.layers[i]?.kept;
          const theirs = Object.values(r.torch?.kept_per_layer ?? {})[i];
          return `${ours === undefined ? '-' : ours.toFixed(4)} | ${theirs === undefined ? '-' : theirs.toFixed(4)}`;
        }),
      ]),
    ),
  );
  const verdicts: string[] = [];
  const target = TARGETS[network];
  const atTarget = rows.find((r) => r.ratio === target.ratio);
  if (atTarget?.ours?.result.testAccuracy != null && atTarget.ourReduction) {
    const loss = 100 * (denseAccuracy - atTarget.ours.result.testAccuracy);
    verdicts.push(
      `- ${loss <= target.maxLoss && atTarget.ourReduction >= target.ratio - 1e-6 ? 'PASS' : 'FAIL'} ${network} at ${atTarget.ourReduction.toFixed(2)}x: ${loss.toFixed(2)} points below our dense (target <= ${target.maxLoss})`,
    );
  } else verdicts.push(`- NOT MEASURED ${network} at ${target.ratio}x (add it to --ratios)`);
  for (const r of rows) {
    if (!r.torch || r.ours?.result.testAccuracy == null) {
      verdicts.push(`- NOT MEASURED ${network} ${r.ratio}x against PyTorch`);
      continue;
    }
    const gap = 100 * (r.ours.result.testAccuracy - r.torch.pruned_test_accuracy);
    verdicts.push(
      `- ${gap >= 0 ? 'PASS' : 'FAIL'} ${network} ${r.ratio}x: Parsimony ${gap >= 0 ? `${gap.toFixed(2)} points above` : `${(-gap).toFixed(2)} points below`} PyTorch (target >= 0)`,
    );
  }
  console.log(`\nTargets:\n${verdicts.join('\n')}`);
}

async function main(): Promise<void> {
  const torch = args.flag('skip-torch') ? null : pythonModuleVersion('torch');
  const backend = await initBackend(
    args.has('backend') ? { backend: args.string('backend', 'wasm') as 'wasm' } : {},
  );
  const bundle = await loadFashionMnist();
  const scaled = (
    d: { data: Float32Array; labels: Int32Array },
    from = 0,
    to = d.labels.length,
  ): TrainingData => ({
    x: d.data.subarray(from * 784, to * 784).map((v) => v / 255),
    labels: d.labels.subarray(from, to),
    shape: [28, 28, 1],
    numClasses: 10,
  });
  const train = scaled(bundle.train);
  const data = {
    train,
    validation: { ...train, x: train.x.subarray(0, 5000 * 784), labels: train.labels.subarray(0, 5000) },
    test: scaled(bundle.test as NonNullable<typeof bundle.test>),
  };
  console.log(
    `# Compression benchmark, ${new Date().toISOString().slice(0, 10)}\n\nFashion-MNIST; Parsimony on ${backend.name}, PyTorch ${torch ?? 'absent'} on 1 thread, same data, dense recipe and fine-tuning epochs.`,
  );
  for (const network of networks)
    for (const section of sections)
      if (section === 'unstructured') await unstructured(network, torch, data, backend.name);
}

await main();
