/**
 * Saved models of a search: each finished trial writes a model directory (model.json, weights.bin,
 * parsimony-model.json and pipeline.json, the preparation `parsimony predict` applies), and when
 * the search ends only the Pareto front's directories are kept.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type FeaturePipeline, PIPELINE_FILE } from '../data/feature-pipeline.js';
import type { ModelSpec } from '../models/spec/types.js';
import { saveModel } from '../models/tfjs/save.js';

/** Model, spec and pipeline into `dir`, written under a temporary name and renamed when complete. */
export async function saveTrialModel(
  dir: string,
  model: Parameters<typeof saveModel>[0],
  spec: ModelSpec,
  pipeline: FeaturePipeline,
): Promise<void> {
  const temporary = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(temporary, { recursive: true });
    await saveModel(model, spec, temporary);
    await writeFile(path.join(temporary, PIPELINE_FILE), `${JSON.stringify(pipeline)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Removes every `trial-<n>` directory of `dir` whose trial is not in `keep` (off the front for good). */
export async function keepTrialModels(dir: string, keep: Iterable<number>): Promise<void> {
  const kept = new Set([...keep].map((n) => `trial-${n}`));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names)
    if (!kept.has(name)) await rm(path.join(dir, name), { recursive: true, force: true });
}
