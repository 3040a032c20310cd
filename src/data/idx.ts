/**
 * IDX files (the MNIST family's format), gzipped or not. The header is checked against the file
 * length, so a truncated or padded file is an error naming the file, not a silent short read.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError, FileNotFoundError } from '../core/errors.js';

export interface IdxArray {
  dims: number[];
  /** Values as stored; only unsigned bytes are widened elsewhere. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { size: number; name: string }> = {
  8: { size: 1, name: 'uint8' },
  9: { size: 1, name: 'int8' },
  11: { size: 2, name: 'int16' },
  12: { size: 4, name: 'int32' },
  13: { size: 4, name: 'float32' },
  14: { size: 8, name: 'float64' },
};

export function readIdxFile(path: string): IdxArray {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(path, 'IDX file');
    throw new DataError(`${path}: cannot read (${(error as Error).message})`, { cause: error });
  }
  return parseIdx(raw, path);
}

export function parseIdx(raw: Uint8Array, source: string): IdxArray {
  let bytes: Uint8Array = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (error) {
      throw new DataError(`${source}: corrupt or truncated gzip data (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  if (bytes.length < 4) throw new DataError(`${source}: too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(`${source}: not an IDX file (bad magic number)`);
  const type = TYPES[bytes[2]];
  if (!type) throw new DataError(`${source}: unknown IDX data type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerBytes)
    throw new DataError(`${source}: truncated IDX header (rank ${rank}, ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.size;
  if (bytes.length !== expected)
    throw new DataError(
      `${source}: ${bytes.length < expected ? 'truncated' : 'has trailing bytes'}: header [${dims.join(
        ' x ',
      )}] ${type.name} needs ${expected} bytes, file has ${bytes.length}`,
    );
  const body = bytes.subarray(headerBytes);
  switch (type.name) {
    case 'uint8':
      return { dims, data: Uint8Array.from(body) };
    case 'int8':
      return { dims, data: new Int8Array(Uint8Array.from(body).buffer) };
    default: {
      // Multi-byte values are big-endian on disk.
      const out =
        type.name === 'int16'
          ? new Int16Array(count)
          : type.name === 'int32'
            ? new Int32Array(count)
            : type.name === 'float32'
              ? new Float32Array(count)
              : new Float64Array(count);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < count; i++) {
        const o = i * type.size;
        out[i] =
          type.name === 'int16'
            ? dv.getInt16(o, false)
            : type.name === 'int32'
              ? dv.getInt32(o, false)
              : type.name === 'float32'
                ? dv.getFloat32(o, false)
                : dv.getFloat64(o, false);
      }
      return { dims, data: out };
    }
  }
}

/** Writes an IDX file (for tests and for exporting data in the format). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
