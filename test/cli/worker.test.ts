import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/main.js';
import { createStorage } from '../../src/storage/factory.js';
import { loadStudy } from '../../src/study/create.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/run/', import.meta.url));

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += `${s}\n`), stderr: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe('parsimony worker', () => {
  const dir = tempDir('worker');
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
    assert.equal(both.code, 2, 'a usage error');
    assert.match(both.err, /give --study NAME to join a study, or --config FILE/);
    const noStorage = await run(['worker', '--study', 'joined']);
    assert.equal(noStorage.code, 2, 'a usage error');
    assert.match(noStorage.err, /^error: worker: --study needs --storage URL/);
  });

  it('--config uses the storage the file names when --storage is not given', async () => {
    const own = join(dir, 'own.yaml');
    writeFileSync(
      own,
      stringify({
        name: 'own-storage',
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
          mode: { type: 'categorical', choices: ['good'] },
        },
        sampler: { name: 'random', seed: 1 },
        trials: 2,
        concurrency: 1,
        storage: 'sqlite:own.db',
      }),
    );
    const r = await run(['worker', '--config', own, '--quiet', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).ran, 2);
    const s = await createStorage(`sqlite:${join(dir, 'own.db')}`, { mustExist: true });
    const trials = await (await loadStudy({ studyName: 'own-storage', storage: s })).getTrials();
    await s.close();
    assert.equal(trials.length, 2);
  });

  it('stores the study file without its directory: a worker resolves its workdir where it runs', async () => {
    // Machine A: the project in a/, trials run in a/work. Machine B has the project in b/.
    const a = join(dir, 'machine-a');
    const b = join(dir, 'machine-b');
    for (const root of [a, b]) mkdirSync(join(root, 'work'), { recursive: true });
    writeFileSync(join(b, 'work', 'marker.txt'), 'b');
    const sharedStorage = `sqlite:${join(dir, 'moving.db')}`;
    // The trial's value is 1 when its working directory is machine B's work/.
    const script =
      "const fs = require('fs'); console.log('parsimony:result ' + (fs.existsSync('marker.txt') ? 1 : 0) + ' {x}'.slice(0, 0));";
    writeFileSync(
      join(a, 'study.yaml'),
      stringify({
        name: 'moving',
        command: [process.execPath, '-e', script, '{x}'],
        workdir: 'work',
        direction: 'maximize',
        space: { x: { type: 'float', low: 0, high: 1 } },
        sampler: { name: 'random', seed: 1 },
        trials: 2,
        concurrency: 1,
      }),
    );
    const first = await run([
      'tune',
      join(a, 'study.yaml'),
      '--storage',
      sharedStorage,
      '--trials',
      '1',
      '--quiet',
    ]);
    assert.equal(first.code, 0, first.err);
    const s = await createStorage(sharedStorage);
    const stored = (await s.getStudySystemAttrs(await s.getStudyIdFromName('moving'))).studyFile as {
      file: string;
    };
    await s.close();
    assert.equal(stored.file, 'study.yaml', 'no absolute path is stored');
    rmSync(a, { recursive: true });
    const second = await run([
      'worker',
      '--storage',
      sharedStorage,
      '--study',
      'moving',
      '--dir',
      b,
      '--json',
      '--quiet',
    ]);
    assert.equal(second.code, 0, second.err);
    const summary = JSON.parse(second.out);
    assert.equal(summary.ran, 1);
    assert.deepEqual(
      summary.trials.map((t: { values: number[] }) => t.values),
      [[0], [1]],
      'the first trial ran in a/work, the second in b/work',
    );
  });
});
