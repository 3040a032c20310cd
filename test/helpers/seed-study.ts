/**
 * Seeded studies for the dashboard tests and bench: realistic-looking trials (accuracy driven by
 * the number of units and the learning rate, plus a noise parameter), with complexity attributes,
 * pruned trials with learning curves, failures, a running trial, model specs on some trials, and
 * several workers overlapping in time. Written in batches through SqliteStorage.createTrials.
 */
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import type { TrialTemplate } from '../../src/core/frozen-trial.js';
import { Random } from '../../src/core/random.js';
import { sequential } from '../../src/models/spec/builder.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';

const DISTRIBUTIONS = {
  units: new IntDistribution(8, 512, { log: true }),
  lr: new FloatDistribution(1e-4, 1e-1, { log: true }),
  optimizer: new CategoricalDistribution(['adam', 'sgd', 'rmsprop']),
  noise: new FloatDistribution(0, 1),
};

export interface SeedOptions {
  trials: number;
  seed?: number;
  /** Leave the last trial RUNNING (default true). */
  running?: boolean;
  /** Store a model spec on every Nth completed trial (default 25). */
  specEvery?: number;
  /** When the last trial ends, in ms since the epoch (default: now). */
  endMs?: number;
}

/** Trial templates for a single-objective (maximise accuracy) study with params/macs attributes. */
export function seedTemplates(options: SeedOptions): TrialTemplate[] {
  const random = new Random(options.seed ?? 1);
  const specEvery = options.specEvery ?? 25;
  const t0 = Date.UTC(2026, 0, 1);
  const workers = 4;
  const clock = new Array(workers).fill(t0);
  const out: TrialTemplate[] = [];
  for (let i = 0; i < options.trials; i++) {
    const units = Math.round(Math.exp(random.uniform(Math.log(8), Math.log(512))));
    const lr = Math.exp(random.uniform(Math.log(1e-4), Math.log(1e-1)));
    const optimizer = ['adam', 'sgd', 'rmsprop'][random.int(0, 2)];
    const noise = random.uniform(0, 1);
    const params = 64 * units + units + units * 10 + 10;
    // Accuracy rises with units (saturating) and peaks near lr = 1e-2.
    const accuracy =
      0.98 -
      0.25 / Math.sqrt(units) -
      0.04 * (Math.log10(lr) + 2) ** 2 +
      random.normal(0, 0.004) +
      (optimizer === 'sgd' ? -0.01 : 0);
    const worker = i % workers;
    const duration = 2000 + 20 * units + random.int(0, 1000);
    const start = clock[worker];
    clock[worker] = start + duration + 50;
    const roll = random.next();
    const state =
      options.running !== false && i === options.trials - 1
        ? 'RUNNING'
        : roll < 0.15
          ? 'PRUNED'
          : roll < 0.18
            ? 'FAIL'
            : 'COMPLETE';
    const epochs = state === 'PRUNED' ? 3 : 10;
    const intermediateValues: Record<number, number> = {};
    if (state !== 'FAIL')
      for (let e = 0; e < epochs; e++)
        intermediateValues[e] =
          accuracy - 0.3 * Math.exp(-e / 2) + random.normal(0, 0.002) - (state === 'PRUNED' ? 0.05 : 0);
    const userAttrs: Record<string, unknown> = { params, macs: params - units - 10 };
    if (state === 'COMPLETE' && i % specEvery === 0)
      userAttrs.modelSpec = sequential([64], { name: `mlp-${units}` })
        .add('dense', { units, activation: 'relu' })
        .add('dense', { units: 10, activation: 'softmax' })
        .build();
    out.push({
      state,
      values:
        state === 'COMPLETE' ? [accuracy] : state === 'PRUNED' ? [intermediateValues[epochs - 1]] : null,
      params: { units, lr, optimizer, noise },
      distributions: { ...DISTRIBUTIONS },
      userAttrs,
      systemAttrs:
        state === 'FAIL'
          ? { failReason: 'diverged (loss is NaN)', worker: `worker-${worker}` }
          : { worker: `worker-${worker}` },
      intermediateValues,
      datetimeStart: new Date(start),
      datetimeComplete: state === 'RUNNING' ? null : new Date(start + duration),
    });
  }
  // Shift the study so that it ends now: a running trial's bar then ends where the others do.
  const end = Math.max(...clock);
  const shift = (options.endMs ?? Date.now()) - end;
  for (const t of out) {
    if (t.datetimeStart) t.datetimeStart = new Date(t.datetimeStart.getTime() + shift);
    if (t.datetimeComplete) t.datetimeComplete = new Date(t.datetimeComplete.getTime() + shift);
  }
  return out;
}

/** Creates (or extends) a study named `name` in the SQLite file and returns its id. */
export async function seedSqliteStudy(path: string, name: string, options: SeedOptions): Promise<number> {
  const storage = new SqliteStorage(path);
  try {
    const id = await storage.createStudy(['maximize'], name);
    const templates = seedTemplates(options);
    for (let i = 0; i < templates.length; i += 1000)
      await storage.createTrials(id, templates.slice(i, i + 1000));
    return id;
  } finally {
    await storage.close();
  }
}
