/**
 * `runAutoml`: from a data file to a small, good, saved model within a wall-clock budget.
 *
 * A two-objective study (maximise validation accuracy, minimise parameters) over the feature
 * preparation, the network and its training (see space.ts), sampled by multi-objective TPE, pruned
 * by Pareto successive halving over epochs, trials in worker threads. Everything that would make
 * the run useless is checked before anything is written: the target, the image shape, a parameter
 * or MAC budget that excludes the whole space, a time budget too short to train the smallest
 * network once.
 *
 * The output directory holds the study (`study.db`, so rerunning with the same directory continues
 * it), one model directory per Pareto-front trial (`trials/trial-<n>/`: model.json, weights.bin,
 * parsimony-model.json, pipeline.json), a copy of the best one (`best/`: highest validation
 * accuracy, then lowest validation loss, then fewest parameters), on cross-validated tables an
 * ensemble of trials chosen on their out-of-fold predictions (`ensemble/`, when it beats the best
 * single trial out of fold) and `report.json`. The run's result (`chosen` in the report, and what
 * `predict` applies when given the output directory) is the ensemble when it was kept, else
 * `best/`: decided on out-of-fold accuracy only, as auto-sklearn does; test accuracy is reported
 * for both and never consulted.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, NoCompletedTrialError } from '../core/errors.js';
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';
import { FAIL_REASON_KEY } from '../core/study-view.js';
import { checkFolds } from '../evaluate/cross-validation.js';
import { initBackend } from '../models/backends/index.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import type { ModelSpec } from '../models/spec/types.js';
import { buildTfjsModel } from '../models/tfjs/build.js';
import { ParetoSuccessiveHalvingPruner } from '../pruners/pareto-successive-halving.js';
import { interruptibleThreadObjective, TrialInterrupted } from '../run/thread-objective.js';
import { RandomSampler } from '../samplers/random.js';
import { TPESampler } from '../samplers/tpe/tpe-sampler.js';
import { imageSpace } from '../search/image-space.js';
import { keepTrialModels } from '../search/model-output.js';
import { createStudy } from '../study/create.js';
import { trainingData, trainModel } from '../train/trainer.js';
import {
  defaultMaxMacs,
  measureStepTiming,
  predictionSeconds,
  type StepTiming,
  trainingSeconds,
  wrapUpSeconds,
} from './budget-plan.js';
import { defaultFolds, developmentRows } from './cross-validated-trial.js';
import { type AutomlData, type AutomlSource, type ImageShape, loadAutomlData, parseSource } from './data.js';
import { saveEnsemble, selectEnsemble } from './ensemble.js';
import { AUTOML_FILES } from './files.js';
import { type AutomlFinal, trainFinalModel } from './final.js';
import { AUTOML_ATTRS, type AutomlContext } from './objective.js';
import { savedModelAccuracy } from './predict.js';
import {
  IMAGE_PORTFOLIO,
  imagePortfolio,
  imageSpaceOptions,
  smallestImageNetwork,
  smallestTableNetwork,
  tableStartingPoints,
} from './space.js';

export interface AutomlOptions {
  /** A CSV file (`data.csv` or `csv:data.csv`) or a built-in dataset name (`digits`, `fashion-mnist`). */
  data: string;
  /** The CSV's target column (name or 0-based index). */
  target?: string;
  /** Read each CSV row's features as an image of this shape. */
  imageShape?: ImageShape;
  /** Wall-clock budget of the whole run in seconds (default 600). */
  budgetSeconds?: number;
  maxParams?: number;
  maxMacs?: number;
  seed?: number;
  /** Output directory (default `parsimony-results/automl-<data name>`). */
  out?: string;
  /** Worker threads (default one per core). */
  threads?: number;
  /** Most epochs per trial, per fold under cross-validation (default 60 for tables, 20 for images). */
  maxEpochs?: number;
  /**
   * Tables: score each trial by stratified k-fold cross-validation on the training and validation
   * rows and refit it on both (default 5 on tables of at most 5,000 such rows, fewer when the
   * smallest class has fewer rows; 0 scores on the one validation split). Not for images.
   */
  folds?: number;
  /** Sampler of the study: multi-objective TPE (default) or random search (a baseline). */
  sampler?: 'tpe' | 'random';
  /**
   * Share of the budget kept for training the search's best configuration again on the whole
   * training split, with a cosine schedule planned to end with the budget (default 0.4 for images,
   * 0 for tables; 0 turns it off). The search gets the rest.
   */
  finalShare?: number;
  /**
   * Training samples each search trial sees (the first ones of the shuffled training split): a
   * lower fidelity that buys more trials. Default: all, or a fifth (at least 10,000) for image
   * training splits above 20,000 samples.
   */
  searchSamples?: number;
  /**
   * Try the known-good small CNNs of `IMAGE_PORTFOLIO` that keep to the budget first (default true
   * with TPE on images; never with random search, the baseline).
   */
  portfolio?: boolean;
  onProgress?: (event: AutomlProgress) => void;
  /** Called once the run is planned, before the first trial (the command prints it as its header). */
  onStart?: (plan: AutomlPlan) => void;
  signal?: AbortSignal;
  /**
   * When the budget started (ms since the epoch; default: when `runAutoml` is called). The command
   * passes its process's start, so the whole command keeps to `--budget`.
   */
  startedAt?: number;
}

/** How the run spends its budget, decided before the first trial. */
export interface AutomlPlan {
  budgetSeconds: number;
  /** Seconds from the start to the search's hard stop. */
  searchSeconds: number;
  /** Seconds kept for the final training (0: none). */
  finalSeconds: number;
  /** Seconds kept at the end for the ensemble, the front's models and the report. */
  wrapUpSeconds: number;
  maxParams: number | null;
  maxMacs: number | null;
  /** Where the MAC cap comes from: `--max-macs`, the budget and the measured step timing, or none (tables). */
  maxMacsSource: 'option' | 'budget' | 'none';
  /** The default cap's rule in words (null unless it comes from the budget). */
  maxMacsRule: string | null;
  /** Training seconds per sample as measured here: base + per MAC (images; null for tables). */
  stepTiming: StepTiming | null;
  searchSamples: number;
  threads: number;
}

export interface AutomlProgress {
  finished: number;
  elapsedSeconds: number;
  budgetSeconds: number;
  trial: { number: number; state: TrialState };
  front: AutomlFrontRow[];
}

export interface AutomlFrontRow {
  trial: number;
  validationAccuracy: number;
  testAccuracy: number | null;
  params: number;
  macs: number | null;
  features: number | null;
  /** Training samples the trial saw (the search fidelity). */
  trainSamples: number | null;
  epochs: number | null;
  validationLoss: number | null;
  /** The trial's model directory, relative to the output directory. */
  model: string;
  params_: Record<string, string | number | boolean | null>;
}

export interface AutomlResult {
  out: string;
  data: string;
  kind: 'table' | 'image';
  seed: number;
  budgetSeconds: number;
  elapsedSeconds: number;
  threads: number;
  /** Trials of this run and earlier runs of the same directory, by state. */
  counts: Record<TrialState, number>;
  /** How trials were scored: k-fold cross-validation (then refitted on train + validation) or one validation split. */
  selection: { method: 'cross-validation'; folds: number } | { method: 'holdout' };
  /** How the budget was planned (MAC cap, search and final seconds). */
  plan: AutomlPlan;
  /** Trials this run added. */
  newTrials: number;
  resumed: boolean;
  front: AutomlFrontRow[];
  /** The saved best model: the final training's when it has the higher validation accuracy. */
  best: AutomlFrontRow;
  /** Training samples of each search trial. */
  searchSamples: number;
  /** Seconds of the search (the rest of the budget was kept for the final training). */
  searchSeconds: number;
  /** The final training of the search's best configuration (null when off or when no epoch fitted). */
  final: AutomlFinal | null;
  /**
   * Cross-validated tables: the ensemble chosen greedily from the trials' out-of-fold
   * probabilities, saved in `ensemble/` when it beats the best single trial out of fold; else null.
   */
  ensemble: AutomlEnsemble | null;
  /** The run's result: the ensemble when it beats the best single trial out of fold, else `best/`. */
  chosen: AutomlChoice;
  interrupted: string | null;
}

export interface AutomlEnsemble {
  members: { trial: number; weight: number }[];
  outOfFoldAccuracy: number;
  /** The best single candidate's out-of-fold accuracy, which the ensemble beats. */
  singleOutOfFoldAccuracy: number;
  /** The ensemble's directory, relative to the output directory. */
  model: string;
  /** Its accuracy on the test rows, as stored (reported, never used to choose). */
  testAccuracy: number;
}

/** Which model the run presents as its result, and the figures of both sides. */
export interface AutomlChoice {
  /** Directory under the output directory: `best` or `ensemble`. */
  model: 'best' | 'ensemble';
  /** Out-of-fold accuracies of the two sides (null without cross-validation or without an ensemble). */
  bestOutOfFoldAccuracy: number | null;
  ensembleOutOfFoldAccuracy: number | null;
  /** Test accuracies of both sides as stored (null: no ensemble of two or more trials). */
  bestTestAccuracy: number | null;
  ensembleTestAccuracy: number | null;
  /** The chosen side's test accuracy. */
  testAccuracy: number | null;
}

/** The out-of-fold figures the choice reads; test accuracy may be present but is never read. */
export interface AutomlChoiceSide {
  outOfFoldAccuracy: number;
  testAccuracy?: number | null;
}

/**
 * The ensemble when it has two or more members and a strictly higher out-of-fold accuracy than
 * the best single trial, else the best single trial. Test accuracy plays no part.
 */
export function chooseAutomlModel(
  best: AutomlChoiceSide,
  ensemble: (AutomlChoiceSide & { members: number }) | null,
): 'best' | 'ensemble' {
  return ensemble && ensemble.members >= 2 && ensemble.outOfFoldAccuracy > best.outOfFoldAccuracy
    ? 'ensemble'
    : 'best';
}

export { AUTOML_FILES };

const STUDY_NAME = 'automl';

/** Directory of the final training's model under the output directory. */
const FINAL_DIR = 'final';

/** The default search fidelity: a fifth of a large image training split (at least 10,000 samples). */
export function defaultSearchSamples(kind: 'table' | 'image', trainSamples: number): number {
  if (kind === 'table' || trainSamples <= 20_000) return trainSamples;
  return Math.max(10_000, Math.round(trainSamples / 5));
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
}

/** The output directory must be new, empty, or an earlier AutoML run (its study.db) to continue. */
async function outputState(dir: string): Promise<'new' | 'resume'> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'new';
    if (code === 'ENOTDIR') throw new InvalidArgumentError(`--out ${dir}: is a file, not a directory`);
    throw error;
  }
  if (names.includes(AUTOML_FILES.study)) return 'resume';
  if (names.length > 0)
    throw new InvalidArgumentError(
      `--out ${dir}: directory is not empty and holds no earlier AutoML run (${AUTOML_FILES.study})`,
    );
  return 'new';
}

/** What a resumed run must share with the run that started the study. */
function runIdentity(source: AutomlSource, seed: number, folds: number): Record<string, string> {
  return {
    'automl:folds': String(folds),
    'automl:data': source.kind === 'dataset' ? source.name : path.resolve(source.path),
    'automl:target': source.kind === 'csv' ? source.target : '',
    'automl:imageShape': source.kind === 'csv' && source.imageShape ? source.imageShape.join('x') : '',
    'automl:seed': String(seed),
  };
}

/** The fold count of a run: the option checked against the data, else the default for its size. */
function tableFolds(data: AutomlData, folds: number | undefined): number {
  const development = Int32Array.from([...data.train.labels, ...data.validation.labels]);
  if (folds === undefined) {
    if (data.kind !== 'table') return 0;
    const counts = new Array<number>(data.classNames.length).fill(0);
    for (const label of development) counts[label]++;
    return defaultFolds(development.length, Math.min(...counts.filter((c) => c > 0)));
  }
  if (folds === 0) return 0;
  if (data.kind !== 'table')
    throw new InvalidArgumentError(`folds: cross-validation is for tables; ${data.name} is images`);
  checkFolds(folds, development, data.classNames);
  return folds;
}

/** The portfolio's first CNN on this input: the step timing's reference network. */
function portfolioNetwork(inputShape: readonly number[], classes: number): ModelSpec {
  const params = IMAGE_PORTFOLIO[0];
  return imageSpace(
    {
      suggestInt: (name) => params[name] as number,
      suggestFloat: (name) => params[name] as number,
      suggestCategorical: (name) => params[name] as never,
    },
    imageSpaceOptions(inputShape, classes, {}),
  );
}

/** Seconds one epoch of `spec` over `n` training samples takes here, measured on a few batches. */
async function epochSeconds(spec: ModelSpec, data: AutomlData, n: number): Promise<number> {
  const sample = Math.min(n, 256);
  const shape = data.kind === 'image' ? data.inputShape : [data.train.numFeatures];
  const model = await buildTfjsModel(
    data.kind === 'image'
      ? spec
      : { ...spec, inputs: [{ ...spec.inputs[0], shape: [data.train.numFeatures] }] },
    { seed: 0 },
  );
  try {
    const part = { ...trainingData(data.train, shape) };
    part.x = part.x.subarray(0, sample * data.train.numFeatures);
    part.labels = part.labels.subarray(0, sample);
    const started = performance.now();
    await trainModel(model, part, { epochs: 1, batchSize: 32, seed: 0 });
    return ((performance.now() - started) / 1000) * (n / sample);
  } finally {
    model.dispose();
  }
}

function frontRow(t: FrozenTrial): AutomlFrontRow {
  const number = (key: string) =>
    typeof t.userAttrs[key] === 'number' ? (t.userAttrs[key] as number) : null;
  return {
    trial: t.number,
    validationAccuracy: t.values?.[0] ?? Number.NaN,
    testAccuracy: number(AUTOML_ATTRS.testAccuracy),
    params: t.values?.[1] ?? Number.NaN,
    macs: number(AUTOML_ATTRS.macs),
    features: number(AUTOML_ATTRS.features),
    trainSamples: number(AUTOML_ATTRS.trainSamples),
    epochs: number(AUTOML_ATTRS.epochs),
    validationLoss: number(AUTOML_ATTRS.validationLoss),
    model: path.join(AUTOML_FILES.trials, String(t.userAttrs[AUTOML_ATTRS.model] ?? `trial-${t.number}`)),
    params_: { ...(t.params as Record<string, string | number | boolean | null>) },
  };
}

export async function runAutoml(options: AutomlOptions): Promise<AutomlResult> {
  const started = options.startedAt ?? Date.now();
  const budgetSeconds = options.budgetSeconds ?? 600;
  if (!(budgetSeconds > 0) || !Number.isFinite(budgetSeconds))
    throw new InvalidArgumentError(`budget must be a positive number of seconds, got ${budgetSeconds}`);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0)
    throw new InvalidArgumentError(`seed must be a non-negative integer, got ${seed}`);
  const threads = options.threads ?? Math.max(1, availableParallelism());
  positiveInteger('threads', threads);
  positiveInteger('max-params', options.maxParams);
  positiveInteger('max-macs', options.maxMacs);
  positiveInteger('max-epochs', options.maxEpochs);
  positiveInteger('search-samples', options.searchSamples);
  if (options.finalShare !== undefined && !(options.finalShare >= 0 && options.finalShare < 1))
    throw new InvalidArgumentError(`final-share must be in [0, 1), got ${options.finalShare}`);
  if (
    options.folds !== undefined &&
    !(Number.isInteger(options.folds) && options.folds >= 0 && options.folds !== 1)
  )
    throw new InvalidArgumentError(
      `folds must be 0 (one validation split) or an integer of at least 2, got ${options.folds}`,
    );
  if (options.sampler !== undefined && options.sampler !== 'tpe' && options.sampler !== 'random')
    throw new InvalidArgumentError(`sampler must be tpe or random, got "${options.sampler}"`);
  const source = parseSource(options.data, options.target, options.imageShape);

  await initBackend();
  const data = await loadAutomlData(source, seed);
  const out = path.resolve(options.out ?? path.join('parsimony-results', `automl-${data.name}`));
  const state = await outputState(out);
  const classes = data.classNames.length;
  const folds = tableFolds(data, options.folds);
  if (folds >= 2 && (options.finalShare ?? 0) > 0)
    throw new InvalidArgumentError(
      'final-share: cross-validated tables are already refitted on train + validation; give --folds 0 to train a final model instead',
    );
  if (folds >= 2 && options.searchSamples !== undefined)
    throw new InvalidArgumentError(
      'search-samples: cross-validation uses every train + validation row; give --folds 0 to search on a subset',
    );

  // A budget that excludes every configuration fails here, from the smallest network's spec.
  for (const [measure, limit, flag] of [
    ['params', options.maxParams, '--max-params'],
    ['macs', options.maxMacs, '--max-macs'],
  ] as const) {
    if (limit === undefined) continue;
    const smallest =
      data.kind === 'table'
        ? smallestTableNetwork(classes)
        : smallestImageNetwork(data.inputShape, classes, measure);
    const cost = analyzeModel(smallest)[measure];
    if (cost > limit)
      throw new InvalidArgumentError(
        `${flag} ${limit} excludes every configuration: the smallest network of the ${data.kind} space on ${data.name} has ${cost} ${measure === 'params' ? 'parameters' : 'MACs'}`,
      );
  }
  // A time budget that cannot train one model fails here, before anything is written.
  const finalShare = options.finalShare ?? (data.kind === 'image' ? 0.4 : 0);
  const end = started + budgetSeconds * 1000;
  const wrapUp = wrapUpSeconds(budgetSeconds);
  const finalSeconds = finalShare > 0 ? budgetSeconds * finalShare - wrapUp : 0;
  // The search's hard stop: running trials are stopped there (the final training, or the wrap-up, follows).
  const deadline = finalShare > 0 ? end - (finalSeconds + wrapUp) * 1000 : end - wrapUp * 1000;
  const searchSamples = Math.min(
    data.train.numSamples,
    options.searchSamples ?? defaultSearchSamples(data.kind, data.train.numSamples),
  );
  let oneEpoch: number;
  // Seconds before the search's end after which no trial starts: not even the cheapest network
  // could train one epoch, validate, test and save in them (see the objective's reserve).
  let lastStartSeconds = 0;
  let stepTiming: StepTiming | null = null;
  let maxMacs = options.maxMacs;
  let maxMacsRule: string | null = null;
  if (data.kind === 'table')
    oneEpoch = await epochSeconds(smallestTableNetwork(classes), data, searchSamples);
  else {
    // Training time per sample as a line in MACs, through the cheapest network and a portfolio CNN.
    const smallest = smallestImageNetwork(data.inputShape, classes, 'macs');
    const reference = portfolioNetwork(data.inputShape, classes);
    const networks = [smallest, reference].map((spec) => ({ spec, macs: analyzeModel(spec).macs }));
    stepTiming = await measureStepTiming(networks, trainingData(data.train, data.inputShape));
    oneEpoch = trainingSeconds(stepTiming, networks[0].macs, searchSamples);
    lastStartSeconds =
      oneEpoch +
      1.5 *
        predictionSeconds(stepTiming, networks[0].macs, data.validation.numSamples + data.test.numSamples) +
      0.5;
    if (maxMacs === undefined) {
      const cap = defaultMaxMacs(stepTiming, {
        searchSeconds: Math.max(0, (deadline - Date.now()) / 1000),
        finalSeconds,
        threads,
        searchSamples,
        trainSamples: data.train.numSamples,
        smallestMacs: networks[0].macs,
      });
      maxMacs = cap.maxMacs;
      maxMacsRule = cap.rule;
    }
  }
  const spent = (Date.now() - started) / 1000;
  if (spent + oneEpoch > budgetSeconds)
    throw new InvalidArgumentError(
      `budget ${budgetSeconds} s cannot train one model: loading took ${spent.toFixed(1)} s and one epoch of the smallest network takes about ${oneEpoch.toFixed(1)} s here`,
    );
  const plan: AutomlPlan = {
    budgetSeconds,
    searchSeconds: Math.round((deadline - started) / 100) / 10,
    finalSeconds: Math.round(finalSeconds * 10) / 10,
    wrapUpSeconds: Math.round(wrapUp * 10) / 10,
    maxParams: options.maxParams ?? null,
    maxMacs: maxMacs ?? null,
    maxMacsSource: options.maxMacs !== undefined ? 'option' : maxMacs !== undefined ? 'budget' : 'none',
    maxMacsRule,
    stepTiming: stepTiming && {
      baseSeconds: stepTiming.baseSeconds,
      secondsPerMac: stepTiming.secondsPerMac,
    },
    searchSamples,
    threads,
  };

  await mkdir(path.join(out, AUTOML_FILES.trials), { recursive: true });
  const identity = runIdentity(source, seed, folds);
  let study: Awaited<ReturnType<typeof createStudy>>;
  try {
    study = await createStudy({
      studyName: STUDY_NAME,
      directions: ['maximize', 'minimize'],
      sampler:
        options.sampler === 'random'
          ? new RandomSampler({ seed })
          : new TPESampler({
              seed,
              nStartupTrials: 10,
              constantLiar: true,
              multivariate: true,
              group: true,
              warnIndependentSampling: false,
            }),
      // Steps are epochs, or folds under cross-validation (one rung, after 2 folds).
      pruner: new ParetoSuccessiveHalvingPruner({
        minResource: folds >= 2 ? 2 : data.kind === 'table' ? 5 : 1,
        reductionFactor: 3,
      }),
      storage: `sqlite:${path.join(out, AUTOML_FILES.study)}`,
      loadIfExists: true,
    });
    if (state === 'resume') {
      const stored = await study.getUserAttrs();
      for (const [key, value] of Object.entries(identity))
        if (stored[key] !== undefined && stored[key] !== value)
          throw new InvalidArgumentError(
            `--out ${out}: holds a run with ${key.slice('automl:'.length)} ${JSON.stringify(stored[key])}, not ${JSON.stringify(value)}; choose another --out to start a new run`,
          );
    } else {
      for (const [key, value] of Object.entries(identity)) await study.setUserAttr(key, value);
      // Cheap, usually good tables models first, so a loaded machine or a short budget still ends
      // with a model (low-cost starting points, as FLAML starts its search).
      if (data.kind === 'table')
        for (const params of tableStartingPoints(data.train.numFeatures)) await study.enqueueTrial(params);
    }
    if (data.kind === 'image' && options.sampler !== 'random' && options.portfolio !== false)
      for (const params of imagePortfolio(data.inputShape, classes, {
        ...(options.maxParams !== undefined ? { maxParams: options.maxParams } : {}),
        ...(maxMacs !== undefined ? { maxMacs } : {}),
      }))
        await study.enqueueTrial(params, { skipIfExists: true });
  } catch (error) {
    if (state === 'new') await rm(out, { recursive: true, force: true });
    throw error;
  }

  const before = study.trials.length;
  const context: AutomlContext = {
    source: source.kind === 'csv' ? { ...source, path: path.resolve(source.path) } : source,
    seed,
    trialsDir: path.join(out, AUTOML_FILES.trials),
    ...(options.maxParams !== undefined ? { maxParams: options.maxParams } : {}),
    ...(maxMacs !== undefined ? { maxMacs } : {}),
    ...(stepTiming ? { stepTiming } : {}),
    maxEpochs: options.maxEpochs ?? (data.kind === 'table' ? 60 : 20),
    searchSamples,
    patience: data.kind === 'table' ? 8 : 3,
    folds,
    deadline,
    // Trials may train on to the wrap-up while no trial has completed; the search's deadline after.
    stop: {
      origin: started,
      at: new Int32Array(new SharedArrayBuffer(4)).fill(end - wrapUp * 1000 - started),
    },
  };
  options.onStart?.(plan);
  const here = import.meta.url;
  const objectiveUrl = new URL(here.endsWith('.ts') ? './objective.ts' : './objective.js', here);
  // On an abort, or at the search's deadline (the hard stop), the pool is closed under the running
  // trials: they end as FAIL "interrupted". Trials plan to end before it (see the objective).
  const searchStop = new AbortController();
  const onAbort = () => searchStop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  // With no complete trial at the deadline there is nothing to retrain: the running trials may go
  // on into the final training's time, up to the wrap-up.
  const lastStop = end - wrapUp * 1000;
  let hardStop = setTimeout(
    function stopSearch() {
      if (Date.now() < lastStop && !study.trials.some((t) => t.state === 'COMPLETE'))
        hardStop = setTimeout(stopSearch, Math.min(1000, lastStop - Date.now()));
      else searchStop.abort('deadline');
    },
    Math.max(0, deadline - Date.now()),
  );
  const { objective, dispose } = interruptibleThreadObjective(
    objectiveUrl,
    { threads, context },
    { study, signal: searchStop.signal },
  );
  let finished = 0;
  try {
    if (!options.signal?.aborted)
      await study.optimize(objective, {
        // No trial starts in the last `lastStartSeconds` (but never in more than half of the
        // search's time, which a short budget on a loaded machine would ask).
        timeoutMs: Math.max(
          0,
          deadline - Date.now() - Math.min(lastStartSeconds * 1000, (deadline - Date.now()) / 2),
        ),
        concurrency: threads,
        reproducible: false,
        catch: [TrialInterrupted],
        callbacks: [
          (s, trial) => {
            if (trial.state === 'COMPLETE' && context.stop)
              Atomics.store(context.stop.at, 0, deadline - started);
            finished++;
            options.onProgress?.({
              finished,
              elapsedSeconds: (Date.now() - started) / 1000,
              budgetSeconds,
              trial: { number: trial.number, state: trial.state },
              front: s.bestTrials.map(frontRow),
            });
          },
        ],
      });
  } finally {
    clearTimeout(hardStop);
    options.signal?.removeEventListener('abort', onAbort);
    await dispose();
  }

  const all = study.trials;
  const counts: Record<TrialState, number> = { COMPLETE: 0, PRUNED: 0, FAIL: 0, RUNNING: 0, WAITING: 0 };
  for (const t of all) counts[t.state]++;
  const front = study.bestTrials.map(frontRow).sort((a, b) => a.params - b.params || a.trial - b.trial);
  await study.storage.close();
  if (front.length === 0) {
    // Nothing to show for a new run: leave nothing behind.
    if (state === 'new') await rm(out, { recursive: true, force: true });
    const failed = all.filter((t) => t.state === 'FAIL');
    const reason =
      failed.length > 0 ? String(failed[failed.length - 1].systemAttrs[FAIL_REASON_KEY] ?? '') : '';
    throw new NoCompletedTrialError(
      `no trial completed within the budget of ${budgetSeconds} s (${counts.PRUNED} pruned, ${counts.FAIL} failed${reason ? `; the last: ${reason}` : ''})`,
    );
  }
  const searchBest = [...front].sort(
    (a, b) =>
      b.validationAccuracy - a.validationAccuracy ||
      (a.validationLoss ?? Number.POSITIVE_INFINITY) - (b.validationLoss ?? Number.POSITIVE_INFINITY) ||
      a.params - b.params ||
      a.trial - b.trial,
  )[0];
  const searchSeconds = Math.round((Date.now() - started) / 100) / 10;
  let best = searchBest;
  let final: AutomlFinal | null = null;
  if (finalShare > 0 && !options.signal?.aborted) {
    final = await trainFinalModel({
      out,
      trial: searchBest.trial,
      trialModel: searchBest.model,
      learningRate: Number(searchBest.params_.lr),
      batchSize: Number(searchBest.params_.batchSize),
      data,
      seed,
      threads,
      // The wrap-up's seconds for keeping the front's models and writing the report.
      deadline: end - wrapUp * 1000,
      ...(options.signal ? { signal: options.signal } : {}),
      dir: FINAL_DIR,
    });
    if (final && final.validationAccuracy >= searchBest.validationAccuracy)
      best = {
        ...searchBest,
        validationAccuracy: final.validationAccuracy,
        testAccuracy: final.testAccuracy,
        epochs: final.epochs,
        validationLoss: final.validationLoss,
        trainSamples: final.trainSamples,
        model: final.model,
      };
  }
  // A final model from an earlier run of this directory that lost (or none now) must not linger.
  if (!final) await rm(path.join(out, FINAL_DIR), { recursive: true, force: true });
  const outcome = folds >= 2 ? await keepEnsemble(out, all, data) : null;
  const ensemble = outcome?.kept ?? null;
  await keepFrontModels(out, front, best);
  const chosen: AutomlChoice = {
    model: ensemble ? 'ensemble' : 'best',
    bestOutOfFoldAccuracy: outcome?.singleOutOfFoldAccuracy ?? null,
    ensembleOutOfFoldAccuracy: outcome?.outOfFoldAccuracy ?? null,
    bestTestAccuracy: best.testAccuracy,
    ensembleTestAccuracy: outcome?.testAccuracy ?? null,
    testAccuracy: ensemble ? ensemble.testAccuracy : best.testAccuracy,
  };
  const result: AutomlResult = {
    out,
    data: data.name,
    kind: data.kind,
    seed,
    budgetSeconds,
    elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
    threads,
    counts,
    selection: folds >= 2 ? { method: 'cross-validation', folds } : { method: 'holdout' },
    plan,
    newTrials: all.length - before,
    resumed: state === 'resume',
    front,
    best,
    searchSamples,
    searchSeconds,
    final,
    ensemble,
    chosen,
    interrupted: options.signal?.aborted ? String(options.signal.reason ?? 'interrupted') : null,
  };
  await writeFile(path.join(out, AUTOML_FILES.report), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** Candidates of the ensemble: the most accurate complete trials whose model directory is still there. */
const ENSEMBLE_CANDIDATES = 20;

/** The ensemble selection's figures, and the ensemble when `chooseAutomlModel` kept it. */
interface EnsembleOutcome {
  outOfFoldAccuracy: number;
  singleOutOfFoldAccuracy: number;
  /** Null when the selection has a single member (then it is the best trial itself). */
  testAccuracy: number | null;
  kept: AutomlEnsemble | null;
}

/**
 * Chooses an ensemble from the complete trials' out-of-fold probabilities and keeps it in
 * `ensemble/` when it beats the best single candidate out of fold (else removes it and an older
 * one). Its test accuracy is measured either way, for the report only.
 */
async function keepEnsemble(
  out: string,
  trials: readonly FrozenTrial[],
  data: AutomlData,
): Promise<EnsembleOutcome | null> {
  const labels = developmentRows(data).labels;
  const classes = data.classNames.length;
  const trialDir = (t: number) => path.join(out, AUTOML_FILES.trials, `trial-${t}`);
  const candidates = trials
    .filter((t) => {
      const oof = t.userAttrs[AUTOML_ATTRS.outOfFold];
      return (
        t.state === 'COMPLETE' &&
        Array.isArray(oof) &&
        oof.length === labels.length * classes &&
        existsSync(trialDir(t.number))
      );
    })
    .sort((a, b) => (b.values?.[0] ?? 0) - (a.values?.[0] ?? 0) || a.number - b.number)
    .slice(0, ENSEMBLE_CANDIDATES)
    .map((t) => ({ trial: t.number, outOfFold: t.userAttrs[AUTOML_ATTRS.outOfFold] as number[] }));
  const dir = path.join(out, AUTOML_FILES.ensemble);
  if (candidates.length < 2) {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  const selection = selectEnsemble(candidates, labels, classes);
  const single = Math.max(...candidates.map((c) => selectEnsemble([c], labels, classes, 1).accuracy));
  if (selection.members.length < 2) {
    await rm(dir, { recursive: true, force: true });
    return {
      outOfFoldAccuracy: selection.accuracy,
      singleOutOfFoldAccuracy: single,
      testAccuracy: null,
      kept: null,
    };
  }
  await saveEnsemble(
    dir,
    selection.members.map((m) => ({
      modelDir: trialDir(m.trial),
      name: `trial-${m.trial}`,
      weight: m.weight,
    })),
    data.classNames,
  );
  // As stored: the members loaded back from `ensemble/`.
  const testAccuracy = await savedModelAccuracy(dir, data.test);
  const choice = chooseAutomlModel(
    { outOfFoldAccuracy: single },
    { outOfFoldAccuracy: selection.accuracy, members: selection.members.length },
  );
  if (choice !== 'ensemble') await rm(dir, { recursive: true, force: true });
  return {
    outOfFoldAccuracy: selection.accuracy,
    singleOutOfFoldAccuracy: single,
    testAccuracy,
    kept:
      choice === 'ensemble'
        ? {
            members: selection.members,
            outOfFoldAccuracy: selection.accuracy,
            singleOutOfFoldAccuracy: single,
            model: AUTOML_FILES.ensemble,
            testAccuracy,
          }
        : null,
  };
}

/** Removes the model directories of trials off the front (they never return to it) and copies the best. */
async function keepFrontModels(out: string, front: AutomlFrontRow[], best: AutomlFrontRow): Promise<void> {
  await keepTrialModels(
    path.join(out, AUTOML_FILES.trials),
    front.map((r) => r.trial),
  );
  const temporary = path.join(out, `.best.tmp-${process.pid}`);
  await rm(temporary, { recursive: true, force: true });
  await cp(path.join(out, best.model), temporary, { recursive: true });
  await rm(path.join(out, AUTOML_FILES.best), { recursive: true, force: true });
  await rename(temporary, path.join(out, AUTOML_FILES.best));
}

/** The report of an earlier run in `out`. */
export async function readAutomlReport(out: string): Promise<AutomlResult> {
  return JSON.parse(await readFile(path.join(out, AUTOML_FILES.report), 'utf8'));
}
