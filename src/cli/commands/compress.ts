/**
 * `parsimony compress <model dir | spec.json | zoo:name> --dataset D`: compress a trained model
 * with one method (pruning: `magnitude`, `global`; removing units and filters: `structured`), or
 * let a study choose per-layer sparsities
 * (`--search`). A spec without weights (a spec file, a zoo name) is first trained with the
 * defaults below. Everything is checked before any training; the output directory is written
 * atomically (nothing on failure), and Ctrl-C stops the run, keeping what is done.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { ModelWeights } from '../../compress/model-weights.js';
import type { CompressionReport, ReportRow } from '../../compress/report.js';
import type { SensitivityResult } from '../../compress/sensitivity.js';
import type { SparsityStudyResult } from '../../compress/sparsity-study.js';
import { FileNotFoundError, InvalidArgumentError, ModelSpecError, UsageError } from '../../core/errors.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { parseIntegerOption } from '../options.js';
import { type CommandIO, formatInteger, formatTable, processIO } from '../output.js';

/** How a spec without weights is trained before compression. */
export const BASE_TRAINING = { epochs: 10, batchSize: 128, learningRate: 1e-3 } as const;

export interface CompressCommandOptions {
  dataset: string;
  method: string;
  recipe?: string;
  bits?: number;
  perChannel?: boolean;
  activations?: string;
  sparsity?: number;
  keep?: number;
  criterion?: string;
  search?: boolean;
  trials: number;
  schedule?: string;
  finetuneEpochs?: number;
  skip?: string;
  lastLayerMinKept?: number;
  score?: string;
  restartOptimizer?: boolean;
  sensitivity?: boolean;
  maxDrop: number;
  epochs: number;
  trainThreads: number;
  seed: number;
  out?: string;
  json?: boolean;
  energy?: number;
  rank?: number;
  paramRatio?: number;
  convolution?: string;
  layers?: string;
  teacher?: string;
  student?: string;
  temperature?: number;
  alpha?: number;
  distillEpochs?: number;
  mixup?: number;
  shift?: number;
  flip?: boolean;
  lrSchedule?: string;
  learningRate?: number;
  quantization?: string;
  calibrationSamples?: number;
}

function parsePositive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(value.trim() !== '' && Number.isFinite(n) && n > 0))
      throw new InvalidArgumentError(`${flag} must be a number > 0, got "${value}"`);
    return n;
  };
}

function parseFraction(flag: string, { allowOne = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const ok = value.trim() !== '' && Number.isFinite(n) && n >= 0 && (allowOne ? n <= 1 : n < 1);
    if (!ok)
      throw new InvalidArgumentError(`${flag} must be in [0, ${allowOne ? '1]' : '1)'}, got "${value}"`);
    return n;
  };
}

/** A kept fraction: in (0, 1]. */
function parseKept(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(value.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 1))
      throw new InvalidArgumentError(`${flag} must be in (0, 1], got "${value}"`);
    return n;
  };
}

export function registerCompressCommand(program: Command, io: CommandIO): void {
  program
    .command('compress')
    .description(
      'compress a model: prune its weights by magnitude (per layer or globally) or remove whole units and filters (structured), and fine-tune, or search per-layer sparsities; writes the compressed model and a report',
    )
    .argument(
      '[model]',
      'a saved model directory, a spec file (.json), zoo:<name> (the teacher with --method distill), or an ONNX model (.onnx: compressed as a graph, or imported as a spec with --finetune-epochs)',
    )
    .requiredOption('--dataset <name>', 'a built-in dataset or csv:<path> (see `parsimony datasets`)')
    .option(
      '--method <name>',
      'global (one pruning threshold), magnitude (each layer to the sparsity), structured (remove units and filters: a smaller model), quantize, cluster, huffman, lowrank (SVD factorisation) or distill (train --student from the model)',
      'global',
    )
    .option(
      '--recipe <file>',
      'a YAML recipe: steps (method and options) run in order, e.g. global pruning, cluster, huffman',
    )
    .option(
      '--bits <n>',
      'quantize: weight bits 2..8 (default 8); cluster: bits 1..8 (default 5)',
      parseIntegerOption('--bits', 1),
    )
    .option('--per-channel', 'quantize: one scale per output channel (default: per tensor)')
    .option(
      '--activations <calibration>',
      'quantize: also quantize activations to 8 bits, ranges from minmax, percentile, mse or entropy',
    )
    .option(
      '--sparsity <s>',
      'fraction of weights to remove, in [0, 1) (0.9 = 10x fewer)',
      parseFraction('--sparsity'),
    )
    .option(
      '--keep <f>',
      "structured: fraction of each layer's units or filters kept, in (0, 1] (residual stages keep one shared set)",
      parseKept('--keep'),
    )
    .option(
      '--criterion <name>',
      'structured: rank units and filters by l1 (default), l2, fpgm, taylor or bn',
    )
    .option('--search', 'search per-layer sparsities: accuracy against non-zero parameters (Pareto front)')
    .option('--trials <n>', 'trials of --search', parseIntegerOption('--trials', 1), 20)
    .option('--schedule <name>', 'agp (default), polynomial, constant, oneshot or iterative')
    .option(
      '--finetune-epochs <n>',
      'fine-tuning epochs (default 2)',
      parseIntegerOption('--finetune-epochs', 0),
    )
    .option('--skip <layers>', 'comma-separated layers to leave dense')
    .option(
      '--last-layer-min-kept <f>',
      'fraction of the last layer kept at least (default 0.2)',
      parseFraction('--last-layer-min-kept', { allowOne: true }),
    )
    .option(
      '--score <name>',
      'global: rank weights across layers by magnitude (default) or lamp (layer-adaptive, Lee et al. 2021)',
    )
    .option(
      '--restart-optimizer',
      'magnitude/global: a fresh optimizer at each pruning event (default: one optimizer throughout)',
    )
    .option(
      '--sensitivity',
      'prune each layer alone at 10..95%, print the table, and set per-layer sparsities from it',
    )
    .option(
      '--max-drop <f>',
      'with --sensitivity: accuracy a layer may lose at its sparsity (0.01 = 1 point)',
      parseFraction('--max-drop'),
      0.01,
    )
    .option(
      '--epochs <n>',
      `epochs to train a spec that has no weights first (Adam ${BASE_TRAINING.learningRate}, batch ${BASE_TRAINING.batchSize})`,
      parseIntegerOption('--epochs', 1),
      BASE_TRAINING.epochs,
    )
    .option(
      '--train-threads <n>',
      'threads training one model (data-parallel: each computes the gradients of its shard of every batch), for the base training and every fine-tune; distillation trains on one',
      parseIntegerOption('--train-threads', 1),
      1,
    )
    .option('--seed <n>', 'seed of the split, training and sampling', parseIntegerOption('--seed', 0), 0)
    .option('--out <dir>', 'output directory (default parsimony-results/compress-<model>)')
    .option('--json', 'print the report as JSON')
    .option(
      '--energy <f>',
      "lowrank: keep this share of each layer's squared singular values, in (0, 1]",
      parsePositive('--energy'),
    )
    .option(
      '--rank <r>',
      'lowrank: the same rank for every factorised layer',
      parseIntegerOption('--rank', 1),
    )
    .option(
      '--param-ratio <f>',
      "lowrank: factors hold at most this share of each layer's weights (0.25 = 4x fewer)",
      parseFraction('--param-ratio'),
    )
    .option('--convolution <kind>', 'lowrank: svd (kxk conv with r filters, then 1x1; default) or tucker2')
    .option(
      '--layers <names>',
      'lowrank: comma-separated layers to factorise (default: all dense and conv2d but the last)',
    )
    .option('--teacher <dir>', 'distill: the teacher (same as the model argument)')
    .option('--student <spec>', 'distill: the student, a spec file (.json) or zoo:<name>')
    .option('--temperature <t>', 'distill: softmax temperature T (default 4)', parsePositive('--temperature'))
    .option(
      '--alpha <a>',
      'distill: weight of the label cross-entropy; the teacher term gets 1 - alpha (default 0.5)',
      parseFraction('--alpha', { allowOne: true }),
    )
    .option(
      '--distill-epochs <n>',
      'distill: epochs of student training (default 10)',
      parseIntegerOption('--distill-epochs', 1),
    )
    .option(
      '--mixup <m>',
      'distill: mix each batch with itself (lambda ~ Beta(m, m)); the teacher labels the mixed images the student sees',
      parsePositive('--mixup'),
    )
    .option(
      '--shift <fraction>',
      'distill: shift augmentation up to this fraction of height and width (teacher and student see the same shifted images)',
      parseFraction('--shift'),
    )
    .option(
      '--flip',
      'distill: mirror images left-right with probability 0.5 (teacher and student see the same)',
    )
    .option(
      '--lr-schedule <name>',
      'distill: learning-rate schedule of the student, constant (default) or cosine (down to 0 over --distill-epochs)',
    )
    .option(
      '--learning-rate <lr>',
      'lowrank and distill: learning rate of (fine-)tuning',
      parsePositive('--learning-rate'),
    )
    .option(
      '--quantization <mode>',
      'quantize, ONNX models: dynamic (int8 MatMulInteger, the default), weights (int8 weights + DequantizeLinear) or static (QDQ activations too; implied by --activations)',
    )
    .option(
      '--calibration-samples <n>',
      'quantize, ONNX models with --activations: training samples to calibrate on (default 256)',
      parseIntegerOption('--calibration-samples', 1),
    )
    .action(async (model: string | undefined, options: CompressCommandOptions) => {
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        io.stderr(
          'interrupted: finishing the current batch and saving what is done (Ctrl-C again to quit now)',
        );
        controller.abort();
      };
      if (io === processIO) process.on('SIGINT', onSigint);
      try {
        if (model !== undefined && options.teacher !== undefined)
          throw new UsageError('give the teacher as the model argument or as --teacher, not both');
        const reference = model ?? options.teacher;
        if (reference === undefined) throw new UsageError('missing the model argument');
        await runCompress(reference, options, io, controller.signal);
      } finally {
        if (io === processIO) process.off('SIGINT', onSigint);
      }
    });
}

interface LoadedBase {
  spec: ModelSpec;
  weights: ModelWeights | null;
  label: string;
}

/** A model directory (spec + weights), a spec file, or a zoo name; only a directory has weights. */
async function loadBase(reference: string): Promise<LoadedBase> {
  if (reference.startsWith('zoo:')) {
    const { zooModelFromReference } = await import('../../models/zoo/index.js');
    const spec = zooModelFromReference(reference);
    return { spec, weights: null, label: reference.slice(4).split('?')[0] };
  }
  const info = await stat(reference).catch(() => null);
  if (!info) throw new FileNotFoundError(reference, 'model');
  if (reference.toLowerCase().endsWith('.onnx')) {
    // Fine-tuning needs a trainable model: the graph imported as a spec (or one line naming the ops that block it).
    const { importOnnxFile } = await import('../../compress/onnx/import-spec.js');
    const weights = importOnnxFile(reference);
    return { spec: weights.spec, weights, label: path.basename(reference, '.onnx') };
  }
  if (info.isDirectory()) {
    const { loadModelWeights } = await import('../../compress/model-weights.js');
    const { MODEL_FILES } = await import('../../models/tfjs/save.js');
    const has = async (name: string) => (await stat(path.join(reference, name)).catch(() => null)) !== null;
    if (!(await has(MODEL_FILES.weights)))
      throw new ModelSpecError(
        `${reference}: no ${MODEL_FILES.weights}: compressing a model directory needs its weights (pass a spec file to train one first)`,
      );
    // Reading weights makes tensors: the backend must be chosen first.
    const { initBackend } = await import('../../models/backends/index.js');
    await initBackend();
    const weights = await loadModelWeights(reference);
    return { spec: weights.spec, weights, label: path.basename(path.resolve(reference)) };
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(reference, 'utf8'));
  } catch (error) {
    throw new ModelSpecError(`${reference}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const { parseModelSpec } = await import('../../models/spec/validate.js');
  const spec = parseModelSpec(json, reference);
  return { spec, weights: null, label: path.basename(reference, '.json') };
}

/** True when compressing an ONNX model needs a trainable model (imported as a spec). */
export function onnxNeedsTraining(options: CompressCommandOptions): boolean {
  return (
    (options.finetuneEpochs ?? 0) > 0 ||
    ['structured', 'distill', 'huffman'].includes(options.method) ||
    options.search === true ||
    options.sensitivity === true
  );
}

export async function runCompress(
  reference: string,
  options: CompressCommandOptions,
  io: CommandIO,
  signal?: AbortSignal,
): Promise<void> {
  if (reference.toLowerCase().endsWith('.onnx') && !onnxNeedsTraining(options)) {
    const { runCompressOnnx } = await import('./compress-onnx.js');
    return runCompressOnnx(reference, options, io);
  }
  for (const [flag, value] of [
    ['--quantization', options.quantization],
    ['--calibration-samples', options.calibrationSamples],
  ] as const)
    if (value !== undefined)
      throw new UsageError(`${flag} applies to ONNX models compressed without training`);
  if (options.search && options.sparsity !== undefined)
    throw new UsageError('give --sparsity or --search, not both');
  if (options.search && options.sensitivity) throw new UsageError('give --sensitivity or --search, not both');
  if (options.recipe && (options.search || options.sensitivity))
    throw new UsageError('--recipe runs its own steps: not with --search or --sensitivity');
  const recipe = options.recipe
    ? await (await import('../../compress/recipe-file.js')).readRecipe(options.recipe)
    : undefined;
  const base = await loadBase(reference);
  const skip = options.skip ? options.skip.split(',').map((s) => s.trim()) : undefined;
  const out = options.out ?? path.join('parsimony-results', `compress-${base.label}`);
  const { validateRecipe } = await import('../../compress/pipeline.js');
  const { checkOutputDir } = await import('../../compress/store.js');
  const { compressionData } = await import('../../compress/data.js');
  const { initBackend } = await import('../../models/backends/index.js');
  // Every check that needs no training comes first: the recipe, the output directory, the data.
  const structured = options.method === 'structured';
  if (structured) {
    const misplaced = (
      [
        ['--sparsity', options.sparsity],
        ['--schedule', options.schedule],
        ['--last-layer-min-kept', options.lastLayerMinKept],
        ['--score', options.score],
        ['--search', options.search],
        ['--sensitivity', options.sensitivity],
      ] as const
    ).find(([, value]) => value !== undefined && value !== false);
    if (misplaced) throw new UsageError(`${misplaced[0]} does not apply to --method structured`);
    if (options.keep === undefined)
      throw new UsageError('--method structured needs --keep (e.g. --keep 0.5)');
  } else {
    if (options.keep !== undefined) throw new UsageError('--keep applies to --method structured only');
    if (options.criterion !== undefined)
      throw new UsageError('--criterion applies to --method structured only');
  }
  const stepOptions: Record<string, unknown> = {};
  if (structured) {
    stepOptions.keep = options.keep;
    if (options.criterion !== undefined) stepOptions.criterion = options.criterion;
    if (options.finetuneEpochs !== undefined) stepOptions.finetuneEpochs = options.finetuneEpochs;
    // A skipped layer keeps all its channels (and so does the group it belongs to).
    if (skip) stepOptions.layers = Object.fromEntries(skip.map((name) => [name, 1]));
  }
  if (options.sparsity !== undefined) stepOptions.sparsity = options.sparsity;
  if (options.schedule !== undefined) stepOptions.schedule = options.schedule;
  if (!structured && options.finetuneEpochs !== undefined)
    stepOptions.finetuneEpochs = options.finetuneEpochs;
  if (!structured && skip) stepOptions.skip = skip;
  if (options.lastLayerMinKept !== undefined) stepOptions.lastLayerMinKept = options.lastLayerMinKept;
  if (options.score !== undefined) {
    if (options.method !== 'global') throw new UsageError('--score applies to --method global only');
    stepOptions.score = options.score;
  }
  if (options.restartOptimizer) {
    if (options.method !== 'magnitude' && options.method !== 'global')
      throw new UsageError(`--restart-optimizer is for --method magnitude or global, not ${options.method}`);
    if (options.search)
      throw new UsageError(
        '--restart-optimizer does not apply to --search (its trials fine-tune on their own)',
      );
    stepOptions.restartOptimizer = true;
  }
  if (options.teacher !== undefined && options.method !== 'distill')
    throw new UsageError(`--teacher is for --method distill, not ${options.method}`);
  for (const [flag, value] of [
    ['--mixup', options.mixup],
    ['--shift', options.shift],
    ['--flip', options.flip],
    ['--lr-schedule', options.lrSchedule],
  ] as const)
    if (value !== undefined && options.method !== 'distill')
      throw new UsageError(`${flag} is for --method distill, not ${options.method}`);
  if (options.method === 'lowrank' || options.method === 'distill') {
    // Their own flags replace the pruning ones.
    if (options.sparsity !== undefined || options.search || options.sensitivity)
      throw new UsageError(
        `--sparsity, --search and --sensitivity are for pruning, not --method ${options.method}`,
      );
    delete stepOptions.schedule;
    delete stepOptions.skip;
    delete stepOptions.lastLayerMinKept;
    if (options.learningRate !== undefined) stepOptions.learningRate = options.learningRate;
    if (options.method === 'lowrank') {
      if (options.energy !== undefined) stepOptions.energy = options.energy;
      if (options.rank !== undefined) stepOptions.rank = options.rank;
      if (options.paramRatio !== undefined) stepOptions.paramRatio = options.paramRatio;
      if (options.convolution !== undefined) stepOptions.convolution = options.convolution;
      if (options.layers !== undefined) stepOptions.layers = options.layers.split(',').map((l) => l.trim());
      if (options.energy === undefined && options.rank === undefined && options.paramRatio === undefined)
        throw new UsageError('--method lowrank needs --energy, --rank or --param-ratio');
    } else {
      delete stepOptions.finetuneEpochs;
      if (options.student === undefined)
        throw new UsageError('--method distill needs --student <spec.json | zoo:name>');
      stepOptions.student = options.student;
      if (options.temperature !== undefined) stepOptions.temperature = options.temperature;
      if (options.alpha !== undefined) stepOptions.alpha = options.alpha;
      if (options.distillEpochs !== undefined) stepOptions.epochs = options.distillEpochs;
      if (options.mixup !== undefined) stepOptions.mixup = options.mixup;
      if (options.shift !== undefined || options.flip)
        stepOptions.augmentation = {
          ...(options.shift !== undefined ? { shift: options.shift } : {}),
          ...(options.flip ? { horizontalFlip: true } : {}),
        };
      if (options.lrSchedule !== undefined) stepOptions.schedule = options.lrSchedule;
    }
  }
  if (options.bits !== undefined) stepOptions.bits = options.bits;
  if (options.perChannel) stepOptions.granularity = 'channel';
  if (options.activations !== undefined) stepOptions.activations = options.activations;
  if (options.method === 'quantize' || options.method === 'cluster' || options.method === 'huffman')
    for (const key of ['sparsity', 'schedule', 'lastLayerMinKept'] as const)
      if (key in stepOptions)
        throw new UsageError(`--${key} is a pruning option; --method ${options.method} has none`);
  if (recipe) {
    const given = Object.keys(stepOptions);
    if (given.length > 0) {
      const flag =
        given[0] === 'granularity' ? 'per-channel' : given[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new UsageError(`--recipe holds every step's options: not with --${flag}`);
    }
    validateRecipe(recipe, base.spec);
  } else if (options.search) {
    if (options.method !== 'magnitude' && options.method !== 'global')
      throw new UsageError(
        `--search chooses per-layer sparsities for pruning; --method ${options.method} has none`,
      );
    const { prunableLayers } = await import('../../compress/methods/magnitude.js');
    for (const name of skip ?? [])
      if (!base.spec.layers.some((l) => l.name === name))
        throw new InvalidArgumentError(`--skip: no layer "${name}" in the model`);
    if (prunableLayers(base.spec).every((n) => skip?.includes(n)))
      throw new InvalidArgumentError('--skip: no layer left to prune');
  } else if (options.sensitivity) {
    if (options.method !== 'magnitude')
      throw new UsageError('--sensitivity sets per-layer sparsities: use it with --method magnitude');
    // Checked with a placeholder per-layer map: the real one comes from the analysis.
    validateRecipe(
      [{ method: 'magnitude', options: { ...stepOptions, sparsity: options.sparsity ?? 0 } }],
      base.spec,
    );
  } else {
    if (options.sparsity === undefined && (options.method === 'magnitude' || options.method === 'global'))
      throw new UsageError('--sparsity is required (or --search, or --sensitivity with --method magnitude)');
    validateRecipe([{ method: options.method, options: stepOptions }], base.spec);
  }
  await checkOutputDir(out);
  await initBackend();
  const data = await compressionData(options.dataset, base.spec, options.seed);
  // Progress goes to stderr also with --json: stdout stays one JSON document.
  const progress = (line: string) => io.stderr(line);

  let weights = base.weights;
  let baseSeconds = 0;
  if (!weights) {
    progress(
      `training ${base.label} first: ${options.epochs} epochs, Adam ${BASE_TRAINING.learningRate}, batch ${BASE_TRAINING.batchSize}`,
    );
    const { buildTfjsModel } = await import('../../models/tfjs/build.js');
    const { trainModel } = await import('../../train/trainer.js');
    const { readModelWeights } = await import('../../compress/model-weights.js');
    const model = await buildTfjsModel(base.spec, { seed: options.seed });
    try {
      const result = await trainModel(model, data.train, {
        epochs: options.epochs,
        batchSize: BASE_TRAINING.batchSize,
        optimizer: { type: 'adam', learningRate: BASE_TRAINING.learningRate },
        validation: data.validation,
        seed: options.seed,
        threads: options.trainThreads,
        signal,
        progress: !options.json,
        onEpoch: (m) =>
          progress(
            `  epoch ${m.epoch + 1}/${options.epochs}: val ${(100 * (m.valAccuracy ?? 0)).toFixed(2)}%`,
          ),
      });
      if (result.stopped === 'aborted')
        throw new InvalidArgumentError('interrupted while training the base model: nothing written');
      baseSeconds = result.seconds;
      weights = readModelWeights(model, base.spec);
    } finally {
      model.dispose();
    }
  }

  if (options.search) {
    const result = await runSearch(weights, data, options, skip, out, signal, progress);
    io.stdout(options.json ? JSON.stringify(searchJson(result), null, 2) : formatSearch(result, out));
    return;
  }
  let sensitivity: SensitivityResult | undefined;
  if (options.sensitivity) {
    const { analyzeSensitivity, formatSensitivityTable, sparsitiesFromSensitivity } = await import(
      '../../compress/sensitivity.js'
    );
    progress('sensitivity: pruning each layer alone at 10..95%');
    sensitivity = await analyzeSensitivity(weights, data.validation, { signal });
    if (!options.json) io.stdout(`${formatSensitivityTable(sensitivity)}\n`);
    stepOptions.layers = sparsitiesFromSensitivity(sensitivity, options.maxDrop);
    if (options.sparsity === undefined) delete stepOptions.sparsity;
  }
  const { compressModel } = await import('../../compress/compress.js');
  const method = options.sensitivity ? 'magnitude' : options.method;
  const { report } = await compressModel({
    base: weights,
    baseSeconds,
    recipe: recipe ?? [{ method, options: stepOptions }],
    data,
    out,
    seed: options.seed,
    signal,
    dataset: options.dataset,
    fineTune: { progress: !options.json, threads: options.trainThreads },
    onProgress: (p) => progress(`${p.step}: ${p.message}`),
  });
  if (options.json) {
    const { reportJson } = await import('../../compress/report.js');
    io.stdout(
      JSON.stringify({ ...reportJson(report), ...(sensitivity ? { sensitivity } : {}), out }, null, 2),
    );
  } else io.stdout(formatReport(report, out));
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

export function formatReport(report: CompressionReport, out: string): string {
  const rows: (ReportRow & { label: string })[] = [
    { label: 'base', ...report.base },
    ...report.steps.map((s) => ({ ...s, label: `${s.step}${s.interrupted ? ' (interrupted)' : ''}` })),
    { label: 'result (stored)', ...report.result },
  ];
  const table = formatTable(rows, [
    { header: '', value: (r) => r.label },
    { header: 'params', value: (r) => formatInteger(r.params), align: 'right' },
    { header: 'non-zero', value: (r) => formatInteger(r.nonZeroParams), align: 'right' },
    { header: 'MACs', value: (r) => formatInteger(r.macs), align: 'right' },
    { header: 'eff. MACs', value: (r) => formatInteger(r.effectiveMacs), align: 'right' },
    { header: 'stored bytes', value: (r) => formatInteger(r.storedBytes), align: 'right' },
    { header: 'bits/weight', value: (r) => r.bitsPerWeight.toFixed(2), align: 'right' },
    { header: 'ratio', value: (r) => `${r.compressionRatio.toFixed(2)}x`, align: 'right' },
    { header: 'val acc', value: (r) => pct(r.valAccuracy), align: 'right' },
    { header: 'test acc', value: (r) => pct(r.testAccuracy), align: 'right' },
    { header: 'seconds', value: (r) => r.seconds.toFixed(1), align: 'right' },
  ]);
  const layers = formatTable(report.layers, [
    { header: 'layer', value: (l) => l.name },
    { header: 'weights', value: (l) => formatInteger(l.weights), align: 'right' },
    { header: 'kept', value: (l) => `${(100 * l.kept).toFixed(2)}%`, align: 'right' },
  ]);
  return [
    `compressed ${report.model}${report.dataset ? ` on ${report.dataset}` : ''}${report.completed ? '' : ' (interrupted: the steps done are saved)'}`,
    '',
    table,
    '',
    layers,
    '',
    'Stored bytes: non-zero weights at their bit width, everything else at 32 bits (sparse indices not counted);',
    'after a quantize, cluster or huffman step, the bits of compressed.bin as Han et al. 2016 count them',
    '(codes, codebooks or scales, relative sparse indices with padding, Huffman tables), biases at 32 bits.',
    `Accuracy of the result is measured on the model loaded back from ${out}.`,
  ].join('\n');
}

async function runSearch(
  weights: ModelWeights,
  data: Awaited<ReturnType<typeof import('../../compress/data.js').compressionData>>,
  options: CompressCommandOptions,
  skip: string[] | undefined,
  out: string,
  signal: AbortSignal | undefined,
  progress: (line: string) => void,
): Promise<SparsityStudyResult> {
  const { runSparsityStudy } = await import('../../compress/sparsity-study.js');
  const { writeSearchResult } = await import('../../compress/store.js');
  const result = await runSparsityStudy({
    base: weights,
    data,
    trials: options.trials,
    seed: options.seed,
    finetuneEpochs: options.finetuneEpochs ?? 2,
    skip,
    lastLayerMinKept: options.lastLayerMinKept,
    signal,
    onTrial: (p) =>
      progress(
        `[${p.finished}/${p.total}] front: ${p.front
          .slice(0, 4)
          .map((r) => `${(100 * r.valAccuracy).toFixed(1)}%@${formatInteger(r.nonZeroParams)}`)
          .join(' ')}`,
      ),
  });
  await writeSearchResult(out, { front: searchJson(result), models: result.models });
  return result;
}

function searchJson(result: SparsityStudyResult) {
  return {
    studyName: result.studyName,
    counts: result.counts,
    seconds: result.seconds,
    front: result.front,
  };
}

function formatSearch(result: SparsityStudyResult, out: string): string {
  const layerNames = Object.keys(result.front[0]?.sparsity ?? {});
  return [
    `sparsity search: ${result.counts.complete} complete, ${result.counts.pruned} pruned, ${result.counts.failed} failed in ${result.seconds.toFixed(1)} s`,
    '',
    `Pareto front (maximise validation accuracy, minimise non-zero parameters): ${result.front.length} trials`,
    formatTable(result.front, [
      { header: 'trial', value: (r) => r.trial, align: 'right' },
      { header: 'non-zero', value: (r) => formatInteger(r.nonZeroParams), align: 'right' },
      { header: 'eff. MACs', value: (r) => formatInteger(r.effectiveMacs), align: 'right' },
      { header: 'val acc', value: (r) => pct(r.valAccuracy), align: 'right' },
      { header: 'test acc', value: (r) => pct(r.testAccuracy), align: 'right' },
      ...layerNames.map((name) => ({
        header: `${name} kept`,
        value: (r: (typeof result.front)[number]) => `${(100 * (1 - r.sparsity[name])).toFixed(1)}%`,
        align: 'right' as const,
      })),
    ]),
    '',
    `The front's models are in ${out}/trial-<n>/.`,
  ].join('\n');
}
