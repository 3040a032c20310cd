import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  loadStudyConfig,
  parseDuration,
  parseStudyConfig,
  resolveStorageUrl,
  splitCommand,
  studyConfigFromObject,
} from '../../src/run/study-config.js';
import { tempDir } from '../helpers/temp-dir.js';

const base = `
name: svm
command: python3 train.py --C {C} --kernel {kernel}
direction: maximize
space:
  C: { type: float, low: 1e-3, high: 1e3, log: true }
  kernel: { type: categorical, choices: [rbf, linear] }
trials: 10
`;

function parseError(text: string): string {
  try {
    parseStudyConfig(text, 'study.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

describe('study files', () => {
  it('parses a full study file, resolving paths against the file', () => {
    const c = parseStudyConfig(
      `${base}workdir: ../work
sampler: { name: random, seed: 1 }
pruner: median
timeout: 10m
trialTimeout: 1m30s
killGrace: 500ms
concurrency: 3
storage: sqlite:svm.db
env: { OMP_NUM_THREADS: 1 }
logs: logs/
`,
      '/home/u/proj/study.yaml',
    );
    assert.equal(c.name, 'svm');
    assert.deepEqual(c.command, ['python3', 'train.py', '--C', '{C}', '--kernel', '{kernel}']);
    assert.equal(c.workdir, '/home/u/work');
    assert.deepEqual(c.directions, ['maximize']);
    assert.deepEqual(c.space.C.getConfig(), { type: 'float', low: 1e-3, high: 1e3, log: true });
    assert.deepEqual(c.sampler, { name: 'random', options: { seed: 1 } });
    assert.deepEqual(c.pruner, { name: 'median', options: {} });
    assert.equal(c.trials, 10);
    assert.equal(c.timeoutMs, 600_000);
    assert.equal(c.trialTimeoutMs, 90_000);
    assert.equal(c.killGraceMs, 500);
    assert.equal(c.concurrency, 3);
    assert.equal(c.storage, 'sqlite:/home/u/proj/svm.db');
    assert.deepEqual(c.env, { OMP_NUM_THREADS: '1' });
    assert.equal(c.logsDir, '/home/u/proj/logs');
  });

  it('defaults: tpe, no pruning, SQLite next to the file, logs next to the database', () => {
    const c = parseStudyConfig(base, '/p/study.yaml');
    assert.equal(c.sampler.name, 'tpe');
    assert.equal(c.pruner.name, 'nop');
    assert.equal(c.storage, 'sqlite:/p/parsimony.db');
    assert.equal(c.logsDir, '/p/parsimony-logs/svm');
    assert.equal(c.killGraceMs, 5000);
    assert.ok(c.concurrency >= 1);
  });

  it('reads JSON as well', () => {
    const c = parseStudyConfig(
      JSON.stringify({
        command: ['node', 'trial.mjs', '{x}'],
        directions: ['minimize', 'maximize'],
        space: { x: { type: 'int', low: 0, high: 10, step: 2 } },
        trials: 4,
      }),
      '/p/my-study.json',
    );
    assert.equal(c.name, 'my-study');
    assert.deepEqual(c.directions, ['minimize', 'maximize']);
    assert.equal(c.space.x.type, 'int');
  });

  it('builds the same config from an object, for programs', () => {
    const c = studyConfigFromObject(
      { command: 'node t.mjs {x}', space: { x: { type: 'float', low: 0, high: 1 } }, trials: 2, name: 'obj' },
      { baseDir: '/p' },
    );
    assert.deepEqual([c.name, c.workdir, c.storage], ['obj', '/p', 'sqlite:/p/parsimony.db']);
    assert.throws(
      () => studyConfigFromObject({ command: 'x', space: {}, trials: 1, name: 'a' }),
      /^InvalidArgumentError: space: defines no parameter$/,
    );
  });

  it('reports malformed YAML with its line', () => {
    const message = parseError('name: a\ncommand: x\nspace:\n  C: { type: float, low: 1\n');
    assert.match(message, /^study\.yaml: line \d+: /);
    assert.equal(message.split('\n').length, 1);
  });

  it('names the file and the field path of each problem', () => {
    const bad = (text: string) => parseError(text);
    assert.equal(
      bad(base.replace('low: 1e-3, high: 1e3', 'low: 5, high: 1')),
      'study.yaml: space.C: float distribution: low (5) must be <= high (1)',
    );
    assert.match(
      bad(`${base}sampler: tpee\n`),
      /^study\.yaml: sampler: unknown sampler "tpee" \(known: random, .*tpe.*\)$/,
    );
    assert.match(
      bad(`${base}pruner: { name: median, nWarmupStep: 2 }\n`),
      /^study\.yaml: pruner\.nWarmupStep: unknown option of the median pruner \(did you mean "nWarmupSteps"\?\)/,
    );
    assert.match(bad(`${base}pruner: { name: median, n_warmup_steps: 2 }\n`), /did you mean "nWarmupSteps"/);
    assert.match(
      bad(`${base}pruner: { name: median, nWarmupSteps: two }\n`),
      /pruner\.nWarmupSteps: expected an integer, got "two"/,
    );
    assert.match(
      bad(`${base}pruner: percentile\n`),
      /pruner: the percentile pruner needs option `percentile`/,
    );
    assert.match(
      bad(`${base}trails: 3\n`),
      /^study\.yaml: trails: unknown field \(did you mean "trials"\?\)/,
    );
    assert.match(
      bad(base.replace('log: true', 'log: true, setp: 2')),
      /space\.C\.setp: unknown field for a float distribution \(did you mean "step"\?\)/,
    );
    assert.match(
      bad(base.replace('--C {C}', '--C {c}')),
      /^study\.yaml: command: placeholder \{c\} in argument 4 is not a parameter of space \(C, kernel\)/,
    );
    assert.match(
      bad(base.replace('direction: maximize', 'direction: max')),
      /direction: expected "minimize" or "maximize", got "max"/,
    );
    assert.match(bad(base.replace('trials: 10', 'trials: 2.5')), /trials: expected an integer >= 0, got 2.5/);
    assert.match(bad(base.replace('trials: 10', 'timeout: soon')), /timeout: not a duration: "soon"/);
    assert.match(bad(base.replace('trials: 10', '')), /trials: give `trials` \(or `timeout`\)/);
    assert.match(bad(base.replace(/command: .*\n/, '')), /command: is required/);
    assert.match(
      bad(base.replace(/command: .*\n/, 'command: python3 train.py | tee log\n')),
      /command: "\|" is shell syntax/,
    );
    assert.match(bad('[1, 2]'), /expected a mapping of fields/);
    assert.match(bad(''), /study\.yaml: the file is empty/);
    assert.match(bad(`${base}name: again\n`), /^study\.yaml: line \d+: Map keys must be unique/);
  });

  it('reports a missing file in one line', async () => {
    const dir = tempDir('config');
    await assert.rejects(loadStudyConfig(join(dir, 'nope.yaml')), /study file not found: .*nope\.yaml/);
    writeFileSync(join(dir, 'ok.yaml'), base);
    assert.equal(
      (await loadStudyConfig(join(dir, 'ok.yaml'))).storage,
      `sqlite:${join(dir, 'parsimony.db')}`,
    );
  });

  it('splits commands like a shell, without running one', () => {
    assert.deepEqual(splitCommand(`python3 -c 'print("a b")' "x y" a\\ b --n={n}`), [
      'python3',
      '-c',
      'print("a b")',
      'x y',
      'a b',
      '--n={n}',
    ]);
    assert.deepEqual(splitCommand(`echo "say \\"hi\\" \\$HOME" ''`), ['echo', 'say "hi" $HOME', '']);
    assert.throws(() => splitCommand(`echo 'open`), /unterminated ' quote/);
    assert.throws(() => splitCommand('a && b'), /shell syntax/);
    assert.deepEqual(splitCommand('echo $HOME'), ['echo', '$HOME']);
  });

  it('reads a bare number as seconds and accepts the memory: storage unquoted', () => {
    const c = parseStudyConfig(
      base.replace(
        'trials: 10',
        'timeout: 3600\ntrialTimeout: 2h\nkillGrace: 30s\nstorage: memory: # no file',
      ),
      '/p/study.yaml',
    );
    assert.equal(c.timeoutMs, 3_600_000);
    assert.equal(c.trialTimeoutMs, 7_200_000);
    assert.equal(c.killGraceMs, 30_000);
    assert.equal(c.storage, 'memory:');
  });

  it('parses durations', () => {
    // A bare number is seconds, as --timeout and Optuna's timeout: 3600 is an hour.
    assert.equal(parseDuration(3600), 3_600_000);
    assert.equal(parseDuration(1.5), 1500);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0.5s'), 500);
    assert.equal(parseDuration('250ms'), 250);
    assert.throws(
      () => parseDuration('30 parsecs'),
      /not a duration: "30 parsecs" \(use a number of seconds/,
    );
    assert.throws(() => parseDuration('-1s'), /not a duration/);
  });

  it('makes SQLite paths absolute against the study file directory', () => {
    assert.equal(resolveStorageUrl('sqlite:a.db', '/p'), 'sqlite:/p/a.db');
    assert.equal(resolveStorageUrl('sqlite:///a.db', '/p'), 'sqlite:/p/a.db');
    assert.equal(resolveStorageUrl('sqlite:////abs/a.db', '/p'), 'sqlite:/abs/a.db');
    assert.equal(resolveStorageUrl('sqlite::memory:', '/p'), 'sqlite::memory:');
    assert.equal(resolveStorageUrl('postgres://u@h/db', '/p'), 'postgres://u@h/db');
  });
});
