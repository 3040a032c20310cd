/**
 * IDX files, the format of MNIST and Fashion-MNIST, gzipped or not (gzip is recognised by its
 * magic bytes, not by the file name).
 *
 * Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D
 * float32, 0x0E float64), a rank byte, then one big-endian uint32 per dimension, then the values
 * row-major and big-endian. The header is checked against the length of the data, so a truncated
 * or padded file is an error naming the file, never a silent short read.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { DataError, FileNotFoundError, InvalidArgumentError } from '../core/errors.js';

const gunzipAsync = promisify(gunzip);

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dims: number[];
  dtype: IdxDType;
  /** The values row-major, in the type stored (uint8 data is a view, not a copy, of the file bytes). */
  data: IdxData;
}

const TYPE_CODES: Record<number, { dtype: IdxDType; size: number }> = {
  8: { dtype: 'uint8', size: 1 },
  9: { dtype: 'int8', size: 1 },
  11: { dtype: 'int16', size: 2 },
  12: { dtype: 'int32', size: 4 },
  13: { dtype: 'float32', size: 4 },
  14: { dtype: 'float64', size: 8 },
};

const CODE_OF: Record<IdxDType, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads and validates an IDX file, gzipped or not. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(gunzipIfNeeded(readBytes(path, readFileSync), path), path);
}

/**
 * The same as `readIdxFile`, but reads and decompresses off the main thread, so several files
 * (Fashion-MNIST's images and labels) load in parallel.
 */
export async function readIdxFileAsync(path: string): Promise<IdxArray> {
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
  let bytes = raw;
  if (isGzip(raw)) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (error) {
      throw gzipError(path, error);
    }
  }
  return parseIdx(bytes, path);
}

/**
 * Parses IDX bytes (already decompressed, or gzipped: both are accepted). `source` names the
 * file in error messages.
 */
export function parseIdx(input: Uint8Array, source = 'IDX data'): IdxArray {
  const bytes = gunzipIfNeeded(input, source);
  if (bytes.length < 4)
    throw new DataError(`${source}: truncated IDX file: ${bytes.length} bytes, too short for a header`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new DataError(
      `${source}: not an IDX file (magic number starts 0x${hex(bytes[0])}${hex(bytes[1])}, expected 0x0000)`,
    );
  const type = TYPE_CODES[bytes[2]];
  if (!type) throw new DataError(`${source}: unknown IDX data type 0x${hex(bytes[2])}`);
  const rank = bytes[3];
  if (rank === 0) throw new DataError(`${source}: IDX file of rank 0 (no dimensions)`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw new DataError(
      `${source}: truncated IDX file: header of rank ${rank} needs ${headerBytes} bytes, file has ${bytes.length}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.size;
  if (bytes.length !== expected)
    throw new DataError(
      `${source}: ${bytes.length < expected ? 'truncated IDX file' : 'IDX file has trailing bytes'}: ` +
        `dimensions ${dims.join(' x ')} of ${type.dtype} need ${expected} bytes, file has ${bytes.length}`,
    );
  return { dims, dtype: type.dtype, data: decode(bytes, headerBytes, count, type.dtype) };
}

/** The values of an IDX array as float32 in one new contiguous array. */
export function idxToFloat32(idx: IdxArray): Float32Array {
  if (idx.data instanceof Float32Array) return idx.data.slice();
  const out = new Float32Array(idx.data.length);
  out.set(idx.data);
  return out;
}

/**
 * Encodes values as an IDX file (uncompressed; gzip the result to get a .gz file). The type is
 * taken from the array: Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array, Float64Array.
 */
export function encodeIdx(dims: readonly number[], data: IdxData): Uint8Array {
  if (dims.length === 0 || dims.length > 255)
    throw new InvalidArgumentError(`encodeIdx: rank must be 1..255, got ${dims.length}`);
  for (const d of dims)
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff)
      throw new InvalidArgumentError(`encodeIdx: dimension ${d} is not a 32-bit unsigned integer`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new InvalidArgumentError(
      `encodeIdx: dimensions ${dims.join(' x ')} hold ${count} values, got ${data.length}`,
    );
  const dtype = dtypeOf(data);
  const size = data.BYTES_PER_ELEMENT;
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + count * size);
  const view = new DataView(out.buffer);
  out[2] = CODE_OF[dtype];
  out[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  switch (dtype) {
    case 'uint8':
      out.set(data as Uint8Array, headerBytes);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) view.setInt8(headerBytes + i, data[i]);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) view.setInt16(headerBytes + 2 * i, data[i], false);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) view.setInt32(headerBytes + 4 * i, data[i], false);
      break;
    case 'float32':
      for (let i = 0; i < count; i++) view.setFloat32(headerBytes + 4 * i, data[i], false);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) view.setFloat64(headerBytes + 8 * i, data[i], false);
      break;
  }
  return out;
}

function decode(bytes: Uint8Array, offset: number, count: number, dtype: IdxDType): IdxData {
  const body = bytes.subarray(offset);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (dtype) {
    case 'uint8':
      return body;
    case 'int8':
      return new Int8Array(body.buffer, body.byteOffset, count);
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

function dtypeOf(data: IdxData): IdxDType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  throw new InvalidArgumentError('encodeIdx: unsupported array type');
}

function gunzipIfNeeded(bytes: Uint8Array, source: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw gzipError(source, error);
  }
}

function readBytes(path: string, read: (path: string) => Uint8Array): Uint8Array {
  try {
    return read(path);
  } catch (error) {
    throw fileError(path, error);
  }
}

function fileError(path: string, error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new FileNotFoundError(path, 'IDX file');
  return new DataError(`${path}: cannot read (${(error as Error).message})`, { cause: error });
}

function gzipError(source: string, error: unknown): Error {
  return new DataError(`${source}: truncated or corrupt gzip data (${(error as Error).message})`, {
    cause: error,
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
