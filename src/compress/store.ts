/**
 * The output directory of a compression: the model as a Parsimony model directory (model.json,
 * weights.bin, parsimony-model.json with compression fields), the masks (masks.json + masks.bin,
 * one bit per weight), any files the steps asked for, and report.json.
 *
 * Written atomically: everything goes to a temporary sibling directory, the model is loaded back
 * from there and measured (so reported accuracy is the stored model's), report.json is added,
 * and only then the directory takes the final name. A failure anywhere leaves nothing behind.
 */
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileNotFoundError, InvalidArgumentError } from '../core/errors.js';
import { loadModelWeights, type ModelWeights, saveModelWeights, type WeightMasks } from './model-weights.js';
import type { CompressionReport } from './report.js';

export const COMPRESSED_FILES = {
  masks: 'masks.json',
  maskBits: 'masks.bin',
  report: 'report.json',
} as const;

interface MaskEntry {
  layer: string;
  tensor: string;
  length: number;
  /** Bit offset into masks.bin. */
  offset: number;
}

function encodeMasks(masks: WeightMasks): { manifest: object; bits: Uint8Array } {
  const entries: MaskEntry[] = [];
  let total = 0;
  for (const [layer, tensors] of Object.entries(masks))
    for (const [tensor, mask] of Object.entries(tensors)) {
      entries.push({ layer, tensor, length: mask.length, offset: total });
      total += mask.length;
    }
  const bits = new Uint8Array(Math.ceil(total / 8));
  for (const entry of entries) {
    const mask = masks[entry.layer][entry.tensor];
    for (let i = 0; i < mask.length; i++)
      if (mask[i]) bits[(entry.offset + i) >> 3] |= 1 << ((entry.offset + i) & 7);
  }
  return { manifest: { format: 'parsimony-masks', version: 1, masks: entries }, bits };
}

function decodeMasks(manifest: { masks: MaskEntry[] }, bits: Uint8Array): WeightMasks {
  const masks: WeightMasks = {};
  for (const entry of manifest.masks) {
    const mask = new Uint8Array(entry.length);
    for (let i = 0; i < entry.length; i++)
      mask[i] = (bits[(entry.offset + i) >> 3] >> ((entry.offset + i) & 7)) & 1;
    masks[entry.layer] ??= {};
    masks[entry.layer][entry.tensor] = mask;
  }
  return masks;
}

/**
 * Checks before any work that `dir` can be written: it must not exist, be empty, or hold an earlier
 * compression result (report.json), which is replaced.
 */
export async function checkOutputDir(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new InvalidArgumentError(`--out ${dir}: is a file, not a directory`);
    throw error;
  }
  if (names.length > 0 && !names.includes(COMPRESSED_FILES.report))
    throw new InvalidArgumentError(
      `--out ${dir}: directory is not empty and holds no earlier compression result (report.json)`,
    );
}

export interface StoredModel {
  weights: ModelWeights;
  masks: WeightMasks;
}

export interface WriteCompressedOptions {
  weights: ModelWeights;
  masks: WeightMasks;
  files?: Record<string, Uint8Array | string>;
  /**
   * Completes the report from the model as loaded back from the temporary directory (measure its
   * accuracy there); its return value is written as report.json.
   */
  finishReport: (stored: StoredModel) => Promise<CompressionReport>;
}

export async function writeCompressedModel(
  dir: string,
  options: WriteCompressedOptions,
): Promise<CompressionReport> {
  await checkOutputDir(dir);
  await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  const temporary = temporaryBeside(dir);
  try {
    await mkdir(temporary);
    await writeModelFiles(temporary, options.weights, options.masks, options.files);
    const report = await options.finishReport(await readCompressedModel(temporary));
    await writeFile(path.join(temporary, COMPRESSED_FILES.report), `${JSON.stringify(report, null, 2)}\n`);
    await moveInto(temporary, dir);
    return report;
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

async function writeModelFiles(
  dir: string,
  weights: ModelWeights,
  masks: WeightMasks,
  files: Record<string, Uint8Array | string> = {},
): Promise<void> {
  await saveModelWeights(weights, dir);
  const { manifest, bits } = encodeMasks(masks);
  await writeFile(path.join(dir, COMPRESSED_FILES.masks), `${JSON.stringify(manifest)}\n`);
  await writeFile(path.join(dir, COMPRESSED_FILES.maskBits), bits);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
}

/** Gives the finished temporary directory the final name, replacing an earlier result only now. */
async function moveInto(temporary: string, dir: string): Promise<void> {
  const exists = await access(dir).then(
    () => true,
    () => false,
  );
  if (exists) {
    const old = `${temporary}-old`;
    await rename(dir, old);
    await rename(temporary, dir);
    await rm(old, { recursive: true, force: true });
  } else await rename(temporary, dir);
}

function temporaryBeside(dir: string): string {
  const parent = path.dirname(path.resolve(dir));
  return path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${Date.now()}`);
}

/**
 * A sparsity search's output: report.json (the front) and one compressed model directory per
 * front trial (`trial-<n>/`), written atomically like a single result.
 */
export async function writeSearchResult(
  dir: string,
  result: { front: object; models: ReadonlyMap<number, { weights: ModelWeights; masks: WeightMasks }> },
): Promise<void> {
  await checkOutputDir(dir);
  await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  const temporary = temporaryBeside(dir);
  try {
    await mkdir(temporary);
    for (const [trial, model] of result.models) {
      const sub = path.join(temporary, `trial-${trial}`);
      await mkdir(sub);
      await writeModelFiles(sub, model.weights, model.masks);
    }
    await writeFile(
      path.join(temporary, COMPRESSED_FILES.report),
      `${JSON.stringify(result.front, null, 2)}\n`,
    );
    await moveInto(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Loads a compressed model directory (weights with their spec, and masks when present). */
export async function readCompressedModel(dir: string): Promise<StoredModel> {
  const weights = await loadModelWeights(dir);
  let masks: WeightMasks = {};
  try {
    const manifest = JSON.parse(await readFile(path.join(dir, COMPRESSED_FILES.masks), 'utf8'));
    const bits = new Uint8Array(await readFile(path.join(dir, COMPRESSED_FILES.maskBits)));
    masks = decodeMasks(manifest, bits);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { weights, masks };
}

export async function readReport(dir: string): Promise<CompressionReport> {
  try {
    return JSON.parse(await readFile(path.join(dir, COMPRESSED_FILES.report), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(path.join(dir, COMPRESSED_FILES.report), 'compression report', {
        cause: error,
      });
    throw error;
  }
}
