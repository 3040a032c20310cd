/**
 * A study that chooses the compression: each trial samples a sparsity per prunable layer, prunes
 * the trained model layer by layer by magnitude, fine-tunes it, and scores it on two objectives —
 * validation accuracy (maximise) and non-zero parameters or effective MACs (minimise). Each
 * fine-tuning epoch is reported as a step, so Pareto successive halving stops weak settings
 * early. The output is the Pareto front of compressed models, like the size search's.
 */
import type { FrozenTrial } from '../core/frozen-trial.js';
import { createStudy } from '../core/study.js';
import type { Trial } from '../core/trial.js';
import { ParetoSuccessiveHalvingPruner } from '../pruners/pareto-successive-halving.js';
import type { Sampler } from '../samplers/sampler.js';
import { fineTuneWeights, weightsAccuracy } from './fine-tune.js';
import { type CompressionData, costOf, DEFAULT_FINE_TUNE, type FineTuneSettings } from './method.js';
import { prunableLayers } from './methods/magnitude.js';
import { type ModelWeights, specWithMeasuredSparsity, type WeightMasks } from './model-weights.js';
import { runPipeline } from './pipeline.js';

export interface SparsityStudyOptions {
  base: ModelWeights;
  data: CompressionData;
  trials: number;
  seed?: number;
  /** Fine-tuning epochs per trial (each reported as a step). */
  finetuneEpochs: number;
  sampler?: 'tpe' | 'nsga2';
  /** The size objective: non-zero parameters (default) or effective MACs. */
  objective?: 'params' | 'macs';
  skip?: readonly string[];
  /** Highest sparsity a layer may get (default 0.99). */
  maxSparsity?: number;
  lastLayerMinKept?: number;
  fineTune?: Partial<FineTuneSettings>;
  /** `memory:` (default) or a storage URL to keep the study. */
  storage?: string;
  studyName?: string;
  signal?: AbortSignal;
  onTrial?: (progress: { finished: number; total: number; front: SparsityFrontRow[] }) => void;
}

export interface SparsityFrontRow {
  trial: number;
  valAccuracy: number;
  testAccuracy: number | null;
  params: number;
  nonZeroParams: number;
  effectiveMacs: number;
  /** Sparsity per layer, as sampled. */
  sparsity: Record<string, number>;
}

export interface SparsityStudyResult {
  studyName: string;
  counts: { complete: number; pruned: number; failed: number };
  front: SparsityFrontRow[];
  /** Weights and masks of the front's trials, by trial number. */
  models: Map<number, { weights: ModelWeights; masks: WeightMasks }>;
  seconds: number;
}

const PARAM = (layer: string) => `sparsity:${layer}`;

async function buildSampler(name: 'tpe' | 'nsga2', seed: number): Promise<Sampler> {
  if (name === 'nsga2') {
    const { NSGAIISampler } = await import('../samplers/nsga2/nsga2-sampler.js');
    return new NSGAIISampler({ seed, populationSize: 10 });
  }
  const { TPESampler } = await import('../samplers/tpe/tpe-sampler.js');
  return new TPESampler({ seed, nStartupTrials: 8, multivariate: true });
}

function frontRow(t: FrozenTrial): SparsityFrontRow {
  const attrs = t.userAttrs as Record<string, unknown>;
  return {
    trial: t.number,
    valAccuracy: t.values?.[0] ?? Number.NaN,
    testAccuracy: typeof attrs.testAccuracy === 'number' ? attrs.testAccuracy : null,
    params: Number(attrs.params),
    nonZeroParams: Number(attrs.nonZeroParams),
    effectiveMacs: Number(attrs.effectiveMacs),
    sparsity: Object.fromEntries(
      Object.entries(t.params)
        .filter(([k]) => k.startsWith('sparsity:'))
        .map(([k, v]) => [k.slice('sparsity:'.length), Number(v)]),
    ),
  };
}

export async function runSparsityStudy(options: SparsityStudyOptions): Promise<SparsityStudyResult> {
  const seed = options.seed ?? 0;
  const started = performance.now();
  const layers = prunableLayers(options.base.spec).filter((name) => !options.skip?.includes(name));
  const settings = { ...DEFAULT_FINE_TUNE, ...options.fineTune };
  const maxSparsity = options.maxSparsity ?? 0.99;
  const study = await createStudy({
    studyName: options.studyName,
    directions: ['maximize', 'minimize'],
    sampler: await buildSampler(options.sampler ?? 'tpe', seed),
    pruner: new ParetoSuccessiveHalvingPruner({ minResource: 1, reductionFactor: 3 }),
    storage: options.storage ?? 'memory:',
  });
  const models = new Map<number, { weights: ModelWeights; masks: WeightMasks }>();
  const size = (spec: ModelWeights['spec']) => {
    const cost = costOf(spec);
    return options.objective === 'macs' ? cost.effectiveMacs : cost.nonZeroParams;
  };
  const objective = async (trial: Trial): Promise<number[]> => {
    const sparsity: Record<string, number> = {};
    for (const name of layers) sparsity[name] = trial.suggestFloat(PARAM(name), 0, maxSparsity);
    const pruned = await runPipeline(
      options.base,
      [
        {
          method: 'magnitude',
          options: {
            layers: sparsity,
            schedule: 'oneshot',
            finetuneEpochs: 0,
            ...(options.skip?.length ? { skip: [...options.skip] } : {}),
            ...(options.lastLayerMinKept === undefined ? {} : { lastLayerMinKept: options.lastLayerMinKept }),
          },
        },
      ],
      { data: options.data, seed },
    );
    let weights = pruned.weights;
    const spec = specWithMeasuredSparsity(weights);
    const objectiveSize = size(spec);
    if (options.finetuneEpochs > 0) {
      const tuned = await fineTuneWeights(
        weights,
        pruned.masks,
        {
          epochs: options.finetuneEpochs,
          trial,
          reportValue: (accuracy) => [accuracy, objectiveSize],
        },
        settings,
        options.data,
        seed + trial.number,
        options.signal,
      );
      weights = tuned.weights;
    }
    const valAccuracy = await weightsAccuracy(weights, options.data.validation);
    const cost = costOf(spec);
    trial.setUserAttr('params', cost.params);
    trial.setUserAttr('nonZeroParams', cost.nonZeroParams);
    trial.setUserAttr('effectiveMacs', cost.effectiveMacs);
    if (options.data.test)
      trial.setUserAttr('testAccuracy', await weightsAccuracy(weights, options.data.test));
    models.set(trial.number, { weights: { ...weights, spec }, masks: pruned.masks });
    return [valAccuracy, objectiveSize];
  };
  let finished = 0;
  await study.optimize(objective, {
    nTrials: options.trials,
    callbacks: [
      (s, _trial) => {
        finished++;
        // Keep only the front's models in memory.
        const front = new Set(s.bestTrials.map((t) => t.number));
        for (const n of models.keys()) if (!front.has(n)) models.delete(n);
        options.onTrial?.({ finished, total: options.trials, front: s.bestTrials.map(frontRow) });
        if (options.signal?.aborted) s.stop();
      },
    ],
  });
  const all = study.trials;
  const count = (state: string) => all.filter((t) => t.state === state).length;
  const front = study.bestTrials.map(frontRow).sort((a, b) => a.nonZeroParams - b.nonZeroParams);
  await study.storage.close();
  return {
    studyName: study.studyName,
    counts: { complete: count('COMPLETE'), pruned: count('PRUNED'), failed: count('FAIL') },
    front,
    models,
    seconds: (performance.now() - started) / 1000,
  };
}
