/**
 * `parsimony dynamic slim|early-exit|moe|cascade --dataset D`: trains a network whose size changes
 * at run time on a dataset and prints accuracy against cost (per width, over exit thresholds, total
 * and active cost, or a cascade's threshold chosen on validation data); `parsimony dynamic analyze
 * <dir>` prints the cost of a saved one from its spec alone.
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { DynamicComplexity } from '../../dynamic/analyze.js';
import type { ExitPoint } from '../../dynamic/exits.js';
import type { DynamicRunOptions, StageCalibrationResult, ThresholdRunResult } from '../../dynamic/run.js';
import { parseIntegerOption, parsePositiveNumberOption } from '../options.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

interface CommonOptions {
  dataset: string;
  epochs: number;
  learningRate: number;
  batchSize: number;
  trainSize?: number;
  seed: number;
  out?: string;
  json?: boolean;
}

function numberList(flag: string, integer: boolean) {
  return (value: string): number[] => {
    const items = value.split(',').map((s) => Number(s.trim()));
    if (
      value.trim() === '' ||
      items.some((n) => !(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    )
      throw new UsageError(
        `${flag} must be a comma-separated list of positive ${integer ? 'integers' : 'numbers'}, got "${value}"`,
      );
    return items;
  };
}

function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1))
      throw new UsageError(`${flag} must be a number in [0, 1], got "${value}"`);
    return n;
  };
}

function nonNegative(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && Number.isFinite(n)))
      throw new UsageError(`${flag} must be a number >= 0, got "${value}"`);
    return n;
  };
}

function common(command: Command): Command {
  return command
    .requiredOption('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)')
    .option('--epochs <n>', 'training epochs', parseIntegerOption('--epochs', 1), 10)
    .option('--learning-rate <lr>', 'Adam learning rate', parsePositiveNumberOption('--learning-rate'), 0.003)
    .option('--batch-size <n>', 'batch size', parseIntegerOption('--batch-size', 1), 32)
    .option(
      '--train-size <n>',
      'train on this many training samples (seeded draw)',
      parseIntegerOption('--train-size', 1),
    )
    .option(
      '--seed <n>',
      'seed of the split, initialisation and shuffling',
      parseIntegerOption('--seed', 0),
      0,
    )
    .option('--out <dir>', 'save the trained network to this directory')
    .option('--json', 'print the result as JSON');
}

const runOptions = (o: CommonOptions): DynamicRunOptions => ({
  dataset: o.dataset,
  epochs: o.epochs,
  learningRate: o.learningRate,
  batchSize: o.batchSize,
  seed: o.seed,
  ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
  ...(o.out === undefined ? {} : { out: o.out }),
});

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;

function curveTable(curve: readonly ExitPoint[], stage: string): string {
  return formatTable(curve, [
    { header: 'threshold', value: (p) => p.threshold, align: 'right' },
    { header: 'test acc', value: (p) => percent(p.accuracy), align: 'right' },
    { header: 'avg MACs', value: (p) => formatInteger(p.averageMacs), align: 'right' },
    {
      header: `share per ${stage}`,
      value: (p) => p.exitShares.map((s) => `${(100 * s).toFixed(0)}%`).join(' / '),
    },
  ]);
}

function calibrationTable(rows: readonly StageCalibrationResult[], stage: string): string {
  const fixed = (x: number) => x.toFixed(3);
  return formatTable(
    rows.map((r, i) => ({ ...r, stage: i + 1 })),
    [
      { header: stage, value: (r) => r.stage, align: 'right' },
      { header: 'temperature', value: (r) => r.temperature.toFixed(3), align: 'right' },
      {
        header: 'val NLL before/after',
        value: (r) => `${fixed(r.validation.nllBefore)} / ${fixed(r.validation.nllAfter)}`,
      },
      {
        header: 'test ECE before/after',
        value: (r) => `${fixed(r.test.eceBefore)} / ${fixed(r.test.eceAfter)}`,
      },
    ],
  );
}

function chosenLine(c: ThresholdRunResult): string {
  return `threshold ${c.threshold} chosen on validation data for accuracy >= ${percent(c.targetAccuracy)}${c.met ? '' : ' (not reached: the most accurate threshold instead)'}: validation ${percent(c.validation.accuracy)} at ${formatInteger(c.validation.averageMacs)} MACs; test ${percent(c.test.accuracy)} at ${formatInteger(c.test.averageMacs)} MACs per sample on average`;
}

/** The cost of a dynamic network: upper bound, each way a sample can run, the expected cost. */
export function formatDynamicAnalysis(a: DynamicComplexity, threshold?: number): string {
  const ways = { slimmable: 'width', 'early-exit': 'head', cascade: 'member', conditional: 'way' }[a.kind];
  return [
    `${a.kind}: ${formatInteger(a.upperBound.params)} parameters stored${a.upperBound.stateValues > 0 ? ` (and ${formatInteger(a.upperBound.stateValues)} batch-norm statistics)` : ''}, at most ${formatInteger(a.upperBound.macs)} MACs per sample`,
    formatTable(a.variants, [
      { header: 'runs as', value: (v) => v.label },
      { header: 'params', value: (v) => formatInteger(v.params), align: 'right' },
      { header: 'MACs', value: (v) => formatInteger(v.macs), align: 'right' },
    ]),
    ...(a.expectedMacs === undefined
      ? a.kind === 'slimmable'
        ? ['expected      the width is chosen per call: each costs its row']
        : []
      : [
          a.kind === 'conditional'
            ? `expected      ${formatInteger(a.expectedMacs)} MACs per sample (every sample runs its top-k experts)`
            : `expected      ${formatInteger(a.expectedMacs)} MACs per sample${threshold === undefined ? '' : ` at threshold ${threshold}`} (${(a.shares ?? []).map((s) => `${(100 * s).toFixed(0)}%`).join(' / ')} of the validation samples answered by each ${ways})`,
        ]),
  ].join('\n');
}

export function registerDynamicCommand(program: Command, io: CommandIO): void {
  const dynamic = program
    .command('dynamic')
    .description(
      'networks whose size changes at run time: slimmable widths, early exits, mixture of experts, cascades',
    );
  const print = (json: boolean | undefined, result: unknown, text: () => string) =>
    io.stdout(json ? JSON.stringify(result, null, 2) : text());

  common(
    dynamic
      .command('slim')
      .description(
        'one set of weights trained at several widths (sandwich rule, switchable batch norm); accuracy and MACs per width',
      ),
  )
    .option('--hidden <units>', 'hidden layer sizes at full width', numberList('--hidden', true), [128, 64])
    .option(
      '--widths <list>',
      'widths, ascending, the last 1',
      numberList('--widths', false),
      [0.25, 0.5, 0.75, 1],
    )
    .option(
      '--inplace-distillation',
      "train the smaller widths on the widest width's predictions instead of the labels",
    )
    .action(
      async (o: CommonOptions & { hidden: number[]; widths: number[]; inplaceDistillation?: boolean }) => {
        if (o.widths.some((w, i) => w > 1 || (i > 0 && w <= o.widths[i - 1])) || o.widths.at(-1) !== 1)
          throw new UsageError(`--widths must ascend in (0, 1] and end at 1, got "${o.widths.join(',')}"`);
        const { runSlimmable } = await import('../../dynamic/run.js');
        const result = await runSlimmable({
          ...runOptions(o),
          hidden: o.hidden,
          widths: o.widths,
          inplaceDistillation: o.inplaceDistillation === true,
        });
        print(o.json, result, () =>
          [
            `slimmable MLP on ${result.dataset} (${result.seconds.toFixed(1)} s)`,
            formatTable(result.widths, [
              { header: 'width', value: (r) => r.width, align: 'right' },
              { header: 'hidden', value: (r) => r.hidden.join('-') },
              { header: 'params', value: (r) => formatInteger(r.params), align: 'right' },
              { header: 'MACs', value: (r) => formatInteger(r.macs), align: 'right' },
              { header: 'test acc', value: (r) => percent(r.accuracy), align: 'right' },
            ]),
            ...(o.out ? [`saved to ${o.out}`] : []),
          ].join('\n'),
        );
      },
    );

  common(
    dynamic
      .command('early-exit')
      .description(
        'classifier heads after intermediate blocks, trained jointly; accuracy and average MACs over confidence thresholds',
      ),
  )
    .option(
      '--hidden <units>',
      'sizes of the blocks (a head after each but the last)',
      numberList('--hidden', true),
      [128, 128, 128],
    )
    .option(
      '--target-accuracy <p>',
      "validation accuracy (0..1) the chosen threshold must reach (default: the last head's minus 0.005)",
      fraction('--target-accuracy'),
    )
    .option(
      '--gradient-scale <s>',
      "share (0..1) of the early heads' gradient that reaches the blocks (1: all, 0: the last head alone trains them)",
      fraction('--gradient-scale'),
      0.3,
    )
    .option('--no-calibrate', "threshold the heads' raw softmax confidence (no temperature per head)")
    .action(
      async (
        o: CommonOptions & {
          hidden: number[];
          targetAccuracy?: number;
          gradientScale: number;
          calibrate: boolean;
        },
      ) => {
        const { runEarlyExit } = await import('../../dynamic/run.js');
        const result = await runEarlyExit({
          ...runOptions(o),
          hidden: o.hidden,
          targetAccuracy: o.targetAccuracy,
          gradientScale: o.gradientScale,
          calibrate: o.calibrate,
        });
        print(o.json, result, () =>
          [
            `early-exit MLP on ${result.dataset} (${result.seconds.toFixed(1)} s); MACs up to each head: ${result.heads.map((h) => `${h.output} ${formatInteger(h.macs)}`).join(', ')}`,
            ...(result.calibration
              ? [
                  `temperature per head, fitted on validation data:\n${calibrationTable(result.calibration, 'head')}`,
                ]
              : []),
            curveTable(result.curve, 'head'),
            chosenLine(result.chosen),
            ...(result.uncalibrated ? [`uncalibrated: ${chosenLine(result.uncalibrated)}`] : []),
            ...(o.out ? [`saved to ${o.out}`] : []),
          ].join('\n'),
        );
      },
    );

  common(
    dynamic
      .command('moe')
      .description(
        'a mixture-of-experts layer (top-k gate, load-balancing loss); total and active cost, accuracy',
      ),
  )
    .option('--experts <n>', 'experts', parseIntegerOption('--experts', 1), 4)
    .option('--units <n>', 'units of each expert', parseIntegerOption('--units', 1), 128)
    .option('--top-k <n>', 'experts used per sample', parseIntegerOption('--top-k', 1), 1)
    .option(
      '--balance-weight <w>',
      'weight of the load-balancing loss',
      parsePositiveNumberOption('--balance-weight'),
    )
    .option(
      '--gate-noise <s>',
      'standard deviation of the noise on the gate logits in training (noisy top-k gating; 0: none)',
      nonNegative('--gate-noise'),
    )
    .action(
      async (
        o: CommonOptions & {
          experts: number;
          units: number;
          topK: number;
          balanceWeight?: number;
          gateNoise?: number;
        },
      ) => {
        if (o.topK > o.experts) throw new UsageError(`--top-k ${o.topK} is more than --experts ${o.experts}`);
        const { runMixtureOfExperts } = await import('../../dynamic/run.js');
        const r = await runMixtureOfExperts({
          ...runOptions(o),
          experts: o.experts,
          units: o.units,
          topK: o.topK,
          balanceWeight: o.balanceWeight,
          gateNoise: o.gateNoise,
        });
        print(o.json, r, () =>
          [
            `mixture of ${r.experts} experts x ${r.units} units, top ${r.topK}, on ${r.dataset} (${r.seconds.toFixed(1)} s)`,
            `parameters  ${formatInteger(r.params)} in all, ${formatInteger(r.activeParams)} active per sample`,
            `MACs        ${formatInteger(r.macs)} with every expert, ${formatInteger(r.activeMacs)} active per sample`,
            `test acc    ${percent(r.testAccuracy)}`,
            `experts     first choice of ${r.expertShares.map((s) => `${(100 * s).toFixed(0)}%`).join(' / ')} of the test samples`,
            ...(o.out ? [`saved to ${o.out}`] : []),
          ].join('\n'),
        );
      },
    );

  common(
    dynamic
      .command('cascade')
      .description(
        'models of increasing size; unsure samples go on to the next; threshold chosen on validation data; average cost',
      ),
  )
    .option(
      '--members <units>',
      'hidden units of each member (one hidden layer each), smallest first',
      numberList('--members', true),
      [8, 32, 128],
    )
    .option(
      '--target-accuracy <p>',
      "validation accuracy (0..1) the chosen threshold must reach (default: the largest member's minus 0.005)",
      fraction('--target-accuracy'),
    )
    .option('--no-calibrate', "threshold the members' raw softmax confidence (no temperature per member)")
    .action(async (o: CommonOptions & { members: number[]; targetAccuracy?: number; calibrate: boolean }) => {
      const { runCascade } = await import('../../dynamic/run.js');
      const r = await runCascade({
        ...runOptions(o),
        members: o.members,
        targetAccuracy: o.targetAccuracy,
        calibrate: o.calibrate,
      });
      print(o.json, r, () =>
        [
          `cascade on ${r.dataset} (${r.seconds.toFixed(1)} s); members alone: ${r.members.map((m) => `mlp-${m.hidden} ${percent(m.testAccuracy)} at ${formatInteger(m.macs)} MACs`).join(', ')}`,
          ...(r.calibration
            ? [
                `temperature per member, fitted on validation data:\n${calibrationTable(r.calibration, 'member')}`,
              ]
            : []),
          curveTable(r.curve, 'member'),
          chosenLine(r.chosen),
          ...(r.uncalibrated ? [`uncalibrated: ${chosenLine(r.uncalibrated)}`] : []),
          ...(o.out ? [`saved to ${o.out}`] : []),
        ].join('\n'),
      );
    });

  dynamic
    .command('analyze')
    .description(
      'cost of a saved dynamic network from its spec: upper bound and cost per width, exit or member',
    )
    .argument(
      '<dir>',
      'a directory written by `parsimony dynamic ... --out` (a mixture-of-experts model: any saved model directory)',
    )
    .option('--json', 'print the analysis as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const { analyzeSavedModel, readDynamicDirectory } = await import('../../dynamic/analyze.js');
      const a = await analyzeSavedModel(dir);
      const spec = await readDynamicDirectory(dir);
      const threshold = spec && spec.kind !== 'slimmable' ? spec.threshold : undefined;
      print(o.json, a, () => formatDynamicAnalysis(a, threshold));
    });
}
