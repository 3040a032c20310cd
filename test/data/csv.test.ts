import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCsv, parseCsv } from '../../src/data/csv.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-csv-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadCsv', () => {
  it('reads a file with a header and a categorical target by name', () => {
    const path = file(
      'flowers.csv',
      'length,species,width\n1.5,setosa,0.2\n4.7,versicolor,1.4\n1.3,setosa,0.3\n',
    );
    const d = loadCsv(path, { target: 'species' });
    assert.equal(d.numSamples, 3);
    assert.equal(d.numFeatures, 2);
    assert.deepEqual(d.classNames, ['setosa', 'versicolor']);
    assert.deepEqual([...d.labels], [0, 1, 0]);
    assert.deepEqual(
      [...d.features[1]].map((v) => Math.round(v * 10) / 10),
      [4.7, 1.4],
    );
  });

  it('reads a file without a header, target by index, integer classes in numeric order', () => {
    const d = parseCsv('10,1,0.5\n2,0,0.25\n3,10,1\n', { target: 1 });
    assert.deepEqual(d.classNames, ['0', '1', '10']);
    assert.deepEqual([...d.labels], [1, 0, 2]);
    assert.deepEqual([...d.data], [10, 0.5, 2, 0.25, 3, 1]);
  });

  it('defaults to the last column as target and detects the header', () => {
    const d = parseCsv('a,b,y\n1,2,yes\n3,4,no\n');
    assert.deepEqual(d.classNames, ['no', 'yes']);
    assert.equal(d.numFeatures, 2);
  });

  it('names the line and column of a non-numeric cell', () => {
    const path = file('bad.csv', 'a,b,y\n1,2,0\n3,oops,1\n');
    assert.throws(
      () => loadCsv(path),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'INVALID_DATA');
        assert.match(error.message, /bad\.csv: line 3, column 2 \("b"\): "oops" is not a number/);
        return true;
      },
    );
  });

  it('names the line of a ragged row and of an empty cell', () => {
    assert.throws(() => parseCsv('1,2,0\n3,1\n', {}, 'x.csv'), /x\.csv: line 2 has 2 columns, expected 3/);
    assert.throws(() => parseCsv('1,2,0\n3,,1\n', {}, 'x.csv'), /line 2, column 2 .*empty cell/);
  });

  it('rejects an unknown target name, a missing file and an empty file', () => {
    assert.throws(() => parseCsv('a,y\n1,0\n', { target: 'z' }), /no column named "z"/);
    assert.throws(() => loadCsv(join(dir, 'missing.csv')), /CSV file not found: .*missing\.csv/);
    assert.throws(() => parseCsv('\n\n', {}, 'empty.csv'), /empty\.csv: the file has no rows/);
  });

  it('honours quoted fields', () => {
    const d = parseCsv('"x","label"\n1,"a, b"\n2,"c ""q"""\n');
    assert.deepEqual(d.classNames, ['a, b', 'c "q"']);
  });
});
