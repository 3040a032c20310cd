import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { registerTuneCommand } from '../../src/cli/commands/tune.js';
import { buildProgram, reportError } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/output.js';
import { processAlive } from '../../src/run/command-trial.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/run/', import.meta.url));
const NODE = process.execPath;

/**
 * Runs the CLI in-process as `runCli` does. `tune` is registered here until src/cli/main.ts
 * registers it itself; then this is just runCli.
 */
async function run(args: string[], during?: () => void) {
  let out = '';
  let err = '';
  const io: CommandIO = {
    stdout: (s) => (out += s.endsWith('\n') ? s : `${s}\n`),
    stderr: (s) => (err += s.endsWith('\n') ? s : `${s}\n`),
  };
  const program = await buildProgram(io);
  if (!program.commands.some((c) => c.name() === 'tune')) {
    registerTuneCommand(program, io);
    for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  }
  during?.();
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    code = reportError(error, args.includes('--verbose'), io);
  }
  return { code, out, err };
}

function studyFile(fields: Record<string, unknown>, raw?: string): string {
  const dir = tempDir('cli-tune');
  const file = join(dir, 'study.yaml');
  writeFileSync(file, raw ?? stringify(fields));
  return file;
}

const curve = {
  name: 'cli-curve',
  command: [NODE, join(FIXTURES, 'curve.mjs'), '--x', '{x}', '--n', '{n}', '--mode', '{mode}'],
  space: {
    x: { type: 'float', low: -2, high: 3 },
    n: { type: 'int', low: 0, high: 4 },
    mode: { type: 'categorical', choices: ['good', 'bad'] },
  },
  sampler: { name: 'random', seed: 3 },
  trials: 4,
  concurrency: 2,
  storage: 'memory:',
};

/** A failed command: exit code 1 and exactly one line on stderr, without a stack trace. */
function assertOneLineError(result: { code: number; err: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.err);
  const lines = result.err.trim().split('\n');
  assert.equal(lines.length, 1, result.err);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}

describe('parsimony tune', () => {
  it('prints progress lines, the best trial, and where the study and logs are', async () => {
    const file = studyFile(curve);
    const { code, out, err } = await run(['tune', file]);
    assert.equal(code, 0, err);
    assert.match(err, /tuning "cli-curve": 4 trials, 2 at a time/);
    assert.equal(err.match(/^\[\d\/4\] trial \d COMPLETE /gm)?.length, 4, err);
    assert.match(
      out,
      /study "cli-curve": 4 trials in this run, 4 in the study \(4 complete, 0 pruned, 0 failed\)/,
    );
    assert.match(out, /best trial \(minimize\):\ntrial +value +x +n +mode\n/);
    assert.match(out, /stored in memory: \(study "cli-curve"\); trial logs in .*parsimony-logs\/cli-curve/);
  });

  it('--json prints the summary; --trials, --seed and --quiet override the file', async () => {
    const file = studyFile(curve);
    const a = await run([
      'tune',
      file,
      '--json',
      '--quiet',
      '--trials',
      '3',
      '--seed',
      '11',
      '--concurrency',
      '1',
    ]);
    assert.equal(a.code, 0, a.err);
    assert.equal(a.err, '');
    const summary = JSON.parse(a.out);
    assert.equal(summary.counts.COMPLETE, 3);
    assert.equal(summary.best.length, 1);
    const b = JSON.parse(
      (await run(['tune', file, '--json', '--quiet', '--trials', '3', '--seed', '11'])).out,
    );
    assert.deepEqual(
      b.trials.map((t: { params: unknown }) => t.params),
      summary.trials.map((t: { params: unknown }) => t.params),
    );
  });

  it('resumes a SQLite study: `trials` is the total', async () => {
    const file = studyFile({ ...curve, storage: 'sqlite:study.db', trials: 2 });
    assert.equal((await run(['tune', file, '--quiet'])).code, 0);
    assert.ok(existsSync(join(file, '..', 'study.db')));
    const { code, out } = await run(['tune', file, '--quiet', '--json', '--trials', '3']);
    assert.equal(code, 0);
    const summary = JSON.parse(out);
    assert.equal(summary.ran, 1);
    assert.equal(summary.counts.COMPLETE, 3);
    assert.match(summary.logsDir, /parsimony-logs\/cli-curve$/);
    assert.ok(existsSync(join(summary.logsDir, 'trial-2.log')));
  });

  it('after a worker was killed, says what it waits for instead of sitting silent', async () => {
    const file = studyFile({ ...curve, storage: 'sqlite:study.db', trials: 2, concurrency: 1 });
    assert.equal((await run(['tune', file, '--quiet'])).code, 0);
    // What `kill -9` of a tune leaves: a RUNNING trial whose heartbeats stopped (a minute ago).
    const dbPath = join(file, '..', 'study.db');
    const storage = new SqliteStorage(dbPath);
    const id = await storage.getStudyIdFromName('cli-curve');
    const orphan = await storage.createTrial(id);
    await storage.recordHeartbeat(orphan.trialId);
    await storage.close();
    const db = new Database(dbPath);
    db.prepare('UPDATE trial_heartbeats SET heartbeat = ? WHERE trial_id = ?').run(
      Date.now() - 60_000,
      orphan.trialId,
    );
    db.close();
    const { code, err, out } = await run(['tune', file, '--trials', '3']);
    assert.equal(code, 0, err);
    assert.match(
      err,
      /trial #2 is RUNNING in another process\. If that process is gone \(killed\), it is marked FAIL 30 s after its last heartbeat and retried here\. They count toward the 3 trials: once those are used up, this run waits for them before it ends\./,
    );
    assert.match(out, /4 in the study \(3 complete, 0 pruned, 1 failed\)/);
  });

  it('rejects bad study files with one line naming the file and the problem', async () => {
    assertOneLineError(
      await run(['tune', studyFile({}, 'name: x\ncommand: [a\nspace: {}\n')]),
      /study\.yaml: line \d+: /,
    );
    assertOneLineError(
      await run(['tune', studyFile({ ...curve, sampler: 'tpee' })]),
      /study\.yaml: sampler: unknown sampler "tpee" \(known: random, /,
    );
    assertOneLineError(
      await run([
        'tune',
        studyFile({ ...curve, space: { ...curve.space, x: { type: 'float', low: 5, high: 1 } } }),
      ]),
      /study\.yaml: space\.x: float distribution: low \(5\) must be <= high \(1\)$/,
    );
    assertOneLineError(
      await run(['tune', '/nonexistent/study.yaml']),
      /study file not found: \/nonexistent\/study\.yaml/,
    );
    const usage = await run(['tune', studyFile(curve), '--trials', 'many']);
    assert.equal(usage.code, 2, 'a usage error');
    assert.equal(usage.err, 'error: --trials must be an integer >= 0, got "many"\n');
  });

  it('stops with one line when the command is missing or every trial fails alike', async () => {
    const missing = studyFile({ ...curve, command: ['parsimony-no-such-program', '{x}'] });
    assertOneLineError(
      await run(['tune', missing, '--quiet']),
      /^error: command not found: parsimony-no-such-program$/,
    );
    // With progress on, the error is still the last line, and no trace follows.
    const loud = await run(['tune', missing]);
    assert.equal(loud.code, 1);
    assert.match(loud.err, /\nerror: command not found: parsimony-no-such-program\n$/);
    assert.doesNotMatch(loud.err, /\n\s+at /);
    const bad = await run([
      'tune',
      studyFile({ ...curve, command: ['/bin/sh', join(FIXTURES, 'bad-result.sh')], trials: 10 }),
      '--quiet',
    ]);
    assertOneLineError(
      bad,
      /the first 3 trials all failed: result is not a number: abc \(log: .*trial-\d\.log\)$/,
    );
    const silent = await run([
      'tune',
      studyFile({ ...curve, command: ['/bin/sh', join(FIXTURES, 'no-result.sh')], trials: 1 }),
      '--quiet',
    ]);
    assertOneLineError(silent, /the first trial failed: no result line/);
  });

  it('reports unknown and unreachable storages in one line, without the password', async () => {
    const file = studyFile(curve);
    assertOneLineError(
      await run(['tune', file, '--storage', 'bogus:x']),
      /unsupported storage URL scheme "bogus:"/,
    );
    const pg = await run(['tune', file, '--storage', 'postgres://nobody:secret@127.0.0.1:1/x']);
    assertOneLineError(pg, /127\.0\.0\.1/);
    assert.doesNotMatch(pg.err, /secret/);
  });

  it('on SIGINT terminates the running trials, marks them interrupted and exits 130', async () => {
    const dir = tempDir('pids');
    const pids = join(dir, 'pids');
    const file = studyFile({
      ...curve,
      command: [NODE, join(FIXTURES, 'stubborn.mjs')],
      space: { x: { type: 'float', low: 1, high: 2 } },
      env: { PIDS_FILE: pids },
      trials: 6,
    });
    assert.equal(process.listenerCount('SIGINT'), 0);
    // Deliver SIGINT to the handler the command installs, once both trial processes run.
    const poll = setInterval(() => {
      if (existsSync(pids) && readFileSync(pids, 'utf8').trim().split('\n').length === 2) {
        clearInterval(poll);
        process.emit('SIGINT', 'SIGINT');
      }
    }, 20);
    const { code, out, err } = await run(['tune', file, '--json']);
    clearInterval(poll);
    assert.equal(code, 130, err);
    assert.match(err, /SIGINT: stopping/);
    assert.equal(process.listenerCount('SIGINT'), 0, 'the handler is removed');
    const summary = JSON.parse(out);
    assert.equal(summary.interrupted, 'SIGINT');
    assert.deepEqual(
      summary.trials.map((t: { state: string; reason: string }) => [t.state, t.reason]),
      [
        ['FAIL', 'interrupted'],
        ['FAIL', 'interrupted'],
      ],
    );
    for (const pid of readFileSync(pids, 'utf8').trim().split(/\s+/).map(Number))
      assert.equal(processAlive(pid), false);
  });
});
