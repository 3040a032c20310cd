/**
 * The size search: a multi-objective study (maximise validation accuracy, minimise parameters)
 * over MLP depth, widths, activation, learning rate, L2, dropout and batch size. Trials train in
 * worker threads, one per core, are stored in a SQLite file and are pruned by Pareto successive
 * halving. This is `parsimony search` and the README's main job.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, TrialState } from '../core/frozen-trial.js';
import type { Sampler } from '../core/sampler.js';
import { FAIL_REASON_KEY } from '../core/study-view.js';
import { analyzeModel } from '../models/complexity/analyze.js';
import { ParetoSuccessiveHalvingPruner } from '../pruners/pareto-successive-halving.js';
import { interruptibleThreadObjective, TrialInterrupted } from '../run/thread-objective.js';
import { createStudy } from '../study/create.js';
import { LARGE_DATASET, SIZE_SEARCH_SAMPLERS, SIZE_SEARCH_SPLIT, SIZE_SEARCH_TRIALS } from './defaults.js';
import { MLP_ATTRS, type MlpSearchContext } from './mlp-objective.js';
import { mlpSpec, smallestMlp } from './mlp-space.js';
import { keepTrialModels } from './model-output.js';

export type SizeSearchSampler = (typeof SIZE_SEARCH_SAMPLERS)[number];

export interface SizeSearchOptions {
  /** A dataset name as `parsimony datasets` lists it (default 'digits'). */
  dataset?: string;
  /** Seeds the sampler, the data split and every trial's initialisation and shuffling (default 0). */
  seed?: number;
  /** Trials to run (default 300; 60 on a dataset over 20,000 training samples). */
  trials?: number;
  /** Stop starting trials after this many seconds (a safety net; results then depend on speed). */
  timeoutSeconds?: number;
  sampler?: SizeSearchSampler;
  /** Worker threads, one trial each (default: one per core). */
  threads?: number;
  maxEpochs?: number;
  patience?: number;
  maxLayers?: number;
  maxUnits?: number;
  /** Reject configurations above this many parameters before training them. */
  maxParams?: number;
  /** SQLite file of the study (default `parsimony-results/search.db`). */
  studyFile?: string;
  studyName?: string;
  /**
   * Where the Pareto front's models are saved (`trial-<n>/`: spec, weights, pipeline.json);
   * default `<study file's directory>/<study name>-models`; false saves none.
   */
  modelsDir?: string | false;
  /**
   * Teacher-guided size search: a saved model directory whose input is the search's standardised,
   * flattened features; each trial trains with alpha * CE + (1 - alpha) * T^2 * KL to it.
   */
  teacher?: { dir: string; temperature?: number; alpha?: number; searchSettings?: boolean };
  /** Called after each finished trial with the Pareto front so far. */
  onTrial?: (event: SizeSearchProgress) => void;
  /**
   * Aborting stops the search: no new trial starts, the running ones are stopped (their threads
   * terminated) and stored as FAIL with reason "interrupted", and the result holds the front so far.
   */
  signal?: AbortSignal;
}

export interface SizeSearchRow {
  trial: number;
  validationAccuracy: number;
  testAccuracy: number | null;
  params: number;
  connections: number;
  macs: number;
  hiddenUnits: number[];
  activation: string;
  learningRate: number;
  l2: number;
  dropout: number;
  batchSize: number;
  epochs: number | null;
}

export interface SizeSearchProgress {
  finished: number;
  total: number;
  trial: { number: number; state: string };
  front: SizeSearchRow[];
}

export interface SizeSearchResult {
  studyName: string;
  studyFile: string;
  storage: string;
  /** The directory of the front's saved models (null when none are saved). */
  modelsDir: string | null;
  dataset: string;
  seed: number;
  sampler: SizeSearchSampler;
  threads: number;
  /** Trials of the study by state. */
  counts: Record<TrialState, number>;
  /** PRUNED trials rejected by `maxParams` before any training. */
  overBudget: number;
  /** Why the last failed trial failed (null when none failed). */
  lastFailure: string | null;
  /** The abort reason (e.g. "SIGINT") when the search was interrupted. */
  interrupted: string | null;
  elapsedSeconds: number;
  /** The Pareto front, fewest parameters first. */
  front: SizeSearchRow[];
}

const DEFAULTS = {
  dataset: 'digits',
  seed: 0,
  sampler: 'tpe' as SizeSearchSampler,
  maxEpochs: 30,
  patience: 4,
  maxLayers: 3,
  maxUnits: 512,
  studyFile: path.join('parsimony-results', 'search.db'),
};

const LARGE_DATASET_EPOCHS = 5;

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
}

export function frontRow(t: FrozenTrial): SizeSearchRow {
  const p = t.params as Record<string, number | string>;
  const layers = Number(p.layers);
  const attr = (key: string) => (typeof t.userAttrs[key] === 'number' ? (t.userAttrs[key] as number) : null);
  return {
    trial: t.number,
    validationAccuracy: t.values?.[0] ?? Number.NaN,
    testAccuracy: attr(MLP_ATTRS.testAccuracy),
    params: t.values?.[1] ?? Number.NaN,
    connections: attr(MLP_ATTRS.connections) ?? Number.NaN,
    macs: attr(MLP_ATTRS.macs) ?? Number.NaN,
    hiddenUnits: Array.from({ length: layers }, (_, i) => Number(p[`units_${i + 1}`])),
    activation: String(p.activation),
    learningRate: Number(p.lr),
    l2: Number(p.l2),
    dropout: Number(p.dropout),
    batchSize: Number(p.batchSize),
    epochs: attr(MLP_ATTRS.epochs),
  };
}

function sortedFront(trials: readonly FrozenTrial[]): SizeSearchRow[] {
  return trials.map(frontRow).sort((a, b) => a.params - b.params || a.trial - b.trial);
}

async function buildSampler(name: SizeSearchSampler, seed: number): Promise<Sampler> {
  if (name === 'tpe') {
    const { TPESampler } = await import('../samplers/tpe/tpe-sampler.js');
    // group: the widths exist only for the layers a trial has, so they are modelled per depth. A
    // width first seen at a new depth is sampled independently until that depth has history: expected
    // here, so not worth a warning in the middle of the progress output.
    return new TPESampler({
      seed,
      nStartupTrials: 10,
      constantLiar: true,
      multivariate: true,
      group: true,
      warnIndependentSampling: false,
    });
  }
  if (name === 'nsga2') {
    const { NSGAIISampler } = await import('../samplers/nsga2/nsga2-sampler.js');
    return new NSGAIISampler({ seed, populationSize: 10 });
  }
  if ((SIZE_SEARCH_SAMPLERS as readonly string[]).includes(name)) {
    const { createSampler } = await import('../run/registry.js');
    return createSampler({ name, options: { seed } });
  }
  throw new InvalidArgumentError(`sampler must be one of ${SIZE_SEARCH_SAMPLERS.join(', ')}; got "${name}"`);
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export async function runSizeSearch(options: SizeSearchOptions = {}): Promise<SizeSearchResult> {
  const dataset = options.dataset ?? DEFAULTS.dataset;
  const seed = options.seed ?? DEFAULTS.seed;
  const samplerName = options.sampler ?? DEFAULTS.sampler;
  if (!(SIZE_SEARCH_SAMPLERS as readonly string[]).includes(samplerName))
    throw new InvalidArgumentError(
      `sampler must be one of ${SIZE_SEARCH_SAMPLERS.join(', ')}; got "${samplerName}"`,
    );
  const threads = options.threads ?? Math.max(1, availableParallelism());
  positiveInteger('trials', options.trials);
  positiveInteger('threads', threads);
  positiveInteger('maxEpochs', options.maxEpochs);
  positiveInteger('maxLayers', options.maxLayers);
  positiveInteger('maxUnits', options.maxUnits);
  positiveInteger('maxParams', options.maxParams);
  if (!Number.isInteger(seed) || seed < 0)
    throw new InvalidArgumentError(`seed must be a non-negative integer, got ${seed}`);
  if (options.timeoutSeconds !== undefined && !(options.timeoutSeconds > 0))
    throw new InvalidArgumentError(
      `timeout must be a positive number of seconds, got ${options.timeoutSeconds}`,
    );
  const maxUnits = options.maxUnits ?? DEFAULTS.maxUnits;
  if (maxUnits < 8) throw new InvalidArgumentError(`maxUnits must be at least 8, got ${maxUnits}`);
  if (options.teacher) {
    const { checkDistillationSettings } = await import('../compress/distill/loss.js');
    checkDistillationSettings(
      { temperature: options.teacher.temperature ?? 4, alpha: options.teacher.alpha ?? 0.5 },
      'teacher',
    );
    const { loadModelWeights } = await import('../compress/model-weights.js');
    await loadModelWeights(options.teacher.dir); // a missing or spec-less directory fails here, once
  }
  // Fail on an unknown dataset here, in one line, rather than in every thread.
  const { loadDatasetSplits } = await import('../data/registry.js');
  // What would make every trial fail or be rejected is said here, once, before any training.
  const splits = await loadDatasetSplits(dataset, { seed, ...SIZE_SEARCH_SPLIT });
  const poolSize = splits.train.numSamples + splits.validation.numSamples + splits.indices.test.length;
  // A large dataset gets fewer epochs by default: each epoch already sees many samples.
  const large = poolSize > LARGE_DATASET;
  const defaultEpochs = large ? LARGE_DATASET_EPOCHS : DEFAULTS.maxEpochs;
  const trials = options.trials ?? (large ? SIZE_SEARCH_TRIALS.large : SIZE_SEARCH_TRIALS.small);
  for (const [part, data] of Object.entries(splits).filter(([name]) => name !== 'indices'))
    if ((data as { numSamples: number }).numSamples === 0)
      throw new InvalidArgumentError(
        `dataset ${dataset} has ${poolSize} training samples: too few for the search's split (${100 * SIZE_SEARCH_SPLIT.validation}% validation, ${100 * SIZE_SEARCH_SPLIT.test}% test), whose ${part} part would be empty`,
      );
  const minUnits = 8;
  const smallest = analyzeModel(
    mlpSpec(smallestMlp({ minUnits }), splits.train.numFeatures, splits.train.classNames.length),
  ).params;
  if (options.maxParams !== undefined && options.maxParams < smallest)
    throw new InvalidArgumentError(
      `max-params ${options.maxParams} is below the smallest network of the search space on ${dataset} (one hidden layer of ${minUnits} units: ${smallest} parameters); every trial would be rejected`,
    );

  const studyFile = path.resolve(options.studyFile ?? DEFAULTS.studyFile);
  mkdirSync(path.dirname(studyFile), { recursive: true });
  const storage = `sqlite:${studyFile}`;
  const studyName = options.studyName ?? `search-${dataset}-seed${seed}-${timestamp(new Date())}`;
  const study = await createStudy({
    studyName,
    directions: ['maximize', 'minimize'],
    sampler: await buildSampler(samplerName, seed),
    pruner: new ParetoSuccessiveHalvingPruner({ minResource: 3, reductionFactor: 3 }),
    storage,
  });
  // Teacher-guided networks train on logits and are not saved.
  const modelsDir =
    options.modelsDir === false || options.teacher
      ? null
      : path.resolve(
          options.modelsDir ??
            path.join(path.dirname(studyFile), `${studyName.replace(/[^\w.-]+/g, '-')}-models`),
        );
  const context: MlpSearchContext = {
    dataset,
    seed,
    maxEpochs: options.maxEpochs ?? defaultEpochs,
    patience: options.patience ?? DEFAULTS.patience,
    maxLayers: options.maxLayers ?? DEFAULTS.maxLayers,
    maxUnits,
    maxParams: options.maxParams,
    ...(modelsDir ? { modelsDir } : {}),
    ...(options.teacher
      ? {
          teacher: {
            dir: path.resolve(options.teacher.dir),
            temperature: options.teacher.temperature ?? 4,
            alpha: options.teacher.alpha ?? 0.5,
            ...(options.teacher.searchSettings ? { searchSettings: true } : {}),
          },
        }
      : {}),
  };
  // Under tsx the sources are .ts files; compiled, they are .js next to this one.
  const here = import.meta.url;
  const objectiveUrl = new URL(here.endsWith('.ts') ? './mlp-objective.ts' : './mlp-objective.js', here);
  // On an abort the pool is closed under the running trials: they end as FAIL "interrupted".
  const { objective, dispose } = interruptibleThreadObjective(
    objectiveUrl,
    { threads, context },
    { study, signal: options.signal },
  );
  const started = performance.now();
  let finished = 0;
  try {
    // optimize() clears an earlier stop(), so an abort that came first skips it.
    if (!options.signal?.aborted)
      await study.optimize(objective, {
        nTrials: trials,
        concurrency: threads,
        // Interrupted trials are recorded as FAIL and the search ends with the front so far.
        catch: [TrialInterrupted],
        timeoutMs: options.timeoutSeconds === undefined ? undefined : options.timeoutSeconds * 1000,
        callbacks: [
          (s, trial) => {
            finished++;
            options.onTrial?.({
              finished,
              total: trials,
              trial: { number: trial.number, state: trial.state },
              front: sortedFront(s.bestTrials),
            });
          },
        ],
      });
  } finally {
    await dispose();
  }
  const all = study.trials;
  const counts: Record<TrialState, number> = { COMPLETE: 0, PRUNED: 0, FAIL: 0, RUNNING: 0, WAITING: 0 };
  for (const t of all) counts[t.state]++;
  const failed = all.filter((t) => t.state === 'FAIL');
  const lastReason = failed.length > 0 ? failed[failed.length - 1].systemAttrs[FAIL_REASON_KEY] : undefined;
  const front = sortedFront(study.bestTrials);
  if (modelsDir)
    await keepTrialModels(
      modelsDir,
      front.map((r) => r.trial),
    );
  const result: SizeSearchResult = {
    studyName,
    studyFile,
    storage,
    modelsDir: modelsDir && front.length > 0 ? modelsDir : null,
    dataset,
    seed,
    sampler: samplerName,
    threads,
    counts,
    overBudget: all.filter((t) => t.state === 'PRUNED' && t.userAttrs[MLP_ATTRS.overBudget] === true).length,
    lastFailure: typeof lastReason === 'string' ? lastReason : null,
    interrupted: options.signal?.aborted ? String(options.signal.reason ?? 'interrupted') : null,
    elapsedSeconds: Math.round((performance.now() - started) / 100) / 10,
    front,
  };
  await study.storage.close();
  return result;
}
