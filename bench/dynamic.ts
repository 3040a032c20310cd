/**
 * Networks whose size changes at run time, each beside its static anchor trained in the same run
 * (same split, epochs, optimizer and seed):
 *
 *   node --import tsx bench/dynamic.ts [--dataset digits|fashion-mnist] [--epochs 10] [--train-size N]
 *     [--seed 0] [--backend cpu|wasm] [--parts slim,early-exit,moe,cascade]
 *
 * - slimmable MLP (widths 0.25-1; smaller widths on the labels, the default, and with in-place
 *   distillation): accuracy per width against the MLP of that width trained alone, with its batch
 *   norm calibrated after training as the slimmable one's (and as plainly trained, moving statistics);
 * - early exit (3 blocks, heads after the first two; gradient scale 0.3, the default, and 1): each
 *   head's accuracy, the accuracy / average-MACs curve over thresholds and the threshold chosen on
 *   validation data on temperature-calibrated confidences (and on raw ones), each head's
 *   temperature with NLL and ECE before and after, against the same MLP without heads;
 * - mixture of experts (4 x 128, top 1; gate noise 1, the default, and none): against dense MLPs
 *   with the same active MACs (128 hidden) and the same expert parameters (512 hidden), with the
 *   experts' shares of first choices after each epoch;
 * - cascade (8, 32, 128 hidden): average MACs and accuracy at the threshold chosen on validation
 *   data (target: the largest member's validation accuracy minus half a point) against each member alone.
 * Accuracy is on the test part; MACs are per sample, from the specs.
 */
import {
  type DynamicData,
  dynamicData,
  runCascade,
  runEarlyExit,
  runMixtureOfExperts,
  runSlimmable,
  type StageCalibrationResult,
  slimmableMlp,
  type ThresholdRunResult,
} from '../src/dynamic/run.js';
import { SlimmableNetwork } from '../src/dynamic/slimmable.js';
import { slimUnits } from '../src/dynamic/slimmable-layers.js';
import { type BackendName, initBackend } from '../src/models/backends/index.js';
import { analyzeModel } from '../src/models/complexity/analyze.js';
import { sequential } from '../src/models/spec/builder.js';
import type { ModelSpec } from '../src/models/spec/types.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { evaluate, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['dataset', 'epochs', 'train-size', 'seed', 'backend', 'parts']);
const dataset = args.string('dataset', 'digits');
const epochs = args.count('epochs', 10);
const seed = args.number('seed', 0);
const trainSize = args.has('train-size') ? args.count('train-size', 0) : undefined;
const backend = args.string('backend', 'cpu') as BackendName;
const parts = args.string('parts', 'slim,early-exit,moe,cascade').split(',');
const info = await initBackend({ backend });
const common = { dataset, epochs, seed, ...(trainSize === undefined ? {} : { trainSize }) };
const data: DynamicData = await dynamicData(common);
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

/** A static model trained alone with the runners' settings: test accuracy and MACs. */
async function alone(spec: ModelSpec): Promise<{ accuracy: number; macs: number; params: number }> {
  const model = await buildTfjsModel(spec, { seed });
  await trainModel(model, data.train, {
    epochs,
    seed,
    batchSize: 32,
    optimizer: { type: 'adam', learningRate: 0.003 },
  });
  const accuracy = (await evaluate(model, data.test)).accuracy;
  model.dispose();
  const a = analyzeModel(spec);
  return { accuracy, macs: a.macs, params: a.params };
}

const mlp = (hidden: readonly number[], name: string) => {
  let b = sequential([data.features], { name });
  for (const units of hidden) b = b.add('dense', { units, activation: 'relu' });
  return b.add('dense', { units: data.classes, activation: 'softmax' }).build();
};

/** Each stage's fitted temperature and its NLL and ECE before and after (validation: fitted there; test: held out). */
function calibrationTable(rows: StageCalibrationResult[] | undefined, stage: string): string {
  if (!rows) return 'not calibrated';
  const f = (x: number) => x.toFixed(3);
  return markdownTable(
    [
      stage,
      'temperature',
      'val NLL before',
      'after',
      'val ECE before',
      'after',
      'test NLL before',
      'after',
      'test ECE before',
      'after',
    ],
    rows.map((r, i) => [
      String(i + 1),
      f(r.temperature),
      f(r.validation.nllBefore),
      f(r.validation.nllAfter),
      f(r.validation.eceBefore),
      f(r.validation.eceAfter),
      f(r.test.nllBefore),
      f(r.test.nllAfter),
      f(r.test.eceBefore),
      f(r.test.eceAfter),
    ]),
  );
}

const uncalibratedLine = (u: ThresholdRunResult | undefined) =>
  u
    ? `\n\nthe same choice on raw confidences: threshold ${u.threshold}${u.met ? '' : ' (target not reached)'}, test ${pct(u.test.accuracy)} at ${int(u.test.averageMacs)} MACs on average`
    : '';

const sections: string[] = [
  `# Dynamic networks on ${dataset}`,
  '',
  `${data.train.labels.length} training samples, ${epochs} epochs, Adam 0.003, batch 32, seed ${seed}, backend ${info.name}; ${new Date().toISOString()}`,
];
const raw: Record<string, unknown> = { dataset, epochs, seed, trainSize, backend: info.name };
const log = (s: string) => {
  console.log(s);
  sections.push('', s);
};

if (parts.includes('slim')) {
  const hidden = [128, 64];
  const result = await runSlimmable({ ...common, hidden });
  const distilled = await runSlimmable({ ...common, hidden, inplaceDistillation: true });
  const rows: string[][] = [];
  const anchors = [];
  for (const [i, w] of result.widths.entries()) {
    const spec = slimmableMlp(
      data.features,
      hidden.map((u) => slimUnits(u, w.width)),
      data.classes,
    );
    // The same network alone with the same post-training batch-norm calibration (one width).
    const single = await SlimmableNetwork.create(spec, { widths: [1], seed });
    await single.train(data.train, {
      epochs,
      seed,
      batchSize: 32,
      optimizer: { type: 'adam', learningRate: 0.003 },
    });
    const [calibrated] = await single.evaluateWidths(data.test);
    single.dispose();
    const anchor = { ...(await alone(spec)), calibratedAccuracy: calibrated.accuracy };
    anchors.push(anchor);
    rows.push([
      String(w.width),
      w.hidden.join('-'),
      int(w.macs),
      pct(w.accuracy),
      pct(distilled.widths[i].accuracy),
      pct(anchor.calibratedAccuracy),
      pct(anchor.accuracy),
      (100 * (w.accuracy - anchor.calibratedAccuracy)).toFixed(2),
    ]);
  }
  raw.slim = { result, distilled, anchors };
  log(
    `## Slimmable MLP ${hidden.join('-')} (sandwich rule, switchable batch norm calibrated per width after training; ${result.seconds.toFixed(1)} s for all widths)\n\n${markdownTable(['width', 'hidden', 'MACs', 'slimmable', 'slimmable, in-place distillation', 'alone, calibrated', 'alone, moving statistics', 'points vs alone calibrated'], rows)}`,
  );
}

if (parts.includes('early-exit')) {
  const hidden = [128, 128, 128];
  const result = await runEarlyExit({ ...common, hidden });
  const everyGradient = await runEarlyExit({ ...common, hidden, gradientScale: 1 });
  const anchor = await alone(mlp(hidden, 'plain'));
  const rows = result.curve.map((p) => [
    String(p.threshold),
    pct(p.accuracy),
    int(p.averageMacs),
    p.exitShares.map((s) => `${(100 * s).toFixed(0)}%`).join(' / '),
  ]);
  raw.earlyExit = { result, everyGradient, anchor };
  const c = result.chosen;
  const e = everyGradient.chosen;
  const heads = (r: typeof result) => r.heads.map((h) => pct(h.testAccuracy)).join(' / ');
  log(
    `## Early exit: MLP ${hidden.join('-')} with heads after blocks 1 and 2, gradient scale 0.3 (${result.seconds.toFixed(1)} s)\n\neach head alone on test: ${heads(result)} (the same MLP without heads trained alone: ${pct(anchor.accuracy)} at ${int(anchor.macs)} MACs)\n\n${calibrationTable(result.calibration, 'head')}\n\n${markdownTable(['threshold', 'test acc', 'avg MACs', 'share per head'], rows)}\n\nchosen on validation, calibrated confidences (target ${pct(c.targetAccuracy)}${c.met ? '' : ', not reached'}): threshold ${c.threshold}, test ${pct(c.test.accuracy)} at ${int(c.test.averageMacs)} MACs on average${uncalibratedLine(result.uncalibrated)}\n\nwith gradient scale 1 (every head's whole gradient into the blocks): each head alone ${heads(everyGradient)}; chosen threshold ${e.threshold} (target ${pct(e.targetAccuracy)}): test ${pct(e.test.accuracy)} at ${int(e.test.averageMacs)} MACs`,
  );
}

if (parts.includes('moe')) {
  const result = await runMixtureOfExperts({ ...common, experts: 4, units: 128, topK: 1 });
  const noiseless = await runMixtureOfExperts({ ...common, experts: 4, units: 128, topK: 1, gateNoise: 0 });
  const sameActive = await alone(mlp([128], 'dense-128'));
  const sameParams = await alone(mlp([512], 'dense-512'));
  raw.moe = { result, noiseless, sameActive, sameParams };
  const shares = (s: number[]) => s.map((x) => `${(100 * x).toFixed(0)}%`).join(' / ');
  const byEpoch = (r: typeof result) => r.trainingShares.map((s) => shares(s)).join('; ');
  log(
    `## Mixture of experts (4 x 128, top 1; ${result.seconds.toFixed(1)} s)\n\n${markdownTable(
      ['model', 'params', 'active params', 'MACs', 'active MACs', 'test acc'],
      [
        [
          'mixture of experts (gate noise 1, the default)',
          int(result.params),
          int(result.activeParams),
          int(result.macs),
          int(result.activeMacs),
          pct(result.testAccuracy),
        ],
        [
          'mixture of experts, no gate noise',
          int(noiseless.params),
          int(noiseless.activeParams),
          int(noiseless.macs),
          int(noiseless.activeMacs),
          pct(noiseless.testAccuracy),
        ],
        [
          'dense 128 (same active MACs)',
          int(sameActive.params),
          int(sameActive.params),
          int(sameActive.macs),
          int(sameActive.macs),
          pct(sameActive.accuracy),
        ],
        [
          'dense 512 (same expert params)',
          int(sameParams.params),
          int(sameParams.params),
          int(sameParams.macs),
          int(sameParams.macs),
          pct(sameParams.accuracy),
        ],
      ],
    )}\n\nexpert first choices on the test part: ${shares(result.expertShares)} (no gate noise: ${shares(noiseless.expertShares)})\n\non the training part after each epoch: ${byEpoch(result)} (no gate noise: ${byEpoch(noiseless)})`,
  );
}

if (parts.includes('cascade')) {
  const result = await runCascade({ ...common, members: [8, 32, 128] });
  raw.cascade = result;
  const c = result.chosen;
  const rows = [
    ...result.members.map((m) => [`mlp-${m.hidden} alone`, int(m.macs), pct(m.testAccuracy)]),
    [`cascade, threshold ${c.threshold}`, int(c.test.averageMacs), pct(c.test.accuracy)],
  ];
  log(
    `## Cascade of MLPs (8, 32, 128 hidden; ${result.seconds.toFixed(1)} s)\n\n${calibrationTable(result.calibration, 'member')}\n\n${markdownTable(['model', 'avg MACs', 'test acc'], rows)}\n\nthreshold chosen on validation (calibrated confidences) for ${pct(c.targetAccuracy)}${c.met ? '' : ' (not reached)'}: validation ${pct(c.validation.accuracy)}; answered by each member on test: ${c.test.exitShares.map((s) => `${(100 * s).toFixed(0)}%`).join(' / ')}${uncalibratedLine(result.uncalibrated)}`,
  );
}

// Runs of a part or another seed keep the full default run's results file.
const allParts =
  parts.length === 4 && ['slim', 'early-exit', 'moe', 'cascade'].every((p) => parts.includes(p));
const suffix = `${allParts ? '' : `-${parts.join('-')}`}${seed === 0 ? '' : `-seed-${seed}`}`;
const files = writeBenchResults(`dynamic-${dataset}${suffix}`, raw, sections.join('\n'));
console.log(`\nwritten: ${files.markdown}`);
