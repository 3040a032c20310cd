/**
 * `predict`: applies a saved model directory's pipeline (table preparation, scaling, PCA or
 * selected features) and model to the rows of a CSV file, one prediction per input row, spelled
 * as the training data spelled its classes.
 *
 * Columns are matched by header name when the training CSV had a header (any order; the target
 * column, when present, and extra columns are ignored), else by position: the feature columns
 * alone, or with the target column where it was in training. An unseen category is handled by
 * the table preparation (no level, or the most frequent one); a non-number in a numeric column is
 * an error naming its line and column.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError, FileNotFoundError } from '../core/errors.js';
import { type CsvRows, type CsvTable, loadCsvRows, parseNumber } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import {
  applyFeatureSteps,
  checkPipeline,
  type FeaturePipeline,
  PIPELINE_FILE,
} from '../data/feature-pipeline.js';
import { applyTablePreparation } from '../data/table-preparation.js';
import { initBackend } from '../models/backends/index.js';
import { loadModel } from '../models/tfjs/save.js';
import { ENSEMBLE_FILE, type EnsembleFile, readEnsemble } from './ensemble.js';
import { AUTOML_FILES } from './files.js';

export interface Predictions {
  classNames: string[];
  /** Predicted class per input row. */
  labels: string[];
  /** Row-major class probabilities (rows x classes). */
  probabilities: Float32Array;
  /** 1-based file line of each row. */
  lines: number[];
}

export async function readPipeline(modelDir: string): Promise<FeaturePipeline> {
  const file = path.join(modelDir, PIPELINE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'pipeline (a model directory written by automl or search)', {
        cause: error,
      });
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${file}: not JSON (${(error as Error).message})`, { cause: error });
  }
  checkPipeline(value, file);
  return value;
}

/** Which input column feeds each training feature, and which rows are data (not the header). */
function matchColumns(pipeline: FeaturePipeline, csv: CsvRows): { columns: number[]; first: number } {
  const names = pipeline.featureNames;
  const width = csv.rows[0].cells.length;
  const header = csv.rows[0].cells.map((c) => c.trim());
  const named = names.length > 0 && names.every((n) => n !== '');
  if (named) {
    const missing = names.filter((n) => !header.includes(n));
    if (missing.length === 0) return { columns: names.map((n) => header.indexOf(n)), first: 1 };
    if (missing.length < names.length)
      throw new DataError(
        `${csv.source}: no column ${missing.map((m) => JSON.stringify(m)).join(', ')} (the model was trained on ${names.join(', ')})`,
      );
  }
  // By position; a first row that is not numbers where numbers belong is taken as a header.
  const features = named || names.length > 0 ? names.length : pipeline.inputShape.reduce((a, b) => a * b, 1);
  let columns: number[];
  if (width === features) columns = Array.from({ length: features }, (_, k) => k);
  else if (width === features + 1) {
    const target = Number(pipeline.target ?? -1);
    const index = Number.isInteger(target) ? (target < 0 ? width + target : target) : width - 1;
    columns = Array.from({ length: width }, (_, k) => k).filter((k) => k !== index);
  } else
    throw new DataError(
      `${csv.source}: ${width} columns, but the model reads ${features} feature columns${named ? ` (${names.join(', ')}); the file has no header naming them` : ' (with or without the target column)'}`,
    );
  const looksLikeHeader =
    csv.rows.length > 1 &&
    columns.some((c) => {
      const cell = header[c];
      return (
        cell !== '' &&
        parseNumber(cell) === undefined &&
        parseNumber(csv.rows[1].cells[c].trim()) !== undefined
      );
    });
  return { columns, first: looksLikeHeader ? 1 : 0 };
}

/**
 * The model directory to apply: `dir` itself when it is a model or an ensemble, else, for an
 * AutoML output directory, the model its run chose (`report.json`'s `chosen.model`: `best` or
 * `ensemble`). Anything else is returned as is, so reading its pipeline names the missing file.
 */
export async function chosenModelDir(dir: string): Promise<string> {
  if (existsSync(path.join(dir, PIPELINE_FILE)) || existsSync(path.join(dir, ENSEMBLE_FILE))) return dir;
  const file = path.join(dir, AUTOML_FILES.report);
  if (!existsSync(file)) return dir;
  let chosen: unknown;
  try {
    chosen = JSON.parse(await readFile(file, 'utf8'))?.chosen?.model;
  } catch (error) {
    throw new DataError(`${file}: not JSON (${(error as Error).message})`, { cause: error });
  }
  if (chosen !== AUTOML_FILES.best && chosen !== AUTOML_FILES.ensemble)
    throw new DataError(
      `${file}: no chosen model (chosen.model "best" or "ensemble"; a run of an older version: pass ${path.join(dir, AUTOML_FILES.best)})`,
    );
  return path.join(dir, chosen);
}

/**
 * Predicts every data row of the CSV file with the model directory's pipeline and model, or, for
 * an ensemble directory (`ensemble.json`), with each member's, averaging their probabilities by
 * the members' weights.
 */
export async function predictCsv(modelDir: string, csvPath: string): Promise<Predictions> {
  modelDir = await chosenModelDir(modelDir);
  const ensemble = await readEnsemble(modelDir);
  if (ensemble) return predictEnsemble(modelDir, ensemble, csvPath);
  const pipeline = await readPipeline(modelDir);
  const csv = loadCsvRows(csvPath);
  const { columns, first } = matchColumns(pipeline, csv);
  const rows = csv.rows.slice(first);
  if (rows.length === 0) throw new DataError(`${csv.source}: no data rows`);
  const label = (k: number) => {
    const c = columns[k];
    const name = first === 1 ? csv.rows[0].cells[c].trim() : '';
    return name !== ''
      ? `column ${c + 1} ${JSON.stringify(name)} (index ${c})`
      : `column ${c + 1} (index ${c})`;
  };
  const table: CsvTable = {
    name: csv.source,
    source: csv.source,
    provenance: { source: `CSV file ${csv.source}`, location: path.resolve(csvPath) },
    featureNames: columns.map((c) => (first === 1 ? csv.rows[0].cells[c].trim() : '')),
    featureLabels: columns.map((_, k) => label(k)),
    cells: rows.map((r) => columns.map((c) => r.cells[c].trim())),
    lines: rows.map((r) => r.line),
    labels: new Int32Array(rows.length),
    classNames: pipeline.classNames,
  };
  let raw: Float32Array;
  let d: number;
  if (pipeline.table) {
    const prepared = applyTablePreparation(pipeline.table, table);
    raw = prepared.data;
    d = prepared.numFeatures;
  } else {
    d = columns.length;
    raw = new Float32Array(rows.length * d);
    for (let r = 0; r < rows.length; r++)
      for (let k = 0; k < d; k++) {
        const cell = table.cells[r][k];
        const value = parseNumber(cell);
        if (value === undefined)
          throw new DataError(
            `${csv.source}: line ${table.lines[r]}, ${table.featureLabels[k]}: ${cell === '' ? 'empty cell' : `${JSON.stringify(cell)} is not a number`}`,
          );
        raw[r * d + k] = value;
      }
  }
  const { data, features } = applyFeatureSteps(pipeline.steps, raw, d);
  const size = pipeline.inputShape.reduce((a, b) => a * b, 1);
  if (features !== size)
    throw new DataError(
      `${modelDir}: the pipeline gives ${features} features but the model reads [${pipeline.inputShape.join(', ')}]`,
    );
  await initBackend();
  const tf = await import('@tensorflow/tfjs-core');
  const { model } = await loadModel(modelDir);
  const classes = pipeline.classNames.length;
  const probabilities = new Float32Array(rows.length * classes);
  try {
    for (let start = 0; start < rows.length; start += 512) {
      const end = Math.min(rows.length, start + 512);
      const out = tf.tidy(() => {
        const x = tf.tensor(data.subarray(start * size, end * size), [end - start, ...pipeline.inputShape]);
        return (model.predict(x) as import('@tensorflow/tfjs-core').Tensor).dataSync() as Float32Array;
      });
      if (out.length !== (end - start) * classes)
        throw new DataError(
          `${modelDir}: the model gives ${out.length / (end - start)} outputs per row, the pipeline names ${classes} classes`,
        );
      probabilities.set(out, start * classes);
    }
  } finally {
    model.dispose();
  }
  const labels = rows.map((_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[r * classes + c] > probabilities[r * classes + best]) best = c;
    return pipeline.classNames[best];
  });
  return { classNames: pipeline.classNames, labels, probabilities, lines: table.lines };
}

async function predictEnsemble(
  modelDir: string,
  ensemble: EnsembleFile,
  csvPath: string,
): Promise<Predictions> {
  const classes = ensemble.classNames.length;
  const total = ensemble.members.reduce((a, m) => a + m.weight, 0);
  let combined: Predictions | undefined;
  let sum: Float64Array | undefined;
  for (const member of ensemble.members) {
    const memberDir = path.join(modelDir, member.dir);
    const p = await predictCsv(memberDir, csvPath);
    if (p.classNames.join('\u0000') !== ensemble.classNames.join('\u0000'))
      throw new DataError(
        `${memberDir}: classes ${p.classNames.join(', ')} differ from the ensemble's ${ensemble.classNames.join(', ')}`,
      );
    combined ??= p;
    sum ??= new Float64Array(p.probabilities.length);
    for (let k = 0; k < sum.length; k++) sum[k] += (member.weight / total) * p.probabilities[k];
  }
  const first = combined as Predictions;
  const probabilities = Float32Array.from(sum as Float64Array);
  const labels = first.lines.map((_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[r * classes + c] > probabilities[r * classes + best]) best = c;
    return ensemble.classNames[best];
  });
  return { classNames: [...ensemble.classNames], labels, probabilities, lines: first.lines };
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The predictions as CSV text: a `prediction` column, then one probability column per class with `proba`. */
export function predictionsCsv(p: Predictions, proba: boolean): string {
  const header = ['prediction', ...(proba ? p.classNames.map((c) => `p_${c}`) : [])];
  const lines = [header.map(csvField).join(',')];
  const classes = p.classNames.length;
  p.labels.forEach((label, r) => {
    const cells = [csvField(label)];
    if (proba)
      for (let c = 0; c < classes; c++)
        cells.push(String(Number(p.probabilities[r * classes + c].toPrecision(6))));
    lines.push(cells.join(','));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Accuracy of a saved model or ensemble directory (loaded back from disk) on a dataset of raw
 * features, as a pipeline without a table preparation reads them (built-in datasets, or already
 * prepared rows). An ensemble scores the weighted mean of its members' probabilities.
 */
export async function savedModelAccuracy(modelDir: string, dataset: Dataset): Promise<number> {
  const ensemble = await readEnsemble(modelDir);
  if (!ensemble) return savedSingleModelAccuracy(modelDir, dataset);
  const classes = ensemble.classNames.length;
  const total = ensemble.members.reduce((a, m) => a + m.weight, 0);
  const sum = new Float64Array(dataset.labels.length * classes);
  for (const member of ensemble.members) {
    const p = await savedModelProbabilities(path.join(modelDir, member.dir), dataset, classes);
    for (let k = 0; k < sum.length; k++) sum[k] += (member.weight / total) * p[k];
  }
  let correct = 0;
  dataset.labels.forEach((label, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (sum[r * classes + c] > sum[r * classes + best]) best = c;
    if (best === label) correct++;
  });
  return correct / Math.max(1, dataset.labels.length);
}

/** Class probabilities (rows x classes) of one saved model directory on already prepared rows. */
async function savedModelProbabilities(
  modelDir: string,
  dataset: Dataset,
  classes: number,
): Promise<Float32Array> {
  const pipeline = await readPipeline(modelDir);
  if (pipeline.classNames.length !== classes)
    throw new DataError(`${modelDir}: ${pipeline.classNames.length} classes, the ensemble has ${classes}`);
  const { data } = applyFeatureSteps(pipeline.steps, dataset.data, dataset.numFeatures);
  await initBackend();
  const tf = await import('@tensorflow/tfjs-core');
  const { model } = await loadModel(modelDir);
  try {
    return tf.tidy(() => {
      const x = tf.tensor(data, [dataset.labels.length, ...pipeline.inputShape]);
      return (model.predict(x) as import('@tensorflow/tfjs-core').Tensor).dataSync() as Float32Array;
    });
  } finally {
    model.dispose();
  }
}

async function savedSingleModelAccuracy(modelDir: string, dataset: Dataset): Promise<number> {
  const pipeline = await readPipeline(modelDir);
  const { data } = applyFeatureSteps(pipeline.steps, dataset.data, dataset.numFeatures);
  await initBackend();
  const { model } = await loadModel(modelDir);
  try {
    const { evaluate } = await import('../train/trainer.js');
    const result = await evaluate(model, {
      x: data,
      labels: dataset.labels,
      shape: pipeline.inputShape,
      numClasses: pipeline.classNames.length,
    });
    return result.accuracy;
  } finally {
    model.dispose();
  }
}
