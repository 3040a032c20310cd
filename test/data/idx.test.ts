import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdxFile } from '../../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-idx-'));

describe('IDX files', () => {
  const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);
  const bytes = encodeIdx([3, 4, 5], pixels);

  it('round-trips plain and gzipped files', () => {
    for (const [name, content] of [
      ['plain-idx3-ubyte', bytes],
      ['zipped-idx3-ubyte.gz', gzipSync(bytes)],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, content);
      const idx = readIdxFile(path);
      assert.deepEqual(idx.dims, [3, 4, 5]);
      assert.deepEqual([...idx.data], [...pixels]);
    }
  });

  it('reports a truncated file by name', () => {
    const path = join(dir, 'short-idx3-ubyte');
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    assert.throws(
      () => readIdxFile(path),
      (e: Error & { code?: string }) =>
        e.code === 'INVALID_DATA' && e.message.includes(path) && /truncated/.test(e.message),
    );
    const gz = join(dir, 'short.gz');
    writeFileSync(gz, gzipSync(bytes).subarray(0, 40));
    assert.throws(
      () => readIdxFile(gz),
      (e: Error) => e.message.includes(gz) && /truncated/.test(e.message),
    );
  });

  it('rejects a file that is not IDX', () => {
    const path = join(dir, 'text.idx');
    writeFileSync(path, 'hello world');
    assert.throws(() => readIdxFile(path), /not an IDX file/);
  });
});
