/**
 * Temperature and alpha as trial parameters: a small study whose trials distill the same student
 * from the same teacher with sampled T (log scale) and alpha, each scored by the student's
 * validation accuracy (test accuracy is kept beside it, never used to choose). The student
 * trained alone (alpha = 1) is enqueued as trial 0, so the study also says whether distillation
 * beat it at all.
 */

import type { Trial } from '../../core/trial.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { TPESampler } from '../../samplers/tpe/tpe-sampler.js';
import { createStudy } from '../../study/create.js';
import type { AugmentationConfig } from '../../train/augment.js';
import type { ScheduleConfig } from '../../train/schedules.js';
import type { CompressionData, FineTuneSettings } from '../method.js';
import type { ModelWeights } from '../model-weights.js';
import { runPipeline } from '../pipeline.js';

export interface DistillationStudyOptions {
  teacher: ModelWeights;
  student: ModelSpec;
  data: CompressionData;
  trials: number;
  epochs: number;
  seed?: number;
  /** Temperature range, sampled on a log scale (default [1, 10]). */
  temperature?: [number, number];
  /** Alpha range (default [0, 1]). */
  alpha?: [number, number];
  fineTune?: Partial<FineTuneSettings>;
  /** Given to every trial, the student-alone trial 0 included (so the baseline gets them too). */
  augmentation?: AugmentationConfig;
  /** Mixup's Beta concentration for every trial (the teacher labels the mixed images). */
  mixup?: number;
  /** The learning-rate schedule of every trial, the baseline's included ("cosine", "constant" or a schedule object). */
  schedule?: 'constant' | 'cosine' | ScheduleConfig;
  /** `memory:` (default) or a storage URL. */
  storage?: string;
  studyName?: string;
}

export interface DistillationTrialRow {
  trial: number;
  temperature: number;
  alpha: number;
  valAccuracy: number;
  testAccuracy: number | null;
}

export interface DistillationStudyResult {
  /** Every complete trial, best validation accuracy first. */
  rows: DistillationTrialRow[];
  best: DistillationTrialRow;
  /** Trial 0: the student trained on the labels alone. */
  alone: DistillationTrialRow | undefined;
}

export async function distillationStudy(options: DistillationStudyOptions): Promise<DistillationStudyResult> {
  const [tLow, tHigh] = options.temperature ?? [1, 10];
  const [aLow, aHigh] = options.alpha ?? [0, 1];
  const study = await createStudy({
    direction: 'maximize',
    sampler: new TPESampler({ seed: options.seed ?? 0 }),
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.studyName ? { studyName: options.studyName } : {}),
  });
  // The baseline: labels only (alpha = 1 makes the temperature irrelevant).
  if (aHigh === 1) await study.enqueueTrial({ temperature: tLow, alpha: 1 });
  const testOf = new Map<number, number | null>();
  await study.optimize(
    async (trial: Trial) => {
      const temperature = trial.suggestFloat('temperature', tLow, tHigh, { log: true });
      const alpha = trial.suggestFloat('alpha', aLow, aHigh);
      const result = await runPipeline(
        options.teacher,
        [
          {
            method: 'distill',
            options: {
              student: options.student,
              temperature,
              alpha,
              epochs: options.epochs,
              ...(options.augmentation ? { augmentation: options.augmentation } : {}),
              ...(options.mixup ? { mixup: options.mixup } : {}),
              ...(options.schedule ? { schedule: options.schedule } : {}),
            },
          },
        ],
        {
          data: options.data,
          seed: options.seed ?? 0,
          fineTune: options.fineTune,
        },
      );
      const row = result.steps[0];
      testOf.set(trial.number, row.testAccuracy);
      return row.valAccuracy ?? 0;
    },
    { nTrials: options.trials },
  );
  const rows = (await study.getTrials())
    .filter((t) => t.state === 'COMPLETE')
    .map((t) => ({
      trial: t.number,
      temperature: t.params.temperature as number,
      alpha: t.params.alpha as number,
      valAccuracy: t.values?.[0] ?? 0,
      testAccuracy: testOf.get(t.number) ?? null,
    }))
    .sort((a, b) => b.valAccuracy - a.valAccuracy);
  return { rows, best: rows[0], alone: rows.find((r) => r.alpha === 1 && r.trial === 0) };
}
