/**
 * Samplers and pruners by name, for study files and the CLI: `{ name: 'tpe', seed: 1 }`.
 *
 * Option names are checked here before anything is built, so a typo (`nStartupTrails`) is an error
 * naming it rather than an ignored option; value ranges are checked by the constructors. Each
 * table is tied to the constructor's options type (`OptionTable<...>`), so the type checker fails
 * when a sampler or pruner gains or loses an option the table does not know. Modules are imported
 * lazily, one per name: the CLI starts fast and a broken module only breaks its own name.
 */
import type { CategoricalChoice, Distribution } from '../core/distributions.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { StudyDirection } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { Sampler } from '../core/sampler.js';
import type { HyperbandPrunerOptions } from '../pruners/hyperband.js';
import type { PatientPrunerOptions } from '../pruners/patient.js';
import type { PercentilePrunerOptions } from '../pruners/percentile.js';
import type { SuccessiveHalvingPrunerOptions } from '../pruners/successive-halving.js';
import type { ThresholdPrunerOptions } from '../pruners/threshold.js';
import type { WilcoxonPrunerOptions } from '../pruners/wilcoxon.js';
import type { AgingEvolutionSamplerOptions } from '../samplers/aging-evolution.js';
import type { CmaEsSamplerOptions } from '../samplers/cmaes/cmaes-sampler.js';
import type { GPSamplerOptions } from '../samplers/gp/gp-sampler.js';
import type { GridSamplerOptions } from '../samplers/grid.js';
import type { NSGAIISamplerOptions } from '../samplers/nsga2/nsga2-sampler.js';
import type { QMCSamplerOptions } from '../samplers/qmc/qmc-sampler.js';
import type { RandomSamplerOptions } from '../samplers/random.js';
import type { ReinforceSamplerOptions } from '../samplers/reinforce.js';
import type { TPESamplerOptions } from '../samplers/tpe/tpe-sampler.js';

/** A sampler or pruner by name with its options, as a study file gives it. */
export interface ComponentSpec {
  name: string;
  options: Record<string, unknown>;
}

/** What building a sampler or pruner may depend on besides its options. */
export interface ComponentContext {
  /** The study's declarative search space (the grid sampler enumerates it). */
  space?: Readonly<Record<string, Distribution>>;
  directions?: readonly StudyDirection[];
}

/**
 * The kinds of option values a study file can hold. 'unsupported' marks options that take code
 * (functions), which a file cannot express; naming one is an error that says so.
 */
type OptionKind =
  | 'integer'
  | 'number'
  | 'boolean'
  | 'string'
  | 'integer|auto'
  | 'number|auto'
  | 'numbers'
  | 'object'
  | 'pruner'
  | 'sampler'
  | 'unsupported'
  | { oneOf: readonly string[] };

/** Every option of `T`, each with its kind: adding an option to `T` fails type checking here. */
type OptionTable<T> = { readonly [K in keyof Required<T>]: OptionKind };

interface Entry<T> {
  /** Options whose absence is an error. */
  required?: readonly string[];
  options: Readonly<Record<string, OptionKind>>;
  build: (options: Record<string, unknown>, context: ComponentContext) => Promise<T>;
  summary: string;
}

// Sampler option tables. Each `satisfies` ties a table to the sampler's options interface.
const randomOptions = { seed: 'integer' } as const satisfies OptionTable<RandomSamplerOptions>;

const gpOptions = {
  seed: 'integer',
  nStartupTrials: 'integer',
  deterministicObjective: 'boolean',
  independentSampler: 'sampler',
  nCandidates: 'integer',
  multiObjective: { oneOf: ['ehvi', 'parego'] },
  warnIndependentSampling: 'boolean',
} as const satisfies OptionTable<GPSamplerOptions>;

const SAMPLERS: Readonly<Record<string, Entry<Sampler>>> = {
  random: {
    summary: 'uniform random search',
    options: randomOptions,
    build: async (o) => new (await import('../samplers/random.js')).RandomSampler(o),
  },
  tpe: {
    summary: 'tree-structured Parzen estimator (the default; several objectives too)',
    options: {
      seed: 'integer',
      nStartupTrials: 'integer',
      nEiCandidates: 'integer',
      multivariate: 'boolean',
      group: 'boolean',
      constantLiar: 'boolean',
      priorWeight: 'number',
      considerPrior: 'boolean',
      considerMagicClip: 'boolean',
      considerEndpoints: 'boolean',
      gamma: 'unsupported',
      weights: 'unsupported',
      warnIndependentSampling: 'boolean',
      univariateEvery: 'integer',
      bandwidth: { oneOf: ['scott', 'optuna'] },
      minBandwidthFactor: 'number',
      // Past studies' trials come from warmStartPrior (src/adapt), not from a study file.
      prior: 'unsupported',
    } as const satisfies OptionTable<TPESamplerOptions>,
    build: async (o) => new (await import('../samplers/tpe/tpe-sampler.js')).TPESampler(o),
  },
  gp: {
    summary: 'Gaussian-process Bayesian optimisation (small budgets, continuous spaces)',
    options: gpOptions,
    build: async ({ independentSampler, ...o }, context) =>
      new (await import('../samplers/gp/gp-sampler.js')).GPSampler({
        ...o,
        independentSampler: await nestedSampler(independentSampler, context),
      }),
  },
  cmaes: {
    summary: 'CMA-ES (continuous spaces, larger budgets)',
    options: {
      seed: 'integer',
      x0: 'object',
      sigma0: 'number',
      nStartupTrials: 'integer',
      independentSampler: 'sampler',
      restartStrategy: { oneOf: ['ipop', 'bipop'] },
      incPopsize: 'integer',
      popsize: 'integer',
      warnIndependentSampling: 'boolean',
      withMargin: 'boolean',
      useSeparableCma: 'boolean',
    } as const satisfies OptionTable<CmaEsSamplerOptions>,
    build: async ({ independentSampler, ...o }, context) =>
      new (await import('../samplers/cmaes/cmaes-sampler.js')).CmaEsSampler({
        ...o,
        independentSampler: await nestedSampler(independentSampler, context),
      }),
  },
  qmc: {
    summary: 'quasi-Monte Carlo (Sobol or Halton) space filling',
    options: {
      seed: 'integer',
      qmcType: { oneOf: ['sobol', 'halton'] },
      scramble: 'boolean',
      warnIndependentSampling: 'boolean',
      independentSampler: 'sampler',
    } as const satisfies OptionTable<QMCSamplerOptions>,
    build: async ({ independentSampler, ...o }, context) =>
      new (await import('../samplers/qmc/qmc-sampler.js')).QMCSampler({
        ...o,
        independentSampler: await nestedSampler(independentSampler, context),
      }),
  },
  nsga2: {
    summary: 'NSGA-II genetic algorithm (one or several objectives, constraints)',
    options: {
      seed: 'integer',
      populationSize: 'integer',
      crossover: { oneOf: ['sbx', 'uniform', 'blxalpha'] },
      blxAlpha: 'number',
      mutationProb: 'number',
      crossoverProb: 'number',
      swappingProb: 'number',
      sbxEta: 'number',
      mutationEta: 'number',
    } as const satisfies OptionTable<NSGAIISamplerOptions>,
    build: async (o) => new (await import('../samplers/nsga2/nsga2-sampler.js')).NSGAIISampler(o),
  },
  'aging-evolution': {
    summary:
      'regularized (aging) evolution: tournament, one mutation, oldest removed (one or several objectives)',
    options: {
      seed: 'integer',
      populationSize: 'integer',
      sampleSize: 'integer',
      localStepProb: 'number',
    } as const satisfies OptionTable<AgingEvolutionSamplerOptions>,
    build: async (o) => new (await import('../samplers/aging-evolution.js')).AgingEvolutionSampler(o),
  },
  reinforce: {
    summary:
      'reinforcement-learning controller: REINFORCE over the decisions with a moving-average baseline (several objectives by Chebyshev scalarisation)',
    options: {
      seed: 'integer',
      learningRate: 'number',
      batchSize: 'integer',
      baselineDecay: 'number',
      entropyWeight: 'number',
      bins: 'integer',
      weights: 'numbers',
    } as const satisfies OptionTable<ReinforceSamplerOptions>,
    build: async (o) => new (await import('../samplers/reinforce.js')).ReinforceSampler(o),
  },
  grid: {
    summary: 'every combination of the categorical choices and `step` grids of the space',
    options: { seed: 'integer' } as const satisfies OptionTable<GridSamplerOptions>,
    build: async (o, context) =>
      new (await import('../samplers/grid.js')).GridSampler(gridFromSpace(context.space ?? {}), o),
  },
};

/** A nested sampler option (`independentSampler: random`), or undefined when not given. */
async function nestedSampler(spec: unknown, context: ComponentContext): Promise<Sampler | undefined> {
  return spec === undefined
    ? undefined
    : createSampler(normalize(spec as Record<string, unknown> | string), context);
}

const percentileOptions = {
  nStartupTrials: 'integer',
  nWarmupSteps: 'integer',
  intervalSteps: 'integer',
  nMinTrials: 'integer',
} as const satisfies OptionTable<PercentilePrunerOptions>;

const successiveHalvingOptions = {
  minResource: 'integer|auto',
  reductionFactor: 'number',
  minEarlyStoppingRate: 'integer',
  bootstrapCount: 'integer',
} as const satisfies OptionTable<SuccessiveHalvingPrunerOptions>;

/** ASHA, or its Pareto form when the study has several objectives. */
const successiveHalving: Entry<Pruner> = {
  summary: 'asynchronous successive halving (Pareto ranks with several objectives)',
  options: successiveHalvingOptions,
  build: async (o, context) =>
    (context.directions?.length ?? 1) > 1
      ? new (await import('../pruners/pareto-successive-halving.js')).ParetoSuccessiveHalvingPruner(o)
      : new (await import('../pruners/successive-halving.js')).SuccessiveHalvingPruner(o),
};

const PRUNERS: Readonly<Record<string, Entry<Pruner>>> = {
  nop: {
    summary: 'never prunes',
    options: {},
    build: async () => new (await import('../pruners/nop.js')).NopPruner(),
  },
  median: {
    summary: 'prunes below the median of completed trials at the same step',
    options: percentileOptions,
    build: async (o) => new (await import('../pruners/percentile.js')).MedianPruner(o),
  },
  percentile: {
    summary: 'prunes outside the best `percentile` % of completed trials at the same step',
    required: ['percentile'],
    options: { percentile: 'number', ...percentileOptions },
    build: async ({ percentile, ...o }, _context) =>
      new (await import('../pruners/percentile.js')).PercentilePruner(percentile as number, o),
  },
  patient: {
    summary: 'prunes once a trial stops improving for `patience` steps (optionally asking `wrapped`)',
    required: ['patience'],
    options: {
      ...({ patience: 'integer', minDelta: 'number' } as const satisfies OptionTable<PatientPrunerOptions>),
      wrapped: 'pruner',
    },
    build: async ({ wrapped, ...o }, context) => {
      const inner = wrapped === undefined ? null : await createPruner(wrapped as ComponentSpec, context);
      return new (await import('../pruners/patient.js')).PatientPruner(
        inner,
        o as unknown as PatientPrunerOptions,
      );
    },
  },
  threshold: {
    summary: 'prunes when the latest value leaves [lower, upper]',
    options: {
      lower: 'number',
      upper: 'number',
      nWarmupSteps: 'integer',
      intervalSteps: 'integer',
    } as const satisfies OptionTable<ThresholdPrunerOptions>,
    build: async (o) => new (await import('../pruners/threshold.js')).ThresholdPruner(o),
  },
  'successive-halving': successiveHalving,
  asha: successiveHalving,
  hyperband: {
    summary: 'Hyperband over successive halving (with TPE: BOHB)',
    options: {
      minResource: 'integer',
      maxResource: 'integer|auto',
      reductionFactor: 'number',
      bootstrapCount: 'integer',
    } as const satisfies OptionTable<HyperbandPrunerOptions>,
    build: async (o) => new (await import('../pruners/hyperband.js')).HyperbandPruner(o),
  },
  wilcoxon: {
    summary: 'Wilcoxon signed-rank test against the best trial, step = instance',
    options: {
      pThreshold: 'number',
      nStartupSteps: 'integer',
    } as const satisfies OptionTable<WilcoxonPrunerOptions>,
    build: async (o) => new (await import('../pruners/wilcoxon.js')).WilcoxonPruner(o),
  },
};

export const SAMPLER_NAMES: readonly string[] = Object.keys(SAMPLERS);
export const PRUNER_NAMES: readonly string[] = Object.keys(PRUNERS);

/** Names and one-line descriptions, for help texts. */
export function describeComponents(): { samplers: Record<string, string>; pruners: Record<string, string> } {
  const pick = (table: Readonly<Record<string, Entry<unknown>>>) =>
    Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.summary]));
  return { samplers: pick(SAMPLERS), pruners: pick(PRUNERS) };
}

/** Checks the name and option names/kinds of a sampler spec without loading it. */
export function checkSamplerSpec(spec: ComponentSpec, where = 'sampler'): void {
  checkSpec(SAMPLERS, 'sampler', spec, where);
}

export function checkPrunerSpec(spec: ComponentSpec, where = 'pruner'): void {
  checkSpec(PRUNERS, 'pruner', spec, where);
}

/** Builds a sampler by name; `spec` may also be just the name. */
export async function createSampler(
  spec: ComponentSpec | string,
  context: ComponentContext = {},
): Promise<Sampler> {
  const s = normalize(spec);
  checkSamplerSpec(s);
  return build(SAMPLERS[s.name], s, 'sampler', context);
}

export async function createPruner(
  spec: ComponentSpec | string,
  context: ComponentContext = {},
): Promise<Pruner> {
  const s = normalize(spec);
  checkPrunerSpec(s);
  return build(PRUNERS[s.name], s, 'pruner', context);
}

function normalize(spec: ComponentSpec | string | Record<string, unknown>): ComponentSpec {
  if (typeof spec === 'string') return { name: spec, options: {} };
  if (spec && typeof spec === 'object' && 'options' in spec && typeof spec.name === 'string')
    return spec as ComponentSpec;
  // The study-file form: { name, ...options }.
  const { name, ...options } = (spec ?? {}) as Record<string, unknown>;
  return { name: name as string, options };
}

async function build<T>(
  entry: Entry<T>,
  spec: ComponentSpec,
  kind: string,
  context: ComponentContext,
): Promise<T> {
  const options = Object.fromEntries(Object.entries(spec.options).filter(([, v]) => v !== null));
  try {
    return await entry.build(options, context);
  } catch (error) {
    if (error instanceof InvalidArgumentError)
      throw new InvalidArgumentError(`${spec.name}: ${error.message}`, { cause: error });
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND')
      throw new InvalidArgumentError(`${kind} "${spec.name}" is not available in this build`, {
        cause: error,
      });
    throw error;
  }
}

function checkSpec(
  table: Readonly<Record<string, Entry<unknown>>>,
  kind: 'sampler' | 'pruner',
  spec: ComponentSpec,
  where: string,
): void {
  if (typeof spec.name !== 'string' || !Object.hasOwn(table, spec.name))
    throw new InvalidArgumentError(
      `${where}: unknown ${kind} ${JSON.stringify(spec.name)} (known: ${Object.keys(table).join(', ')})`,
    );
  const entry = table[spec.name];
  const known = Object.keys(entry.options);
  for (const [option, value] of Object.entries(spec.options)) {
    if (!Object.hasOwn(entry.options, option))
      throw new InvalidArgumentError(
        `${where}.${option}: unknown option of the ${spec.name} ${kind}${hint(option, known)}`,
      );
    if (value === null) continue; // null stands for the default
    const problem = checkKind(entry.options[option], value);
    if (problem === 'unsupported')
      throw new InvalidArgumentError(`${where}.${option}: takes a function, which a study file cannot give`);
    if (problem !== null) throw new InvalidArgumentError(`${where}.${option}: ${problem}`);
    if (entry.options[option] === 'pruner')
      checkPrunerSpec(normalize(value as Record<string, unknown> | string), `${where}.${option}`);
    if (entry.options[option] === 'sampler')
      checkSamplerSpec(normalize(value as Record<string, unknown> | string), `${where}.${option}`);
  }
  for (const option of entry.required ?? [])
    if (spec.options[option] === undefined)
      throw new InvalidArgumentError(`${where}: the ${spec.name} ${kind} needs option \`${option}\``);
}

function checkKind(kind: OptionKind, value: unknown): string | null {
  const got = `got ${JSON.stringify(value)}`;
  if (typeof kind === 'object')
    return typeof value === 'string' && kind.oneOf.includes(value)
      ? null
      : `expected one of ${kind.oneOf.map((v) => JSON.stringify(v)).join(', ')}, ${got}`;
  switch (kind) {
    case 'integer':
      return Number.isInteger(value) ? null : `expected an integer, ${got}`;
    case 'number':
      return typeof value === 'number' ? null : `expected a number, ${got}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `expected true or false, ${got}`;
    case 'string':
      return typeof value === 'string' ? null : `expected a string, ${got}`;
    case 'integer|auto':
      return Number.isInteger(value) || value === 'auto' ? null : `expected an integer or "auto", ${got}`;
    case 'number|auto':
      return typeof value === 'number' || value === 'auto' ? null : `expected a number or "auto", ${got}`;
    case 'numbers':
      return Array.isArray(value) && value.every((v) => typeof v === 'number')
        ? null
        : `expected a list of numbers, ${got}`;
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value)
        ? null
        : `expected a mapping, ${got}`;
    case 'pruner':
    case 'sampler':
      return typeof value === 'string' ||
        (value !== null && typeof value === 'object' && !Array.isArray(value))
        ? null
        : `expected a ${kind} name or { name: ${kind === 'pruner' ? 'median' : 'random'}, ...options }, ${got}`;
    case 'unsupported':
      return 'unsupported';
  }
}

/**
 * The grid of a declarative search space, for the grid sampler: categorical choices, every int on
 * its step, floats on their `step` grid. A float without a step has no grid.
 */
export function gridFromSpace(
  space: Readonly<Record<string, Distribution>>,
): Record<string, CategoricalChoice[]> {
  const grid: Record<string, CategoricalChoice[]> = {};
  for (const [name, d] of Object.entries(space)) {
    if (d.type === 'categorical') grid[name] = [...d.choices];
    else if (d.step === null)
      throw new InvalidArgumentError(
        `the grid sampler needs a grid: give space.${name} a \`step\` (or make it categorical)`,
      );
    else {
      const n = Math.round((d.high - d.low) / d.step);
      if (n >= 100_000)
        throw new InvalidArgumentError(
          `space.${name} has ${n + 1} grid points; the grid sampler allows 100000`,
        );
      const values: number[] = [];
      for (let k = 0; k <= n; k++) values.push(Number((d.low + k * d.step).toPrecision(12)));
      grid[name] = values;
    }
  }
  return grid;
}

function hint(word: string, known: readonly string[]): string {
  if (known.length === 0) return ' (it takes no options)';
  return `${suggest(word, known)} (known: ${known.join(', ')})`;
}

/**
 * ` (did you mean "x"?)` when a known name is within two edits of `word`, or is its camelCase form
 * (`n_startup_trials` -> `nStartupTrials`, as Optuna users will write).
 */
export function suggest(word: string, known: readonly string[]): string {
  const camel = word.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
  if (camel !== word && known.includes(camel)) return ` (did you mean "${camel}"?)`;
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
