import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

describe('the npm package', () => {
  it('is parsimony-ml with the parsimony command, and packs the helper, the data and the CLI entry', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    // `parsimony` on npm is another project's package.
    assert.equal(pkg.name, 'parsimony-ml');
    assert.deepEqual(pkg.bin, { parsimony: './bin/parsimony.js' });
    // bin/parsimony.js runs the compiled src/cli/bin.ts.
    assert.match(readFileSync(join(ROOT, 'bin/parsimony.js'), 'utf8'), /'\.\.\/dist\/cli\/bin\.js'/);
    assert.ok(existsSync(join(ROOT, 'src/cli/bin.ts')), 'src/cli/bin.ts compiles to dist/cli/bin.js');
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const [packed] = JSON.parse(r.stdout) as { name: string; files: { path: string }[] }[];
    assert.equal(packed.name, 'parsimony-ml');
    const files = packed.files.map((f) => f.path);
    for (const needed of ['bin/parsimony.js', 'python/parsimony_trial.py', 'assets/datasets/digits.csv.gz'])
      assert.ok(files.includes(needed), `${needed} is not packed`);
    assert.deepEqual(
      files.filter((f) => /^(test|src|bench|examples)\//.test(f)),
      [],
      'sources, tests and benches stay out',
    );
  });
});
