import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadCsv, parseCsv } from '../../src/data/csv.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('csv');
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Asserts that `fn` throws an INVALID_DATA error whose message contains every part. */
function assertDataError(fn: () => unknown, ...parts: string[]) {
  assert.throws(fn, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'INVALID_DATA', error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    return true;
  });
}

describe('loadCsv', () => {
  it('reads a file with a header and a categorical target given by name', () => {
    const path = file(
      'flowers.csv',
      'length,species,width\n1.5,setosa,0.2\n4.7,versicolor,1.4\n1.3,setosa,0.3\n',
    );
    const d = loadCsv(path, { target: 'species' });
    assert.equal(d.name, 'flowers');
    assert.equal(d.numSamples, 3);
    assert.equal(d.numFeatures, 2);
    assert.deepEqual(d.featureShape, [2]);
    assert.deepEqual(d.classNames, ['setosa', 'versicolor']);
    assert.deepEqual([...d.labels], [0, 1, 0]);
    assert.deepEqual([...d.features[1]], [Math.fround(4.7), Math.fround(1.4)]);
    assert.equal(d.provenance.location, resolve(path));
    assert.match(d.provenance.source, /flowers\.csv/);
  });

  it('reads a file without a header, target by index, integer classes in numeric order', () => {
    const path = file('plain.csv', '10,1,0.5\n2,0,0.25\n3,10,1\n');
    const d = loadCsv(path, { target: 1 });
    assert.deepEqual(d.classNames, ['0', '1', '10']);
    assert.deepEqual([...d.labels], [1, 0, 2]);
    assert.deepEqual([...d.data], [10, 0.5, 2, 0.25, 3, 1]);
    // A negative index counts from the end; an index given as a string works too (command lines).
    assert.deepEqual([...loadCsv(path, { target: -2 }).labels], [1, 0, 2]);
    assert.deepEqual([...loadCsv(path, { target: '1' }).labels], [1, 0, 2]);
  });

  it('uses the last column as target by default and detects the header', () => {
    const d = parseCsv('a,b,y\n1,2,yes\n3,4,no\n5,6,yes\n');
    assert.deepEqual(d.classNames, ['no', 'yes']);
    assert.deepEqual([...d.labels], [1, 0, 1]);
    assert.equal(d.numFeatures, 2);
  });

  it('does not mistake a first row with a text class for a header', () => {
    const d = parseCsv('1.5,2.0,setosa\n4.7,1.4,versicolor\n');
    assert.equal(d.numSamples, 2);
    assert.deepEqual(d.classNames, ['setosa', 'versicolor']);
  });

  it('honours header: true and header: false', () => {
    const numericHeader = '0,1,2\n5,6,1\n7,8,0\n';
    assert.equal(parseCsv(numericHeader, { header: true }).numSamples, 2);
    assert.equal(parseCsv(numericHeader, { header: false }).numSamples, 3);
    assert.equal(parseCsv(numericHeader).numSamples, 3, 'an all-number first row is data');
  });

  it('maps categorical classes sorted by default, or in order of first appearance', () => {
    const text = 'x,y\n1,dog\n2,cat\n3,emu\n4,cat\n';
    const sorted = parseCsv(text);
    assert.deepEqual(sorted.classNames, ['cat', 'dog', 'emu']);
    assert.deepEqual([...sorted.labels], [1, 0, 2, 0]);
    const firstSeen = parseCsv(text, { classOrder: 'first-seen' });
    assert.deepEqual(firstSeen.classNames, ['dog', 'cat', 'emu']);
    assert.deepEqual([...firstSeen.labels], [0, 1, 2, 1]);
  });

  it('treats integer-valued numbers as the same class and rejects fractional targets', () => {
    const d = parseCsv('x,y\n1,1.0\n2,1\n3,-2\n');
    assert.deepEqual(d.classNames, ['-2', '1']);
    assert.deepEqual([...d.labels], [1, 1, 0]);
    assertDataError(
      () => parseCsv('x,y\n1,0\n2,0.37\n', {}, 'reg.csv'),
      'reg.csv',
      'line 3',
      'column 2 "y" (index 1)',
      '0.37',
    );
  });

  it('names the file, line and column (name and index) of a non-numeric cell', () => {
    const path = file('bad.csv', 'a,b,y\n1,2,0\n\n3,oops,1\n');
    // Line 4 of the file: the blank line 3 still counts.
    assertDataError(() => loadCsv(path), path, 'line 4', 'column 2 "b" (index 1)', '"oops" is not a number');
    const noHeader = file('bad-plain.csv', '1,2,0\n3,4,1\n5,6,1\n7,8,0\n9,x,1\n');
    assertDataError(() => loadCsv(noHeader), noHeader, 'line 5', 'column 2 (index 1)', '"x" is not a number');
  });

  it('names the line of a ragged row, an empty cell and an empty target', () => {
    assertDataError(() => parseCsv('1,2,0\n3,1\n', {}, 'x.csv'), 'x.csv', 'line 2 has 2 fields, expected 3');
    assertDataError(() => parseCsv('1,2,0\n3,4,1,5\n', {}, 'x.csv'), 'line 2 has 4 fields, expected 3');
    assertDataError(() => parseCsv('1,2,0\n3,,1\n', {}, 'x.csv'), 'line 2, column 2 (index 1): empty cell');
    assertDataError(
      () => parseCsv('1,2,0\n3,4, \n', {}, 'x.csv'),
      'line 2, target column 3 (index 2): empty target',
    );
  });

  it('rejects an empty file, a header without rows and a missing file', () => {
    assertDataError(() => loadCsv(file('empty.csv', '')), 'empty.csv', 'empty');
    assertDataError(() => parseCsv('\n \n', {}, 'blank.csv'), 'blank.csv: the file is empty');
    assertDataError(() => parseCsv('a,b\n', { header: true }, 'h.csv'), 'h.csv', 'no data rows');
    assert.throws(
      () => loadCsv(join(dir, 'missing.csv')),
      (e: Error & { code?: string }) => e.code === 'FILE_NOT_FOUND' && e.message.includes('missing.csv'),
    );
  });

  it('rejects unknown target columns, naming the columns', () => {
    assert.throws(() => parseCsv('a,y\n1,0\n', { target: 'z' }), /no column named "z" \(columns: a, y\)/);
    assert.throws(() => parseCsv('1,0\n', { target: 'z' }), /given by name, but the file has no header/);
    assert.throws(() => parseCsv('1,0\n', { target: 2 }), /index 2 is outside 0\.\.1/);
  });

  it('honours quoted fields, embedded line breaks, CRLF, a BOM, tabs and gzip', () => {
    const d = parseCsv('\uFEFF"x","label"\r\n1,"a, b"\r\n2,"c ""q"""\r\n3,"two\nlines"\r\n4,oops\n', {
      target: 'label',
    });
    assert.deepEqual(d.classNames, ['a, b', 'c "q"', 'oops', 'two\nlines']);
    // Line numbers count the physical lines, including those inside quotes.
    assertDataError(
      () => parseCsv('x,y\n1,"a\nb"\nz,c\n', { header: true }, 'q.csv'),
      'line 4',
      '"z" is not a number',
    );
    assertDataError(() => parseCsv('x,y\n1,"open\n', {}, 'q.csv'), 'line 2', 'never closed');
    // A record is named by the line it starts on, also when a quoted field spans several lines.
    assertDataError(
      () => parseCsv('x,y\n1,0\n"2\n3",0\n', { header: true }, 'm.csv'),
      'line 3',
      'is not a number',
    );
    const tsv = loadCsv(file('tabs.tsv', 'a\tb\ty\n1\t2\tn\n3\t4\tp\n'));
    assert.deepEqual([...tsv.data], [1, 2, 3, 4]);
    const semi = parseCsv('a;b\n1.5;x\n', { delimiter: ';', header: true });
    assert.equal(semi.numFeatures, 1);
    const zipped = loadCsv(file('zipped.csv.gz', gzipSync('a,y\n1,0\n2,1\n')));
    assert.equal(zipped.name, 'zipped');
    assert.deepEqual([...zipped.labels], [0, 1]);
  });

  it('accepts decimal and exponent notation but not hex or infinities', () => {
    const d = parseCsv('x,y\n-1.5e2,0\n+.25,1\n3.,0\n', { header: true });
    assert.deepEqual([...d.data], [-150, 0.25, 3]);
    assertDataError(() => parseCsv('x,y\n0x10,0\n', { header: true }), '"0x10" is not a number');
    assertDataError(() => parseCsv('x,y\nInfinity,0\n', { header: true }), '"Infinity" is not a number');
  });
});
