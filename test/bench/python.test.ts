import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANCHORS_DIR } from '../../bench/lib/python.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('benches and Python', () => {
  it('find the anchors at ../shared/anchors from the repository root, wherever it is', () => {
    assert.equal(ANCHORS_DIR, join(dirname(ROOT.replace(/\/$/, '')), 'shared', 'anchors'));
  });

  it('name the Debian packages to install when the Python side cannot run, instead of a traceback', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/storage.ts', '--trials', '8'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PARSIMONY_PYTHON: '/nonexistent/python3' },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr,
      'bench/storage.ts: /nonexistent/python3 cannot import optuna, psycopg2: apt-get install python3-optuna python3-psycopg2 (or set PARSIMONY_PYTHON to a Python that has them)\n',
    );
    assert.doesNotMatch(r.stderr, /Traceback/);
  });
});
