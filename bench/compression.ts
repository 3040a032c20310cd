import { CRITERIA } from '../src/compress/channel-importance.js';
import { compressModel } from '../src/compress/compress.js';
import { buildModelWithWeights, type ModelWeights } from '../src/compress/model-weights.js';
import { PRUNE_SCORES } from '../src/compress/prune-masks.js';
import type { CompressionReport } from '../src/compress/report.js';
import { WEIGHT_INITS, type WeightInit } from '../src/models/spec/types.js';
import { evaluate, type TrainingData, trainModel } from '../src/train/trainer.js';
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
  [
    'networks',
    'sections',
    'ratios',
    'epochs',
    'prune-steps',
    'finetune-epochs',
    'schedule',
    'backend',
    'criteria',
    'keep',
    'structured-finetune-epochs',
    'timing-repeats',
    'train-samples',
    'score',
    'dense-cache',
    'init',
  ],
  ['skip-torch', 'anchor-parallel', 'restart-optimizer'],
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
/** A fresh Adam at each pruning event, as the anchor's loop (one fine-tuning run per step) has. */
const restartOptimizer = args.flag('restart-optimizer');
const score = args.string('score', 'magnitude');
if (!(PRUNE_SCORES as readonly string[]).includes(score))
  throw new Error(`--score: ${PRUNE_SCORES.join(' or ')}, got ${score}`);
/** A directory where the dense models are kept between invocations (default: trained afresh each run). */
const denseCache = args.has('dense-cache') ? args.string('dense-cache', '') : undefined;
/** How our dense model's weights start: glorot (TensorFlow.js's default) or torch (PyTorch's, as the anchor's). */
const init = args.string('init', 'glorot') as WeightInit;
if (!WEIGHT_INITS.includes(init)) throw new Error(`--init: ${WEIGHT_INITS.join(' or ')}, got ${init}`);
const SECTIONS = ['unstructured', 'structured'];
const criteria = args.string('criteria', 'l1,taylor').split(',');
const keep = args.number('keep', 0.6);
const structuredFinetune = args.count('structured-finetune-epochs', 3);
const timingRepeats = args.count('timing-repeats', 15);
/** Train on the first N training images only (default all 60,000), for a quicker run on a busy machine. */
const trainSamples = args.count('train-samples', 60000);
for (const c of criteria)
  if (!(CRITERIA as readonly string[]).includes(c))
    throw new Error(`unknown criterion ${c} (${CRITERIA.join(', ')})`);
if (!(keep > 0 && keep <= 1)) throw new Error(`--keep must be in (0, 1], got ${keep}`);
checkLeNetNetworks(networks);
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

function weightReduction(report: CompressionReport): number {
  const total = report.layers.reduce((a, l) => a + l.weights, 0);
  const kept = report.layers.reduce((a, l) => a + Math.round(l.kept * l.weights), 0);
  return total / kept;
}

async function unstructured(
  network: string,
  torch: string | null,
  data: FashionData,
  backend: string,
): Promise<void> {
  const rows: Row[] = ratios.map((ratio) => ({ ratio }));
  const runAnchor = async () => {
    if (torch)
      for (const row of rows) {
        const sparsity = 1 - 1 / row.ratio;
        process.stderr.write(
          `[torch ${torch}] ${network}: dense ${epochs} epochs, prune to ${row.ratio}x...\n`,
        );
        const record = await runTorchCompressAnchor(network, {
          epochs,
          sparsity,
          pruneSteps,
          finetunePerStep,
        });
        row.torch = record as unknown as TorchRecord;
      }
  };
  // By default the anchor runs first, alone; --anchor-parallel runs it beside ours (shorter wall
  // time on a machine with a core to spare, both sides' seconds then measured under the same load).
  const anchor = args.flag('anchor-parallel') ? runAnchor() : await runAnchor();

  const {
    weights: base,
    seconds: denseSeconds,
    testAccuracy: denseAccuracy,
  } = await trainDenseLeNet(network, data, epochs, backend, denseCache, init);
  for (const row of rows) {
    process.stderr.write(`[parsimony ${backend}] ${network}: global (${score}) to ${row.ratio}x...\n`);
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
            score,
            schedule,
            pruneSteps,
            frequency: 100,
            finetuneEpochs: pruneSteps * finetunePerStep,
            restartOptimizer,
          },
        },
      ],
      onProgress: (p) => process.stderr.write(`  ${p.step}: ${p.message}\n`),
    });
    row.ours = report;
    row.ourReduction = weightReduction(report);
    row.ourSeconds = (performance.now() - started) / 1000;
  }

  await anchor;
  const torchDense = rows.find((r) => r.torch)?.torch?.dense_test_accuracy;
  console.log(
    `\n## ${network}: unstructured pruning, global magnitude (Parsimony ranks by ${score === 'lamp' ? 'LAMP score' : '|w|'}); PyTorch: AGP ${pruneSteps} steps x ${finetunePerStep} fine-tuning epochs; Parsimony: ${schedule === 'agp' ? `AGP ${pruneSteps} steps` : 'PolynomialDecay every 100 steps to 3/4 of'} the same ${pruneSteps * finetunePerStep} epochs, ${restartOptimizer ? 'a fresh Adam at each pruning event (as PyTorch)' : 'one Adam throughout (PyTorch: a fresh one at each step)'}\n`,
  );
  console.log(
    `Dense (${epochs} epochs, ${init === 'torch' ? "PyTorch's initialisation" : 'Glorot initialisation'}): Parsimony ${pct(denseAccuracy)} in ${denseSeconds.toFixed(1)} s; PyTorch ${pct(torchDense)}${
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

/**
 * Milliseconds of one forward pass over `batch` for each model, measured alternately (so a busy
 * machine slows both alike) after two warm-up passes; medians.
 */
async function inferenceMs(models: ModelWeights[], batch: TrainingData, repeats: number): Promise<number[]> {
  const tf = await import('@tensorflow/tfjs-core');
  const built = await Promise.all(models.map((w) => buildModelWithWeights(w)));
  const x = tf.tensor(batch.x, [batch.labels.length, ...batch.shape]);
  const run = (i: number) => {
    const started = performance.now();
    const out = built[i].predict(x) as import('@tensorflow/tfjs-core').Tensor;
    out.dataSync();
    out.dispose();
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < built.length; i++) for (let w = 0; w < 2; w++) run(i);
    const times = built.map(() => [] as number[]);
    for (let r = 0; r < repeats; r++) for (let i = 0; i < built.length; i++) times[i].push(run(i));
    return times.map(median);
  } finally {
    x.dispose();
    for (const m of built) m.dispose();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function structured(network: string, data: FashionData, backend: string): Promise<void> {
  const {
    weights: base,
    seconds: denseSeconds,
    testAccuracy: denseAccuracy,
  } = await trainDenseLeNet(network, data, epochs, backend, denseCache, init);
  const timingBatch: TrainingData = {
    ...data.test,
    x: data.test.x.subarray(0, 1000 * 784),
    labels: data.test.labels.subarray(0, 1000),
  };
  const rows: { criterion: string; report: CompressionReport; weights: ModelWeights; seconds: number }[] = [];
  for (const criterion of criteria) {
    process.stderr.write(`[parsimony ${backend}] ${network}: structured, keep ${keep}, ${criterion}...\n`);
    const started = performance.now();
    const { report, weights } = await compressModel({
      base,
      baseSeconds: denseSeconds,
      data,
      seed: 0,
      recipe: [{ method: 'structured', options: { keep, criterion, finetuneEpochs: structuredFinetune } }],
      onProgress: (p) => process.stderr.write(`  ${p.step}: ${p.message}\n`),
    });
    rows.push({ criterion, report, weights, seconds: (performance.now() - started) / 1000 });
  }
  // Control: the dense model trained as many more epochs as the pruned ones were fine-tuned.
  process.stderr.write(
    `[parsimony ${backend}] ${network}: dense control, ${structuredFinetune} more epochs...\n`,
  );
  const control = await buildModelWithWeights(base);
  await trainModel(control, data.train, {
    epochs: structuredFinetune,
    batchSize: 128,
    optimizer: { type: 'adam', learningRate: 1e-3 },
    seed: 0,
  });
  const controlAccuracy = (await evaluate(control, data.test)).accuracy;
  control.dispose();
  process.stderr.write(`[parsimony ${backend}] ${network}: timing batch inference...\n`);
  const [denseMs, ...shrunkMs] = await inferenceMs(
    [base, ...rows.map((r) => r.weights)],
    timingBatch,
    timingRepeats,
  );
  const denseMacs = rows[0]?.report.base.macs ?? 0;
  console.log(
    `\n## ${network}: structured pruning (keep ${keep} of each layer's units and filters, ${structuredFinetune} fine-tuning epochs)\n`,
  );
  console.log(
    `Dense (${epochs} epochs): ${pct(denseAccuracy)} test accuracy, ${denseMacs.toLocaleString('en-US')} MACs, ${rows[0]?.report.base.params.toLocaleString('en-US')} params, ${denseMs.toFixed(1)} ms per batch of 1,000 on ${backend}, trained in ${denseSeconds.toFixed(1)} s. Control: the dense model trained ${structuredFinetune} more epochs (as long as the pruned ones) reaches ${pct(controlAccuracy)}.\n`,
  );
  console.log(
    markdownTable(
      [
        'criterion',
        'MACs',
        'fewer MACs',
        'params',
        'test acc',
        'vs dense',
        'ms / 1,000',
        'faster',
        'seconds',
      ],
      rows.map((r, i) => [
        r.criterion,
        r.report.result.macs.toLocaleString('en-US'),
        `${(denseMacs / r.report.result.macs).toFixed(2)}x`,
        r.report.result.params.toLocaleString('en-US'),
        pct(r.report.result.testAccuracy),
        r.report.result.testAccuracy == null
          ? '-'
          : (100 * (r.report.result.testAccuracy - denseAccuracy)).toFixed(2),
        shrunkMs[i].toFixed(1),
        `${(denseMs / shrunkMs[i]).toFixed(2)}x`,
        r.seconds.toFixed(1),
      ]),
    ),
  );
  console.log('\nKept fraction of units and filters per layer (the output layer keeps all):\n');
  type Details = { layers: { name: string; kept: number; units: number; of: number }[] };
  const layerNames =
    (rows[0]?.report.steps[0]?.details as Details | undefined)?.layers.map((l) => l.name) ?? [];
  console.log(
    markdownTable(
      ['criterion', ...layerNames],
      rows.map((r) => [
        r.criterion,
        ...((r.report.steps[0]?.details as Details | undefined)?.layers ?? []).map(
          (l) => `${l.units}/${l.of} (${l.kept.toFixed(2)})`,
        ),
      ]),
    ),
  );
  const verdicts = rows.map((r, i) => {
    const reduction = denseMacs / r.report.result.macs;
    const loss =
      r.report.result.testAccuracy == null
        ? Number.NaN
        : 100 * (denseAccuracy - r.report.result.testAccuracy);
    const faster = denseMs / shrunkMs[i];
    const pass = reduction >= 2 && loss <= 1 && faster > 1;
    const versus = (points: number) =>
      points >= 0 ? `${points.toFixed(2)} points below` : `${(-points).toFixed(2)} points above`;
    const versusControl =
      r.report.result.testAccuracy == null
        ? '-'
        : versus(100 * (controlAccuracy - r.report.result.testAccuracy));
    return `- ${pass ? 'PASS' : 'FAIL'} ${network} ${r.criterion}: ${reduction.toFixed(2)}x fewer MACs (target >= 2), ${versus(loss)} our dense (target: at most 1 below; ${versusControl} the control), inference ${faster.toFixed(2)}x faster (must be > 1)`;
  });
  console.log(`\nTargets:\n${verdicts.join('\n')}`);
}

async function main(): Promise<void> {
  const torch = args.flag('skip-torch') ? null : pythonModuleVersion('torch');
  const backend = await initBenchBackend(args);
  const data = await loadFashionData(trainSamples);
  const { train } = data;
  console.log(
    `# Compression benchmark, ${new Date().toISOString().slice(0, 10)}\n\nFashion-MNIST (${train.labels.length.toLocaleString('en-US')} training images); Parsimony on ${backend.name}, PyTorch ${torch ?? 'absent'} on 1 thread, same data, dense recipe and fine-tuning epochs.`,
  );
  for (const network of networks)
    for (const section of sections)
      if (section === 'unstructured') await unstructured(network, torch, data, backend.name);
      else if (section === 'structured') await structured(network, data, backend.name);
}

await main();
