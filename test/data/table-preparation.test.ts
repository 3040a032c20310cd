import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DataError, FileNotFoundError } from '../../src/core/errors.js';
import { loadCsv, loadCsvTable, parseCsvTable } from '../../src/data/csv.js';
import {
  applyTablePreparation,
  fitTablePreparation,
  parsePreparation,
  prepareTableSplits,
  readPreparation,
  writePreparation,
} from '../../src/data/table-preparation.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURE = new URL('../fixtures/csv/mixed.csv', import.meta.url).pathname;
const HEADER = 'age,color,city,income,bought';

function row(dataset: { data: Float32Array; numFeatures: number }, r: number): number[] {
  return Array.from(dataset.data.subarray(r * dataset.numFeatures, (r + 1) * dataset.numFeatures));
}

describe('table preparation', () => {
  it('keeps the strict loader and its row-and-column errors for tables that are not all numbers', () => {
    assert.throws(
      () => loadCsv(FIXTURE),
      (e: Error) =>
        e instanceof DataError &&
        e.message === `${FIXTURE}: line 2, column 2 "color" (index 1): "red" is not a number`,
      'strict loading still names line and column',
    );
  });

  it('one-hot codes few levels, ordinal codes many, imputes missing cells and adds indicator columns', () => {
    const table = loadCsvTable(FIXTURE);
    assert.deepEqual(table.classNames, ['no', 'yes'], 'target classes');
    const prep = fitTablePreparation(table);
    assert.deepEqual(
      prep.outputNames,
      [
        'age',
        'age_missing',
        'color=blue',
        'color=green',
        'color=red',
        'color_missing',
        'city',
        'income',
        'income_missing',
      ],
      'output columns',
    );
    const [age, color, city, income] = prep.columns;
    // Ages present: 23 26 28 31 34 39 45 51 57 62 -> median (34 + 39) / 2.
    assert.deepEqual(age, { name: 'age', kind: 'numeric', median: 36.5, indicator: true }, 'age');
    assert.equal(color.kind, 'one-hot', 'three colours are one-hot');
    assert.ok((color as { mostFrequent?: string }).mostFrequent === 'red', 'red is the most frequent colour');
    assert.equal(city.kind, 'ordinal', '12 cities > 10 levels are ordinal');
    assert.ok(!city.indicator, 'no city is missing');
    assert.ok(income.kind === 'numeric' && income.median === 52.5, `income median ${JSON.stringify(income)}`);
    const data = applyTablePreparation(prep, table);
    assert.equal(data.numFeatures, 9, 'nine features');
    const cities = [
      'Bari',
      'Cork',
      'Gent',
      'Graz',
      'Kyiv',
      'Lima',
      'Linz',
      'Lyon',
      'Nice',
      'Oslo',
      'Pune',
      'Rome',
    ];
    assert.deepEqual(row(data, 0), [34, 0, 0, 0, 1, 0, cities.indexOf('Lyon'), 52.5, 0], 'row 1');
    assert.deepEqual(row(data, 1), [36.5, 1, 1, 0, 0, 0, cities.indexOf('Oslo'), 48, 0], 'NA age imputed');
    assert.deepEqual(
      row(data, 3),
      [28, 0, 0, 0, 1, 1, cities.indexOf('Rome'), 39.5, 0],
      '? colour: red + indicator',
    );
    assert.deepEqual(
      row(data, 5),
      [39, 0, 0, 0, 1, 0, cities.indexOf('Pune'), 52.5, 1],
      'empty income imputed',
    );
    assert.deepEqual(Array.from(data.labels), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0], 'labels');
  });

  it('fits on the training rows only and handles categories unseen there', () => {
    const table = loadCsvTable(FIXTURE);
    // Training rows without any green, without the 62-year-old, and with no missing income.
    const train = [0, 1, 2, 3, 8, 9, 10, 11];
    const prep = fitTablePreparation(table, train, { maxOneHotLevels: 3 });
    assert.deepEqual(
      prep.outputNames,
      ['age', 'age_missing', 'color=blue', 'color=red', 'color_missing', 'city', 'income'],
      'only training levels and indicators',
    );
    // Training ages 34 51 28 31 57 26 -> median (31 + 34) / 2.
    assert.equal(prep.columns[0].kind === 'numeric' && prep.columns[0].median, 32.5, 'training median');
    const held = applyTablePreparation(prep, table, [4, 5, 6]);
    // Row 5: green is unseen -> no colour level set; Lima unseen -> the most frequent training city.
    const levels = prep.columns[2].kind !== 'numeric' ? prep.columns[2].levels : [];
    const frequent = prep.columns[2].kind !== 'numeric' ? prep.columns[2].mostFrequent : '';
    assert.deepEqual(row(held, 0), [45, 0, 0, 0, 0, levels.indexOf(frequent), 55], 'unseen green and Lima');
    // Row 6: income missing but the training rows had none -> imputed, no indicator column.
    assert.equal(row(held, 1)[6], 50.25, 'income imputed with the training median: (48 + 52.5) / 2');
    const fresh = parseCsvTable(`${HEADER}\n40,purple,Oslo,50,yes\n`, { header: true }, 'new.csv');
    assert.deepEqual(
      row(applyTablePreparation(prep, fresh), 0),
      [40, 0, 0, 0, 0, levels.indexOf('Oslo'), 50],
      'purple is unseen at prediction time: no crash, no level',
    );
    const bad = parseCsvTable(`${HEADER}\n40,red,Oslo,lots,yes\n`, { header: true }, 'new.csv');
    assert.throws(
      () => applyTablePreparation(prep, bad),
      (e: Error) =>
        e instanceof DataError &&
        e.message === 'new.csv: line 2, column 4 "income" (index 3): "lots" is not a number',
      'a word in a numeric column names line and column',
    );
  });

  it('rejects a column with no value in the training rows', () => {
    const table = parseCsvTable(`a,b,y\n1,NA,0\n2,?,1\n3,5,1\n`, {}, 't.csv');
    assert.throws(
      () => fitTablePreparation(table, [0, 1]),
      (e: Error) =>
        e instanceof DataError &&
        /column 2 "b" \(index 1\) has no value in the 2 training rows/.test(e.message),
      'all-missing column',
    );
  });

  it('splits, fits on the training split, and saves the preparation with the model', () => {
    const table = loadCsvTable(FIXTURE);
    const splits = prepareTableSplits(table, { seed: 1, validation: 0.25, test: 0.25 });
    assert.deepEqual(
      splits.preparation,
      fitTablePreparation(table, splits.indices.train),
      'fitted on the training indices only',
    );
    assert.equal(
      splits.train.numSamples + splits.validation.numSamples + splits.test.numSamples,
      12,
      'every row in one part',
    );
    const dir = tempDir('preparation');
    writePreparation(dir, splits.preparation);
    const restored = readPreparation(dir);
    assert.deepEqual(restored, splits.preparation, 'round trip');
    const again = applyTablePreparation(restored, table, splits.indices.test);
    assert.deepEqual(
      Array.from(again.data),
      Array.from(splits.test.data),
      'same test features from the saved file',
    );
    const file = path.join(dir, 'preparation.json');
    const broken = JSON.parse(readFileSync(file, 'utf8'));
    broken.outputNames.pop();
    writeFileSync(file, JSON.stringify(broken));
    assert.throws(() => readPreparation(dir), DataError, 'inconsistent preparation');
    assert.throws(() => parsePreparation('{', 'p.json'), DataError, 'not JSON');
    assert.throws(() => readPreparation(path.join(dir, 'nowhere')), FileNotFoundError, 'missing file');
  });
});
