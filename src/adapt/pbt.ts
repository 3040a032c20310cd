/**
 * Population-based training (Jaderberg et al. 2017): a population of members trains in rounds of
 * a few epochs; after each round the bottom fraction copies the weights and hyperparameters of a
 * random member of the top fraction (exploit) and perturbs the hyperparameters (explore: multiply
 * by 0.8 or 1.2, or resample with some probability). Every member is a trial of a study (visible
 * in `parsimony studies` and the dashboard), reporting its validation accuracy after each round.
 *
 * Members' weights (and AdamW state) are held as plain arrays between rounds; each round builds
 * the model from the spec (so dropout can change) and loads them. The starting values form a
 * Latin hypercube by default. Each member's schedule (its lineage: per round the hyperparameters,
 * the training seed, the member that trained that round and whom it copied) is recorded, and
 * `replayPbtSchedule` retrains one model along it, reproducing the member exactly.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { Study } from '../core/study.js';
import type { Trial } from '../core/trial.js';
import { sequential } from '../models/spec/builder.js';
import type { ModelSpec } from '../models/spec/types.js';
import type { OptimizerState } from '../train/optimizers.js';
import { type Pb2Observation, pb2Choose } from './pb2.js';
import {
  type PbtHyperparameters,
  type PbtRoundInput,
  type PbtRoundOutput,
  type PbtRoundSetup,
  trainPbtRound,
} from './pbt-round.js';
import { type PbtThreadPool, pbtThreadPool } from './pbt-threads.js';

export {
  augmentationFor,
  buildPbtModel,
  type PbtHyperparameters,
  withDropoutRate,
} from './pbt-round.js';

/** Bounds of what is searched; a missing entry keeps its default value fixed. */
export interface PbtSpace {
  /** Log-uniform. */
  learningRate?: { low: number; high: number };
  /** Log-uniform (low > 0). */
  weightDecay?: { low: number; high: number };
  dropout?: { low: number; high: number };
  augmentation?: { low: number; high: number };
  /** Explore moves to a neighbouring choice. */
  batchSize?: readonly number[];
}

export const PBT_DEFAULT_HYPERPARAMETERS: Readonly<PbtHyperparameters> = Object.freeze({
  learningRate: 1e-3,
  weightDecay: 0,
  dropout: 0,
  augmentation: 0,
  batchSize: 32,
});

export const PBT_DEFAULT_SPACE: Readonly<PbtSpace> = Object.freeze({
  learningRate: { low: 1e-4, high: 1e-1 },
  weightDecay: { low: 1e-6, high: 1e-2 },
  dropout: { low: 0, high: 0.5 },
  batchSize: [16, 32, 64, 128],
});

/**
 * What training needs: the data, the network (a spec whose dropout layers follow the member's
 * dropout, or `buildSpec`, in-process only; weights must keep their shapes), the space.
 */
export interface PbtSetup extends PbtRoundSetup {
  space?: PbtSpace;
}

export interface PbtOptions extends PbtSetup {
  population: number;
  rounds: number;
  /** Default 0. Seeds initial values, initialisation, training and explore per member and round. */
  seed?: number;
  /**
   * How the starting values are drawn: 'latin-hypercube' (default: every stratum of each range
   * holds one member) or 'random' (independent draws, as before).
   */
  initialDesign?: 'latin-hypercube' | 'random';
  /** Fraction of the population replaced after each round (default 0.25); also the top fraction copied from. */
  fraction?: number;
  /** Probability that explore resamples a value instead of scaling it (default 0.25; explore 'perturb'). */
  resampleProbability?: number;
  /** Factors explore multiplies a value by, one chosen at random (default [0.8, 1.2]; explore 'perturb'). */
  perturbFactors?: readonly [number, number];
  /**
   * 'perturb' (default): multiply each value by a perturb factor or resample it; 'pb2': PB2's
   * GP bandit on the rounds' accuracy changes chooses the new values (see pb2.ts).
   */
  explore?: 'perturb' | 'pb2';
  /**
   * Carry each member's optimizer state (AdamW's moments and step count) from round to round and
   * copy it on exploit (default true); false restarts the optimizer every round.
   */
  carryOptimizerState?: boolean;
  /**
   * Worker threads training members side by side (default 1: in this thread). Needs `spec`
   * (a function cannot cross threads); the result is the same for any number of threads.
   */
  threads?: number;
  /** A study to hold the members as trials (direction maximize). */
  study: Study;
  /** After training (phase 'trained') and after exploit and explore (phase 'exploited') of every round. */
  onRound?: (event: PbtRoundEvent) => void;
}

export interface PbtMemberSnapshot {
  member: number;
  hyperparameters: PbtHyperparameters;
  valAccuracy: number;
  /** A copy of the member's weights. */
  weights: Float32Array[];
  /** In phase 'exploited': the member whose weights and values it just copied. */
  copiedFrom?: number;
}

export interface PbtRoundEvent {
  round: number;
  phase: 'trained' | 'exploited';
  members: PbtMemberSnapshot[];
}

export interface PbtScheduleStep {
  round: number;
  hyperparameters: PbtHyperparameters;
  trainSeed: number;
  /** The member whose process trained this round. */
  trainedBy: number;
  /** Set when the weights entering this round were copied from another member (exploit). */
  copiedFrom?: number;
  valAccuracy: number;
}

/** One member's lineage: replaying it from `initSeed` retrains the member's final model. */
export interface PbtSchedule {
  member: number;
  initSeed: number;
  epochsPerRound: number;
  /** 'carried': the optimizer state went from round to round (absent in older schedules: 'fresh'). */
  optimizerState?: 'carried' | 'fresh';
  steps: PbtScheduleStep[];
}

export interface PbtMemberResult {
  member: number;
  trialNumber: number;
  hyperparameters: PbtHyperparameters;
  valAccuracy: number;
  schedule: PbtSchedule;
  weights: Float32Array[];
}

export interface PbtResult {
  members: PbtMemberResult[];
  /** Index of the member with the best final validation accuracy. */
  best: number;
  /** Epochs trained in all (population x rounds x epochsPerRound). */
  totalEpochs: number;
}

/** User attribute holding a member's schedule in the study. */
export const PBT_SCHEDULE_ATTR = 'pbtSchedule';

/** A small MLP for PBT: flatten (for images), hidden dense layers each followed by dropout, softmax. */
export function pbtMlpSpec(
  shape: readonly number[],
  classes: number,
  hidden: readonly number[],
  dropout: number,
): ModelSpec {
  const model = sequential([...shape], { name: `pbt-mlp-${hidden.join('-')}` });
  if (shape.length > 1) model.add('flatten');
  // The dropout layer is always there (rate 0 does nothing) so the layer list never changes.
  for (const units of hidden)
    model.add('dense', { units, activation: 'relu' }).add('dropout', { rate: dropout });
  return model.add('dense', { units: classes, activation: 'softmax' }).build();
}

function checkRange(
  name: string,
  range: { low: number; high: number } | undefined,
  min: number,
  max: number,
): void {
  if (range === undefined) return;
  if (!(Number.isFinite(range.low) && Number.isFinite(range.high) && range.low <= range.high))
    throw new InvalidArgumentError(
      `pbt: space.${name} needs finite low <= high, got ${JSON.stringify(range)}`,
    );
  if (!(range.low >= min && range.high <= max))
    throw new InvalidArgumentError(
      `pbt: space.${name} must lie in [${min}, ${max}], got ${JSON.stringify(range)}`,
    );
}

function checkSetup(setup: PbtSetup): PbtSpace {
  const space = setup.space ?? PBT_DEFAULT_SPACE;
  if ((setup.spec === undefined) === (setup.buildSpec === undefined))
    throw new InvalidArgumentError('pbt: give the network as exactly one of spec and buildSpec');
  if (!(Number.isInteger(setup.epochsPerRound) && setup.epochsPerRound > 0))
    throw new InvalidArgumentError(
      `pbt: epochsPerRound must be a positive integer, got ${setup.epochsPerRound}`,
    );
  checkRange('learningRate', space.learningRate, Number.MIN_VALUE, 10);
  checkRange('weightDecay', space.weightDecay, Number.MIN_VALUE, 1);
  checkRange('dropout', space.dropout, 0, 0.95);
  checkRange('augmentation', space.augmentation, 0, 1);
  if (space.batchSize !== undefined) {
    if (space.batchSize.length === 0 || !space.batchSize.every((b) => Number.isInteger(b) && b > 0))
      throw new InvalidArgumentError(
        `pbt: space.batchSize must be positive integers, got [${space.batchSize.join(',')}]`,
      );
  }
  if (space.augmentation && space.augmentation.high > 0 && setup.train.shape.length !== 3)
    throw new InvalidArgumentError(
      `pbt: augmentation needs images [height,width,channels], the data has shape [${setup.train.shape.join(',')}]`,
    );
  return space;
}

function logUniform(rng: Random, low: number, high: number): number {
  return Math.exp(rng.uniform(Math.log(low), Math.log(high)));
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Values drawn uniformly (log-uniformly for rates) from the space; unsearched ones keep their defaults. */
export function sampleHyperparameters(space: PbtSpace, rng: Random): PbtHyperparameters {
  const hp = { ...PBT_DEFAULT_HYPERPARAMETERS };
  if (space.learningRate) hp.learningRate = logUniform(rng, space.learningRate.low, space.learningRate.high);
  if (space.weightDecay) hp.weightDecay = logUniform(rng, space.weightDecay.low, space.weightDecay.high);
  if (space.dropout) hp.dropout = rng.uniform(space.dropout.low, space.dropout.high);
  if (space.augmentation) hp.augmentation = rng.uniform(space.augmentation.low, space.augmentation.high);
  if (space.batchSize) hp.batchSize = space.batchSize[rng.int(0, space.batchSize.length - 1)];
  return hp;
}

/**
 * A population's starting values as a Latin hypercube: each searched range is cut into
 * `population` equal strata (log scale for rates) and every stratum holds exactly one member, the
 * strata paired at random across values; batch sizes are dealt out evenly. Unlike independent
 * draws, a small population then always covers every part of each range (e.g. every third of a
 * decade of learning rates for 8 members over 3 decades), so exploit has a good region to copy.
 */
export function latinHypercubeHyperparameters(
  space: PbtSpace,
  population: number,
  rng: Random,
): PbtHyperparameters[] {
  if (!(Number.isInteger(population) && population >= 1))
    throw new InvalidArgumentError(`pbt: population must be a positive integer, got ${population}`);
  const members = Array.from({ length: population }, () => ({ ...PBT_DEFAULT_HYPERPARAMETERS }));
  // Per value: a random stratum for every member and a uniform position inside it.
  const unit = (label: string): number[] => {
    const r = rng.fork(label);
    const strata = r.permutation(population);
    return Array.from(strata, (stratum) => (stratum + r.next()) / population);
  };
  const log = (u: number, range: { low: number; high: number }) =>
    clamp(
      Math.exp(Math.log(range.low) + u * (Math.log(range.high) - Math.log(range.low))),
      range.low,
      range.high,
    );
  const lin = (u: number, range: { low: number; high: number }) =>
    clamp(range.low + u * (range.high - range.low), range.low, range.high);
  for (const key of ['learningRate', 'weightDecay'] as const) {
    const range = space[key];
    if (range) for (const [i, u] of unit(key).entries()) members[i][key] = log(u, range);
  }
  for (const key of ['dropout', 'augmentation'] as const) {
    const range = space[key];
    if (range) for (const [i, u] of unit(key).entries()) members[i][key] = lin(u, range);
  }
  if (space.batchSize) {
    const choices = [...space.batchSize].sort((a, b) => a - b);
    for (const [i, u] of unit('batchSize').entries())
      members[i].batchSize = choices[Math.min(choices.length - 1, Math.floor(u * choices.length))];
  }
  return members;
}

/**
 * Explore: each searched value is resampled with `resampleProbability`, else multiplied by 0.8 or
 * 1.2 (clipped to its bounds); the batch size moves to a neighbouring choice instead.
 */
export function exploreHyperparameters(
  hp: PbtHyperparameters,
  space: PbtSpace,
  rng: Random,
  resampleProbability: number,
  factors: readonly [number, number] = [0.8, 1.2],
): PbtHyperparameters {
  const fresh = sampleHyperparameters(space, rng.fork('resample'));
  const next = { ...hp };
  for (const key of ['learningRate', 'weightDecay', 'dropout', 'augmentation'] as const) {
    const range = space[key];
    if (!range) continue;
    if (rng.bool(resampleProbability)) next[key] = fresh[key];
    else next[key] = clamp(hp[key] * (rng.bool() ? factors[0] : factors[1]), range.low, range.high);
  }
  if (space.batchSize) {
    const choices = [...space.batchSize].sort((a, b) => a - b);
    if (rng.bool(resampleProbability)) next.batchSize = fresh.batchSize;
    else {
      const at = Math.max(0, choices.indexOf(hp.batchSize));
      next.batchSize = choices[clamp(at + (rng.bool() ? -1 : 1), 0, choices.length - 1)];
    }
  }
  return next;
}

function seedOf(rng: Random, label: string): number {
  return rng.fork(label).nextUint32() % 2_147_483_647;
}

interface Member {
  index: number;
  trial: Trial;
  hp: PbtHyperparameters;
  initSeed: number;
  weights: Float32Array[] | undefined;
  optimizerState: OptimizerState | undefined;
  valAccuracy: number;
  steps: PbtScheduleStep[];
  /** Set by exploit: who the weights entering the next round came from. */
  copiedFrom: number | undefined;
}

function snapshot(members: readonly Member[]): PbtMemberSnapshot[] {
  return members.map((m) => ({
    member: m.index,
    hyperparameters: { ...m.hp },
    valAccuracy: m.valAccuracy,
    weights: (m.weights ?? []).map((w) => w.slice()),
    ...(m.copiedFrom !== undefined ? { copiedFrom: m.copiedFrom } : {}),
  }));
}

function scheduleOf(m: Member, epochsPerRound: number, carried: boolean): PbtSchedule {
  return {
    member: m.index,
    initSeed: m.initSeed,
    epochsPerRound,
    optimizerState: carried ? 'carried' : 'fresh',
    steps: m.steps.map((s) => ({ ...s, hyperparameters: { ...s.hyperparameters } })),
  };
}

function copyState(state: OptimizerState | undefined): OptimizerState | undefined {
  return state && { ...state, slots: state.slots.map((s) => s.slice()) };
}

/** The searched values scaled to [0, 1] (rates on a log scale, the batch size by its index), for PB2. */
function toUnit(hp: PbtHyperparameters, space: PbtSpace): number[] {
  const x: number[] = [];
  const log = (v: number, r: { low: number; high: number }) =>
    r.high > r.low ? (Math.log(v) - Math.log(r.low)) / (Math.log(r.high) - Math.log(r.low)) : 0;
  const lin = (v: number, r: { low: number; high: number }) =>
    r.high > r.low ? (v - r.low) / (r.high - r.low) : 0;
  if (space.learningRate) x.push(log(hp.learningRate, space.learningRate));
  if (space.weightDecay) x.push(log(hp.weightDecay, space.weightDecay));
  if (space.dropout) x.push(lin(hp.dropout, space.dropout));
  if (space.augmentation) x.push(lin(hp.augmentation, space.augmentation));
  if (space.batchSize) {
    const choices = [...space.batchSize].sort((a, b) => a - b);
    x.push(choices.length > 1 ? Math.max(0, choices.indexOf(hp.batchSize)) / (choices.length - 1) : 0);
  }
  return x.map((v) => clamp(v, 0, 1));
}

function fromUnit(x: readonly number[], space: PbtSpace, base: PbtHyperparameters): PbtHyperparameters {
  const hp = { ...base };
  let i = 0;
  const log = (u: number, r: { low: number; high: number }) =>
    Math.exp(Math.log(r.low) + u * (Math.log(r.high) - Math.log(r.low)));
  const lin = (u: number, r: { low: number; high: number }) => r.low + u * (r.high - r.low);
  if (space.learningRate) hp.learningRate = log(x[i++], space.learningRate);
  if (space.weightDecay) hp.weightDecay = log(x[i++], space.weightDecay);
  if (space.dropout) hp.dropout = lin(x[i++], space.dropout);
  if (space.augmentation) hp.augmentation = lin(x[i++], space.augmentation);
  if (space.batchSize) {
    const choices = [...space.batchSize].sort((a, b) => a - b);
    hp.batchSize = choices[Math.round(x[i++] * (choices.length - 1))];
  }
  return hp;
}

function checkOptions(options: PbtOptions): PbtSpace {
  const space = checkSetup(options);
  const { population, rounds } = options;
  if (!(Number.isInteger(population) && population >= 2))
    throw new InvalidArgumentError(`pbt: population must be an integer >= 2, got ${population}`);
  if (!(Number.isInteger(rounds) && rounds > 0))
    throw new InvalidArgumentError(`pbt: rounds must be a positive integer, got ${rounds}`);
  const fraction = options.fraction ?? 0.25;
  if (!(fraction > 0 && fraction <= 0.5))
    throw new InvalidArgumentError(`pbt: fraction must be in (0, 0.5], got ${fraction}`);
  const resampleProbability = options.resampleProbability ?? 0.25;
  if (!(resampleProbability >= 0 && resampleProbability <= 1))
    throw new InvalidArgumentError(`pbt: resampleProbability must be in [0, 1], got ${resampleProbability}`);
  const factors = options.perturbFactors ?? [0.8, 1.2];
  if (!(factors.length === 2 && factors.every((f) => Number.isFinite(f) && f > 0)))
    throw new InvalidArgumentError(
      `pbt: perturbFactors must be two positive numbers, got [${factors.join(', ')}]`,
    );
  const explore = options.explore ?? 'perturb';
  if (explore !== 'perturb' && explore !== 'pb2')
    throw new InvalidArgumentError(`pbt: explore must be "perturb" or "pb2", got ${JSON.stringify(explore)}`);
  const design = options.initialDesign ?? 'latin-hypercube';
  if (design !== 'latin-hypercube' && design !== 'random')
    throw new InvalidArgumentError(
      `pbt: initialDesign must be "latin-hypercube" or "random", got ${JSON.stringify(design)}`,
    );
  const threads = options.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1))
    throw new InvalidArgumentError(`pbt: threads must be a positive integer, got ${threads}`);
  if (threads > 1 && options.spec === undefined)
    throw new InvalidArgumentError(
      'pbt: threads > 1 need the network as spec (a buildSpec function cannot cross threads)',
    );
  if (options.study.directions.length !== 1 || options.study.directions[0] !== 'maximize')
    throw new InvalidArgumentError(
      'pbt: the study must have one objective to maximize (validation accuracy)',
    );
  return space;
}

export async function runPbt(options: PbtOptions): Promise<PbtResult> {
  const space = checkOptions(options);
  const { population, rounds } = options;
  const fraction = options.fraction ?? 0.25;
  const resampleProbability = options.resampleProbability ?? 0.25;
  const factors = options.perturbFactors ?? [0.8, 1.2];
  const explore = options.explore ?? 'perturb';
  const carry = options.carryOptimizerState ?? true;
  const threads = Math.min(options.threads ?? 1, population);
  const root = new Random(options.seed ?? 0);
  const replaced = Math.max(1, Math.floor(population * fraction));

  const design = options.initialDesign ?? 'latin-hypercube';
  const starts =
    design === 'random'
      ? Array.from({ length: population }, (_, index) =>
          sampleHyperparameters(space, root.fork(`initial-${index}`)),
        )
      : latinHypercubeHyperparameters(space, population, root.fork('initial-design'));
  const members: Member[] = [];
  for (let index = 0; index < population; index++) {
    const hp = starts[index];
    // The trial's params are the member's starting values (enqueued, so the sampler does not
    // choose them); the values it moves to later live in its schedule.
    await options.study.enqueueTrial({ ...hp });
    const trial = await options.study.ask();
    if (space.learningRate)
      trial.suggestFloat('learningRate', space.learningRate.low, space.learningRate.high, { log: true });
    if (space.weightDecay)
      trial.suggestFloat('weightDecay', space.weightDecay.low, space.weightDecay.high, { log: true });
    if (space.dropout) trial.suggestFloat('dropout', space.dropout.low, space.dropout.high);
    if (space.augmentation)
      trial.suggestFloat('augmentation', space.augmentation.low, space.augmentation.high);
    if (space.batchSize) trial.suggestCategorical('batchSize', space.batchSize);
    trial.setUserAttr('pbtMember', index);
    trial.setUserAttr('pbtExplore', explore);
    for (const [key, value] of Object.entries(hp)) trial.setUserAttr(`pbtInitial.${key}`, value);
    members.push({
      index,
      trial,
      hp,
      initSeed: seedOf(root, `init-${index}`),
      weights: undefined,
      optimizerState: undefined,
      valAccuracy: Number.NaN,
      steps: [],
      copiedFrom: undefined,
    });
  }
  let pool: PbtThreadPool | undefined;
  if (threads > 1) {
    const tf = await import('@tensorflow/tfjs-core');
    pool = pbtThreadPool(threads, {
      backend: tf.getBackend(),
      train: options.train,
      validation: options.validation,
      spec: options.spec as ModelSpec,
      epochsPerRound: options.epochsPerRound,
    });
  }
  const trainAll = async (inputs: PbtRoundInput[]): Promise<PbtRoundOutput[]> => {
    if (pool) return pool.run(inputs);
    const outputs: PbtRoundOutput[] = [];
    for (const input of inputs) outputs.push(await trainPbtRound(options, input));
    return outputs;
  };
  const observations: Pb2Observation[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const inputs = members.map((m) => ({
        hyperparameters: { ...m.hp },
        initSeed: m.initSeed,
        trainSeed: seedOf(root, `train-${m.index}-${round}`),
        ...(m.weights ? { weights: m.weights } : {}),
        ...(carry && m.optimizerState ? { optimizerState: m.optimizerState } : {}),
        keepOptimizerState: carry,
      }));
      const outputs = await trainAll(inputs);
      for (const m of members) {
        const out = outputs[m.index];
        // PB2's data: how much the round changed the accuracy the member entered it with.
        if (round > 0)
          observations.push({ round, x: toUnit(m.hp, space), reward: out.valAccuracy - m.valAccuracy });
        m.weights = out.weights;
        m.optimizerState = carry ? out.optimizerState : undefined;
        m.valAccuracy = out.valAccuracy;
        m.steps.push({
          round,
          hyperparameters: { ...m.hp },
          trainSeed: inputs[m.index].trainSeed,
          trainedBy: m.index,
          ...(m.copiedFrom !== undefined ? { copiedFrom: m.copiedFrom } : {}),
          valAccuracy: out.valAccuracy,
        });
        m.copiedFrom = undefined;
        m.trial.report(out.valAccuracy, round);
        m.trial.setUserAttr(PBT_SCHEDULE_ATTR, scheduleOf(m, options.epochsPerRound, carry));
        await m.trial.flush();
      }
      options.onRound?.({ round, phase: 'trained', members: snapshot(members) });
      if (round === rounds - 1) break;
      // Ties keep the lower index first, so the ranking is deterministic.
      const ranked = [...members].sort((a, b) => b.valAccuracy - a.valAccuracy || a.index - b.index);
      const top = ranked.slice(0, replaced);
      const bottom = ranked.slice(population - replaced);
      const pick = root.fork(`exploit-${round}`);
      const sources = bottom.map(() => top[pick.int(0, top.length - 1)]);
      const chosen =
        explore === 'pb2'
          ? pb2Choose(
              observations,
              sources.map((source) => toUnit(source.hp, space)),
              round,
              root.fork(`pb2-${round}`),
            ).map((x, i) => fromUnit(x, space, sources[i].hp))
          : sources.map((source, i) =>
              exploreHyperparameters(
                source.hp,
                space,
                root.fork(`explore-${bottom[i].index}-${round}`),
                resampleProbability,
                factors,
              ),
            );
      for (const [i, m] of bottom.entries()) {
        const source = sources[i];
        m.weights = (source.weights ?? []).map((w) => w.slice());
        m.optimizerState = copyState(source.optimizerState);
        m.steps = source.steps.map((s) => ({ ...s, hyperparameters: { ...s.hyperparameters } }));
        m.initSeed = source.initSeed;
        m.valAccuracy = source.valAccuracy;
        m.hp = chosen[i];
        m.copiedFrom = source.index;
      }
      options.onRound?.({ round, phase: 'exploited', members: snapshot(members) });
    }
    for (const m of members) {
      m.trial.setUserAttr(PBT_SCHEDULE_ATTR, scheduleOf(m, options.epochsPerRound, carry));
      for (const [key, value] of Object.entries(m.hp)) m.trial.setUserAttr(`pbtFinal.${key}`, value);
      await options.study.tell(m.trial, m.valAccuracy);
    }
  } catch (error) {
    // Members not yet told fail with the error; one already told stays as it was.
    for (const m of members) await options.study.tell(m.trial, { state: 'FAIL' }).catch(() => undefined);
    throw error;
  } finally {
    await pool?.close();
  }
  let best = 0;
  for (const m of members) if (m.valAccuracy > members[best].valAccuracy) best = m.index;
  return {
    members: members.map((m) => ({
      member: m.index,
      trialNumber: m.trial.number,
      hyperparameters: { ...m.hp },
      valAccuracy: m.valAccuracy,
      schedule: scheduleOf(m, options.epochsPerRound, carry),
      weights: m.weights ?? [],
    })),
    best,
    totalEpochs: population * rounds * options.epochsPerRound,
  };
}

/**
 * Trains one model along a recorded schedule: the same initial weights, then per round the same
 * hyperparameters and training seed (and the optimizer state carried when the schedule says so).
 * Returns its weights and the last round's validation accuracy.
 */
export async function replayPbtSchedule(
  schedule: PbtSchedule,
  setup: PbtSetup,
): Promise<{ weights: Float32Array[]; valAccuracy: number; rounds: number[] }> {
  checkSetup(setup);
  if (setup.epochsPerRound !== schedule.epochsPerRound)
    throw new InvalidArgumentError(
      `replay: the schedule trained ${schedule.epochsPerRound} epochs per round, the setup asks ${setup.epochsPerRound}`,
    );
  if (schedule.steps.length === 0) throw new InvalidArgumentError('replay: the schedule has no rounds');
  const carry = schedule.optimizerState === 'carried';
  let weights: Float32Array[] | undefined;
  let optimizerState: OptimizerState | undefined;
  const rounds: number[] = [];
  for (const [i, step] of schedule.steps.entries()) {
    if (step.round !== i)
      throw new InvalidArgumentError(
        `replay: step ${i} of the schedule is round ${step.round}, expected ${i}`,
      );
    const out = await trainPbtRound(setup, {
      hyperparameters: step.hyperparameters,
      initSeed: schedule.initSeed,
      trainSeed: step.trainSeed,
      ...(weights ? { weights } : {}),
      ...(optimizerState ? { optimizerState } : {}),
      keepOptimizerState: carry,
    });
    weights = out.weights;
    optimizerState = out.optimizerState;
    rounds.push(out.valAccuracy);
  }
  return { weights: weights ?? [], valAccuracy: rounds[rounds.length - 1], rounds };
}
