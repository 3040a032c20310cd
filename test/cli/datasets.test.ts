import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatSamples, runDatasets } from '../../src/cli/commands/datasets.js';
import { runCli } from '../../src/cli/main.js';
import { runCliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

// Facts the test knows without asking the code under test: where the package keeps digits, where
// Debian's dataset-fashion-mnist installs, the publishers' file names, the cache directory rule.
const DIGITS_FILE = fileURLToPath(new URL('../../assets/datasets/digits.csv.gz', import.meta.url));
const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];
const hasFashionFiles = (dir: string) =>
  FASHION_FILES.every((f) => existsSync(join(dir, f)) || existsSync(join(dir, `${f}.gz`)));

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += `${s}\n`), stderr: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe('parsimony datasets', () => {
  it('prints the built-in datasets as JSON', async () => {
    const { code, out, err } = await run(['datasets', '--json']);
    assert.equal(code, 0, err);
    const list = JSON.parse(out);
    assert.ok(Array.isArray(list));
    const pick = (d: Record<string, unknown>) => ({
      name: d.name,
      samples: d.samples,
      train: d.train,
      test: d.test,
      features: d.features,
      classes: d.classes,
    });
    assert.deepEqual(list.map(pick), [
      { name: 'digits', samples: 1797, train: 1797, test: 0, features: 64, classes: 10 },
      { name: 'fashion-mnist', samples: 70000, train: 60000, test: 10000, features: 784, classes: 10 },
    ]);
    assert.equal(list[0].location, DIGITS_FILE);
    assert.equal(list[0].available, existsSync(DIGITS_FILE));
    assert.equal(list[0].available, true, 'the package embeds digits');
  });

  it('says Fashion-MNIST is available exactly when its four files are in a place it looks', () => {
    const inDebian = hasFashionFiles(DEBIAN_DIR);
    // A cache directory ($XDG_CACHE_HOME/parsimony/fashion-mnist) without the files, then with them.
    const cacheHome = tempDir('datasets-cache');
    const cache = join(cacheHome, 'parsimony', 'fashion-mnist');
    const list = () => {
      const r = runCliProcess(['datasets', '--json'], { env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out)[1] as { name: string; available: boolean; location: string };
    };
    const without = list();
    assert.equal(without.name, 'fashion-mnist');
    assert.equal(without.available, inDebian);
    if (inDebian) assert.equal(without.location, DEBIAN_DIR);
    for (const f of FASHION_FILES) {
      mkdirSync(cache, { recursive: true });
      writeFileSync(join(cache, `${f}.gz`), '');
    }
    const withCache = list();
    assert.equal(withCache.available, true);
    // Debian's directory comes first when it has the files.
    assert.equal(withCache.location, inDebian ? DEBIAN_DIR : cache);
  });

  it('prints a table for people', async () => {
    const { code, out } = await run(['datasets']);
    assert.equal(code, 0);
    const lines = out.split('\n');
    assert.match(lines[0], /^name\s+samples\s+features\s+classes\s+available\s+location$/);
    assert.match(out, /digits\s+1,797\s+64 \(8x8x1\)\s+10\s+yes\s+\S*digits\.csv\.gz/);
    assert.match(out, /fashion-mnist\s+60,000 \+ 10,000\s+784 \(28x28x1\)\s+10\s+(yes|no)/);
    assert.match(out, /csv:<path>/);
  });

  it('returns the same rows from runDatasets', async () => {
    const rows = await runDatasets();
    assert.deepEqual(
      rows.map((r) => formatSamples(r)),
      ['1,797', '60,000 + 10,000'],
    );
  });
});
