import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/main.js';
import { createStorage } from '../../src/storage/factory.js';
import { loadStudy } from '../../src/study/create.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/run/', import.meta.url));

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += `${s}\n`), stderr: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe('parsimony worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-worker-'));
  const file = join(dir, 'study.yaml');
  const storage = `sqlite:${join(dir, 'shared.db')}`;
  writeFileSync(
    file,
    stringify({
      name: 'joined',
      command: [
        process.execPath,
        join(FIXTURES, 'curve.mjs'),
        '--x',
        '{x}',
        '--n',
        '{n}',
        '--mode',
        '{mode}',
      ],
      space: {
        x: { type: 'float', low: -2, high: 3 },
        n: { type: 'int', low: 0, high: 4 },
        mode: { type: 'categorical', choices: ['good', 'bad'] },
      },
      sampler: { name: 'random', seed: 3 },
      trials: 6,
      concurrency: 1,
    }),
  );

  it('joins a study by name from its stored file and shares the trial budget', async () => {
    const first = await run(['tune', file, '--storage', storage, '--trials', '2', '--quiet', '--json']);
    assert.equal(first.code, 0, first.err);
    // The worker reads the study file from the storage: the budget is the file's 6 trials in all.
    const second = await run(['worker', '--storage', storage, '--study', 'joined', '--quiet', '--json']);
    assert.equal(second.code, 0, second.err);
    assert.equal(JSON.parse(second.out).ran, 4);
    const s = await createStorage(storage);
    const trials = await (await loadStudy({ studyName: 'joined', storage: s })).getTrials();
    await s.close();
    assert.equal(trials.length, 6);
    assert.ok(trials.every((t) => t.state === 'COMPLETE'));
  });

  it('explains a study without a stored file and bad usage in one line', async () => {
    const missing = await run(['worker', '--storage', storage, '--study', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: no study named "nope"/);
    const both = await run(['worker', '--storage', storage]);
    assert.notEqual(both.code, 0);
    assert.match(both.err, /give --study NAME to join a study, or --config FILE/);
  });
});
