import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import {
  registerStudiesCommand,
  runStudiesExport,
  runStudiesList,
  type StudiesCommandOptions,
} from '../../src/cli/commands/studies.js';
import { reportError } from '../../src/cli/main.js';
import { FloatDistribution } from '../../src/core/distributions.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('studies-cli');
after(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = join(dir, 'studies.db');
const url = `sqlite:${dbPath}`;

/** Runs `parsimony studies ...` in-process, with the CLI's error reporting. */
async function run(args: string[], options: StudiesCommandOptions = { interactive: () => false }) {
  let out = '';
  let err = '';
  const io = { stdout: (s: string) => (out += `${s}\n`), stderr: (s: string) => (err += `${s}\n`) };
  const program = new Command('parsimony')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerStudiesCommand(program, io, options);
  let code = 0;
  try {
    await program.parseAsync(['studies', ...args], { from: 'user' });
  } catch (error) {
    code = reportError(error, false, io);
  }
  return { code, out, err };
}

before(async () => {
  const s = new SqliteStorage(dbPath);
  const x = new FloatDistribution(0, 10);
  const a = await s.createStudy(['maximize'], 'accuracy');
  for (const [v, constraint] of [
    [0.9, 0],
    [0.97, 1], // best value but infeasible
    [0.95, -1],
  ]) {
    const t = await s.createTrial(a);
    await s.setTrialParam(t.trialId, 'x', v * 10, x);
    await s.setTrialSystemAttr(t.trialId, 'constraints', [constraint]);
    await s.setTrialState(t.trialId, 'COMPLETE', [v]);
  }
  await s.createTrial(a, { state: 'FAIL' });
  const m = await s.createStudy(['minimize', 'maximize'], 'pareto');
  // [2, 1] is dominated by [1, 2] (minimise, maximise); [0.5, 0.5] is not: a front of two.
  for (const values of [
    [1, 2],
    [2, 1],
    [0.5, 0.5],
  ])
    await s.createTrial(m, { state: 'COMPLETE', values });
  await s.close();
});

describe('parsimony studies', () => {
  it('lists studies with trials and best feasible value, as JSON and as a table', async () => {
    const json = await run(['list', '--storage', url, '--json']);
    assert.equal(json.code, 0, json.err);
    const list = JSON.parse(json.out);
    assert.deepEqual(
      list.map(
        (s: {
          name: string;
          directions: string[];
          trials: number;
          complete: number;
          bestValue: number;
          paretoFrontSize: number | null;
        }) => [s.name, s.directions, s.trials, s.complete, s.bestValue, s.paretoFrontSize],
      ),
      [
        ['accuracy', ['maximize'], 4, 3, 0.95, null],
        ['pareto', ['minimize', 'maximize'], 3, 3, null, 2],
      ],
    );
    assert.match(list[0].started, /^\d{4}-\d\d-\d\dT/);
    const table = await run(['list', '--storage', url]);
    assert.match(table.out, /^name\s+directions\s+trials\s+complete\s+best\s+started/);
    assert.match(table.out, /accuracy\s+maximize\s+4\s+3\s+0\.95\s+\d{4}-/);
    assert.match(table.out, /pareto\s+minimize,maximize\s+3\s+3\s+front of 2\s+\d{4}-/);
  });

  it('reports a missing file or study in one line, without creating the file', async () => {
    const missing = join(dir, 'typo.db');
    const r = await run(['list', '--storage', `sqlite:${missing}`]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `error: SQLite storage file not found: ${missing}\n`);
    await assert.rejects(runStudiesList({ storage: `sqlite:${missing}` }), { code: 'FILE_NOT_FOUND' });
    const e = await run(['export', 'nope', '--storage', url]);
    assert.deepEqual([e.code, e.err], [1, 'error: no study named "nope"\n']);
    const usage = await run(['list']);
    assert.notEqual(usage.code, 0);
    assert.match(usage.err, /--storage/);
  });

  it('renames, copies and exports a study', async () => {
    const copyPath = join(dir, 'copy.db');
    assert.equal((await run(['rename', 'pareto', 'front', '--storage', url])).code, 0);
    const clash = await run(['rename', 'front', 'accuracy', '--storage', url]);
    assert.deepEqual([clash.code, clash.err], [1, 'error: a study named "accuracy" already exists\n']);

    const copied = await run([
      'copy',
      'accuracy',
      '--from',
      url,
      '--to',
      `sqlite:${copyPath}`,
      '--as',
      'acc2',
    ]);
    assert.equal(copied.code, 0, copied.err);
    assert.match(copied.out, /copied study "accuracy" \(4 trials\) to sqlite:.*copy\.db as "acc2"/);
    const names = (await runStudiesList({ storage: `sqlite:${copyPath}` })).map((s) => s.name);
    assert.deepEqual(names, ['acc2']);

    const csv = await run(['export', 'acc2', '--storage', `sqlite:${copyPath}`]);
    const lines = csv.out.trim().split('\n');
    assert.equal(lines[0], 'number,state,value,params_x,datetime_start,datetime_complete,duration_ms');
    assert.match(lines[2], /^1,COMPLETE,0\.97,9\.7,/);
    assert.equal(lines.length, 5);

    const file = join(dir, 'front.json');
    const json = await run(['export', 'front', '--storage', url, '--format', 'json', '--output', file]);
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(
      JSON.parse(readFileSync(file, 'utf8')).map((t: { values: number[] }) => t.values),
      [
        [1, 2],
        [2, 1],
        [0.5, 0.5],
      ],
    );
    assert.equal(
      await runStudiesExport({ storage: url, studyName: 'front', format: 'json' }),
      readFileSync(file, 'utf8'),
    );
    const bad = await run(['export', 'front', '--storage', url, '--format', 'xml']);
    assert.deepEqual([bad.code, bad.err], [2, 'error: --format must be csv or json, got "xml"\n']);
  });

  it('a failed copy leaves no file behind', async () => {
    const target = join(dir, 'never.db');
    const r = await run(['copy', 'no-such-study', '--from', url, '--to', `sqlite:${target}`]);
    assert.deepEqual([r.code, r.err], [1, 'error: no study named "no-such-study"\n']);
    for (const suffix of ['', '-wal', '-shm'])
      assert.equal(existsSync(`${target}${suffix}`), false, `${target}${suffix} was left behind`);
    // A target that existed before stays.
    const kept = await run(['copy', 'no-such-study', '--from', url, '--to', url]);
    assert.equal(kept.code, 1);
    assert.ok(existsSync(dbPath), 'the existing file stays');
  });

  it('leaves a file Optuna wrote byte for byte as it was, journal mode included', {
    skip: skipWithoutPython(['optuna'], ['python3-optuna']),
  }, async () => {
    const python = findPython(['optuna'])!.executable;
    const path = join(dir, 'optuna.db');
    const made = spawnSync(
      python,
      [
        '-c',
        `import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(storage="sqlite:///${path}", study_name="from-optuna")
study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    const fingerprint = () => {
      const bytes = readFileSync(path);
      // Bytes 18 and 19 of a SQLite header are 1 for a rollback journal, 2 for WAL.
      return { sha256: createHash('sha256').update(bytes).digest('hex'), journal: [bytes[18], bytes[19]] };
    };
    const before = fingerprint();
    assert.deepEqual(before.journal, [1, 1], 'Optuna writes a rollback-journal file');
    const list = await run(['list', '--storage', `sqlite:${path}`]);
    assert.equal(list.code, 1);
    assert.match(list.err, /belongs to another program \(an Optuna database\?\) and will not be modified/);
    const copy = await run([
      'copy',
      'from-optuna',
      '--from',
      `sqlite:${path}`,
      '--to',
      `sqlite:${join(dir, 'o2.db')}`,
    ]);
    assert.equal(copy.code, 1);
    assert.deepEqual(fingerprint(), before);
    for (const suffix of ['-wal', '-shm']) assert.equal(existsSync(`${path}${suffix}`), false);
  });

  it('deletes only with --yes or a confirmation', async () => {
    const s = new SqliteStorage(dbPath);
    await s.createStudy(['minimize'], 'doomed');
    await s.close();
    const refused = await run(['delete', 'doomed', '--storage', url]);
    assert.deepEqual(
      [refused.code, refused.err],
      [2, 'error: refusing to delete study "doomed" without --yes (stdin is not a terminal)\n'],
    );
    const questions: string[] = [];
    const declined = await run(['delete', 'doomed', '--storage', url], {
      interactive: () => true,
      confirm: async (q) => {
        questions.push(q);
        return false;
      },
    });
    assert.equal(declined.out, 'not deleted\n');
    assert.match(questions[0], /Delete study "doomed" and all its trials/);
    assert.ok((await runStudiesList({ storage: url })).some((x) => x.name === 'doomed'));
    const confirmed = await run(['delete', 'doomed', '--storage', url], {
      interactive: () => true,
      confirm: async () => true,
    });
    assert.equal(confirmed.out, 'deleted study "doomed" (0 trials)\n');
    const forced = await run(['delete', 'front', '--storage', url, '--yes']);
    assert.equal(forced.out, 'deleted study "front" (3 trials)\n');
    assert.deepEqual(
      (await runStudiesList({ storage: url })).map((x) => x.name),
      ['accuracy'],
    );
  });
});
