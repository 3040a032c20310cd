import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { classCounts } from '../../src/data/dataset.js';
import {
  downloadFashionMnist,
  FASHION_MNIST_FILES,
  FASHION_MNIST_SYSTEM_DIR,
  findFashionMnist,
  loadFashionMnist,
} from '../../src/data/fashion-mnist.js';

const installed = findFashionMnist({ dir: FASHION_MNIST_SYSTEM_DIR }) !== undefined;
// Under CI the dataset must be installed (.ci/run does it), so the test fails rather than skips.
const skip = installed || process.env.CI ? false : 'dataset-fashion-mnist is not installed on this machine';

describe('Fashion-MNIST', () => {
  it('loads 60000 + 10000 images of 784 pixels in 10 classes', { skip }, async () => {
    const { train, test } = await loadFashionMnist();
    assert.equal(train.numSamples, 60000);
    assert.equal(test!.numSamples, 10000);
    assert.equal(train.numFeatures, 784);
    assert.deepEqual(train.featureShape, [28, 28, 1]);
    assert.equal(train.classNames.length, 10);
    assert.deepEqual(classCounts(test!), new Array(10).fill(1000));
    let max = 0;
    for (const v of train.data) if (v > max) max = v;
    assert.equal(max, 255);
  });

  it('downloads into the cache only after the checksum matches, then uses the cache', { skip }, async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parsimony-fm-'));
    let fetches = 0;
    const fetchBytes = async (url: string) => {
      fetches++;
      const name = url.split('/').pop()!;
      return readFileSync(join(FASHION_MNIST_SYSTEM_DIR, name));
    };
    await downloadFashionMnist(cacheDir, { fetchBytes, baseUrl: 'https://example.invalid/' });
    assert.equal(fetches, 4);
    assert.equal(findFashionMnist({ dir: cacheDir }), cacheDir);
    await downloadFashionMnist(cacheDir, { fetchBytes });
    assert.equal(fetches, 4, 'cached files are not fetched again');
    const { test } = await loadFashionMnist({ dir: cacheDir });
    assert.equal(test!.numSamples, 10000);
  });

  it('discards a download whose checksum does not match', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parsimony-fm-bad-'));
    const fetchBytes = async () => gzipSync(Buffer.from('not the real file'));
    await assert.rejects(
      downloadFashionMnist(cacheDir, { fetchBytes }),
      (e: Error & { code?: string }) =>
        e.code === 'CHECKSUM_MISMATCH' && e.message.includes(FASHION_MNIST_FILES.trainImages.sha256),
    );
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing is left behind');
    assert.equal(existsSync(join(cacheDir, 'train-images-idx3-ubyte.gz')), false);
  });

  it('reports a failed download and a missing directory clearly', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parsimony-fm-net-'));
    await assert.rejects(
      downloadFashionMnist(cacheDir, {
        fetchBytes: async () => {
          throw new Error('getaddrinfo ENOTFOUND');
        },
      }),
      (e: Error & { code?: string }) => e.code === 'DOWNLOAD_FAILED' && /ENOTFOUND/.test(e.message),
    );
    await assert.rejects(loadFashionMnist({ dir: join(cacheDir, 'nowhere') }), /not found: .*nowhere/);
  });
});
