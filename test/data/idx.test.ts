import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, idxToFloat32, parseIdx, readIdxFile, readIdxFileAsync } from '../../src/data/idx.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('idx');
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function assertDataError(fn: () => unknown, ...parts: string[]) {
  assert.throws(fn, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'INVALID_DATA', error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    return true;
  });
}

describe('IDX files', () => {
  const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
  const bytes = encodeIdx([3, 4, 5], pixels);

  it('writes the header the format prescribes', () => {
    assert.deepEqual([...bytes.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]);
    assert.equal(bytes.length, 16 + 60);
  });

  it('round-trips plain and gzipped files, whatever their names', async () => {
    for (const [name, content] of [
      ['plain-idx3-ubyte', bytes],
      ['zipped-idx3-ubyte.gz', gzipSync(bytes)],
      ['zipped-without-suffix', gzipSync(bytes)],
      ['plain-with-suffix.gz', bytes],
    ] as const) {
      const path = file(name, content);
      for (const idx of [readIdxFile(path), await readIdxFileAsync(path)]) {
        assert.deepEqual(idx.dims, [3, 4, 5], name);
        assert.equal(idx.dtype, 'uint8');
        assert.deepEqual([...idx.data], [...pixels], name);
      }
    }
    assert.deepEqual([...idxToFloat32(parseIdx(bytes))], [...pixels]);
    assert.ok(idxToFloat32(parseIdx(bytes)) instanceof Float32Array);
  });

  it('round-trips every data type, big-endian', () => {
    const arrays = [
      Int8Array.from([-128, -1, 0, 127]),
      Int16Array.from([-32768, -2, 300, 32767]),
      Int32Array.from([-(2 ** 31), -5, 70000, 2 ** 31 - 1]),
      Float32Array.from([-1.5, 0, 3.25, 1e-3]),
      Float64Array.from([-1e300, Math.PI, 0, 2 ** -40]),
    ];
    for (const data of arrays) {
      const encoded = encodeIdx([2, 2], data);
      const decoded = parseIdx(gzipSync(encoded), 'mem');
      assert.deepEqual(decoded.dims, [2, 2]);
      assert.equal(decoded.data.constructor, data.constructor);
      assert.deepEqual([...decoded.data], [...data]);
    }
    // Big-endian on disk: int16 300 is 0x01 0x2c.
    const i16 = encodeIdx([1], Int16Array.from([300]));
    assert.deepEqual([...i16.subarray(8)], [0x01, 0x2c]);
  });

  it('reports a truncated file by name, plain or gzipped', () => {
    const short = file('short-idx3-ubyte', bytes.subarray(0, bytes.length - 10));
    assertDataError(() => readIdxFile(short), short, 'truncated', 'need 76 bytes, file has 66');
    const shortHeader = file('short-header', bytes.subarray(0, 10));
    assertDataError(() => readIdxFile(shortHeader), shortHeader, 'truncated');
    const gz = file('short.gz', gzipSync(bytes).subarray(0, 30));
    assertDataError(() => readIdxFile(gz), gz, 'truncated');
    const padded = file('padded', Buffer.concat([bytes, Buffer.from([1, 2])]));
    assertDataError(() => readIdxFile(padded), padded, 'trailing bytes');
  });

  it('reports a truncated file from the asynchronous reader too', async () => {
    const short = file('short-async', gzipSync(bytes.subarray(0, 50)));
    await assert.rejects(
      readIdxFileAsync(short),
      (e: Error) => e.message.includes(short) && /truncated/.test(e.message),
    );
  });

  it('rejects a bad magic number and an unknown type', () => {
    assertDataError(() => readIdxFile(file('text.idx', 'hello world')), 'text.idx', 'not an IDX file');
    const badType = Uint8Array.from(bytes);
    badType[2] = 0x07;
    assertDataError(() => parseIdx(badType, 'badtype'), 'badtype', 'unknown IDX data type 0x07');
  });

  it('reports a missing file as FILE_NOT_FOUND', () => {
    assert.throws(
      () => readIdxFile(join(dir, 'nope')),
      (e: Error & { code?: string }) => e.code === 'FILE_NOT_FOUND' && e.message.includes('nope'),
    );
  });
});
