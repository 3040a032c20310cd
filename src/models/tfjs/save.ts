/**
 * Saving and loading trained models on the local file system without tfjs-node: the directory
 * holds `model.json` (TensorFlow.js's layers format, loadable by tf.loadLayersModel elsewhere),
 * `weights.bin`, and `parsimony-model.json` (the spec the model was built from).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { FileNotFoundError, ModelSpecError } from '../../core/errors.js';
import type { ModelSpec } from '../spec/types.js';
import { parseModelSpec } from '../spec/validate.js';
import { customLayers } from './custom-layers.js';

export const MODEL_FILES = {
  topology: 'model.json',
  weights: 'weights.bin',
  spec: 'parsimony-model.json',
} as const;

/** Writes each file under a temporary name first, so an interrupted save never leaves a half file. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

export async function saveModel(
  model: TfLayers.LayersModel,
  spec: ModelSpec | null,
  dir: string,
): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const buffers =
        artifacts.weightData === undefined
          ? []
          : Array.isArray(artifacts.weightData)
            ? artifacts.weightData
            : [artifacts.weightData];
      const weights = Buffer.concat(buffers.map((b) => Buffer.from(b)));
      await writeAtomic(path.join(dir, MODEL_FILES.weights), weights);
      const json = {
        format: 'layers-model',
        generatedBy: 'parsimony',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${MODEL_FILES.weights}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeAtomic(path.join(dir, MODEL_FILES.topology), JSON.stringify(json));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    }),
  );
  if (spec) await writeAtomic(path.join(dir, MODEL_FILES.spec), `${JSON.stringify(spec, null, 2)}\n`);
}

export interface LoadedModel {
  model: TfLayers.LayersModel;
  /** The spec saved with the model, when there is one. */
  spec: ModelSpec | null;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const tf = await import('@tensorflow/tfjs-core');
  const tfl = await import('@tensorflow/tfjs-layers');
  customLayers(tf, tfl); // registered before deserialising, in case the model uses them
  const read = async (name: string) => {
    try {
      return await readFile(path.join(dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FileNotFoundError(path.join(dir, name), 'model file', { cause: error });
      throw error;
    }
  };
  const topologyPath = path.join(dir, MODEL_FILES.topology);
  let json: { modelTopology?: object; weightsManifest?: { weights: TfCore.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse((await read(MODEL_FILES.topology)).toString('utf8'));
  } catch (error) {
    if (error instanceof FileNotFoundError) throw error;
    throw new ModelSpecError(`${topologyPath}: not valid JSON`, { cause: error });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new ModelSpecError(
      `${topologyPath}: not a TensorFlow.js layers model (no modelTopology or weightsManifest)`,
    );
  const weights = await read(MODEL_FILES.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData,
    }),
  );
  let spec: ModelSpec | null = null;
  try {
    const text = await readFile(path.join(dir, MODEL_FILES.spec), 'utf8');
    spec = parseModelSpec(text, path.join(dir, MODEL_FILES.spec));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { model, spec };
}
