import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DIGITS_PATH } from '../../src/data/digits.js';
import { BUILTIN_DATASET_NAMES, listDatasets, loadDataset } from '../../src/data/registry.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('registry');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('dataset registry', () => {
  it('lists the built-in datasets with sizes, location and availability', () => {
    const emptyCache = join(dir, 'cache');
    mkdirSync(emptyCache);
    const list = listDatasets({ fashionMnist: { systemDir: false, cacheDir: emptyCache } });
    assert.deepEqual(
      list.map((d) => d.name),
      ['digits', 'fashion-mnist'],
    );
    assert.deepEqual(BUILTIN_DATASET_NAMES, ['digits', 'fashion-mnist']);
    const [digits, fashion] = list;
    assert.deepEqual(
      [digits.samples, digits.train, digits.test, digits.features, digits.classes, digits.available],
      [1797, 1797, 0, 64, 10, true],
    );
    assert.equal(digits.location, DIGITS_PATH);
    assert.deepEqual(digits.featureShape, [8, 8, 1]);
    assert.deepEqual(
      [fashion.samples, fashion.train, fashion.test, fashion.features, fashion.classes],
      [70000, 60000, 10000, 784, 10],
    );
    // Not available in an empty cache with the system directory switched off: says where it looked.
    assert.equal(fashion.available, false);
    assert.ok(fashion.location.includes(emptyCache));
    assert.match(fashion.hint ?? '', /dataset-fashion-mnist/);
  });

  it('loads built-ins by name, digits as one pool', async () => {
    const bundle = await loadDataset('digits');
    assert.equal(bundle.train.numSamples, 1797);
    assert.equal(bundle.test, undefined);
  });

  it('loads csv:<path> with a target column', async () => {
    const path = join(dir, 'data.csv');
    writeFileSync(path, 'y,a,b\ncat,1,2\ndog,3,4\n');
    const bundle = await loadDataset(`csv:${path}`, { target: 'y' });
    assert.equal(bundle.train.numFeatures, 2);
    assert.deepEqual(bundle.train.classNames, ['cat', 'dog']);
    const viaCsvOptions = await loadDataset(`csv:${path}`, { csv: { target: 0, classOrder: 'first-seen' } });
    assert.deepEqual(viaCsvOptions.train.classNames, ['cat', 'dog']);
    await assert.rejects(loadDataset('csv:'), /give a file after csv:/);
    await assert.rejects(
      loadDataset(`csv:${join(dir, 'missing.csv')}`),
      (e: Error & { code?: string }) => e.code === 'FILE_NOT_FOUND',
    );
  });

  it('rejects an unknown name with DATASET_NOT_FOUND, listing the known ones', async () => {
    await assert.rejects(
      loadDataset('mnist'),
      (e: Error & { code?: string }) =>
        e.code === 'DATASET_NOT_FOUND' &&
        e.message.includes('"mnist"') &&
        e.message.includes('digits, fashion-mnist') &&
        e.message.includes('csv:<path>'),
    );
  });
});
