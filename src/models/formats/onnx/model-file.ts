/**
 * Reading and writing ONNX model files: the protobuf decoded, external data files (named by
 * `location` relative to the model's directory) read into the initializers, and a model written
 * back with every tensor inline.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileNotFoundError, OnnxError } from '../../../core/errors.js';
import { int64, type ModelProto, modelProtoType, type TensorProto } from './proto.js';

export interface OnnxModelFile {
  file: string;
  proto: ModelProto;
}

/** Decodes an ONNX file; any failure names the file. */
export function readOnnxFile(file: string): OnnxModelFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'ONNX model', { cause: error });
    throw new OnnxError(`${file}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  let proto: ModelProto;
  try {
    proto = modelProtoType().decode(bytes) as unknown as ModelProto;
  } catch (error) {
    throw new OnnxError(
      `${file}: not a readable ONNX model: truncated or not protobuf (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  // Protobuf decodes many non-ONNX byte strings without complaint: an ONNX model has a graph and an IR version.
  if (!proto.graph || int64(proto.irVersion) <= 0)
    throw new OnnxError(`${file}: not an ONNX model (no graph or IR version)`);
  for (const tensor of proto.graph.initializer) loadExternalData(tensor, file);
  return { file, proto };
}

const EXTERNAL = 1;

/** Reads an initializer's values from its external file into `rawData`. */
function loadExternalData(tensor: TensorProto, modelFile: string): void {
  if (tensor.dataLocation !== EXTERNAL) return;
  const entries = new Map(tensor.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (!location)
    throw new OnnxError(`${modelFile}: initializer '${tensor.name}' is external but names no location`);
  const dataFile = path.resolve(path.dirname(modelFile), location);
  const offset = Number(entries.get('offset') ?? 0);
  let size: number;
  try {
    size = entries.has('length') ? Number(entries.get('length')) : statSync(dataFile).size - offset;
  } catch (error) {
    throw new OnnxError(
      `${modelFile}: external data file ${location} of initializer '${tensor.name}' not found`,
      { cause: error },
    );
  }
  let data: Buffer;
  try {
    data = readFileSync(dataFile);
  } catch (error) {
    throw new OnnxError(
      `${modelFile}: external data file ${location} of initializer '${tensor.name}' not found`,
      { cause: error },
    );
  }
  if (offset + size > data.length)
    throw new OnnxError(
      `${modelFile}: external data file ${location} is ${data.length} bytes, initializer '${tensor.name}' needs bytes ${offset} to ${offset + size}`,
    );
  tensor.rawData = data.subarray(offset, offset + size);
  tensor.externalData = [];
  tensor.dataLocation = 0;
}

/** Writes a model (every tensor inline) to `file`. */
export function writeOnnxFile(proto: ModelProto, file: string): void {
  const type = modelProtoType();
  const message = type.fromObject(proto as unknown as Record<string, unknown>);
  writeFileSync(file, type.encode(message).finish());
}
