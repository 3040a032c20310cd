import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadStudy } from '../../src/study/create.js';
import { runCliCaptured, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('search-cli');

/** Starts a search in a child process, sends `signal` once a trial has finished, waits for the exit. */
function interruptedSearch(out: string, signal: NodeJS.Signals) {
  const child = spawnCli([
    'search',
    ...['--trials', '200', '--threads', '1', '--epochs', '30', '--seed', '5', '--out', out],
  ]);
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    // Progress lines ("[1/200] trial 0 COMPLETE ...") go to stderr when it is not a terminal.
    if (!sent && /\[1\/200\] trial/.test(stderr)) {
      sent = true;
      child.kill(signal);
    }
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('parsimony search as a process', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`on ${signal} fails the running trial as interrupted, prints the front so far and exits ${code}`, async () => {
      const out = join(dir, `${signal}.db`);
      const result = await interruptedSearch(out, signal);
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, new RegExp(`${signal}: stopping`));
      assert.match(result.stdout, new RegExp(`interrupted by ${signal}`));
      assert.match(
        result.stdout,
        /Pareto front \(maximise validation accuracy, minimise parameters\): [1-9]/,
      );
      const name = /search "([^"]+)"/.exec(result.stdout)?.[1];
      assert.ok(name, `the summary names the study: ${result.stdout}`);
      const study = await loadStudy({ studyName: name, storage: `sqlite:${out}` });
      const trials = study.trials;
      await study.storage.close();
      assert.ok(trials.length < 200, 'stopped early');
      assert.deepEqual(
        trials.filter((t) => t.state === 'RUNNING' || t.state === 'WAITING').map((t) => t.number),
        [],
        'no trial is left running',
      );
      const interrupted = trials.filter((t) => t.state === 'FAIL');
      assert.equal(interrupted.length, 1, 'the one running trial failed');
      assert.match(String(interrupted[0].systemAttrs.failReason), /interrupted$/);
    });
  }
});

describe('parsimony search output', () => {
  it('names a study file under the current directory relative to it', async () => {
    const cwd = process.cwd();
    const work = tempDir('search-cwd');
    process.chdir(work);
    try {
      const r = await runCliCaptured([
        'search',
        '--trials',
        '1',
        '--threads',
        '1',
        '--epochs',
        '1',
        '--quiet',
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /^study file: parsimony-results\/search\.db \(study "search-digits-seed0-[\d-]+"; `parsimony studies list --storage sqlite:parsimony-results\/search\.db`\)$/m,
      );
      assert.ok(!r.out.includes(work), 'no absolute path in the text output');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('parsimony search --sampler', () => {
  for (const sampler of ['reinforce', 'aging-evolution', 'random'])
    it(`runs the size search with the ${sampler} sampler`, async () => {
      const out = join(dir, `sampler-${sampler}.db`);
      const r = await runCliCaptured([
        'search',
        ...['--sampler', sampler, '--trials', '3', '--threads', '1', '--epochs', '1'],
        ...['--out', out, '--json', '--quiet'],
      ]);
      assert.equal(r.code, 0, r.err);
      const result = JSON.parse(r.out);
      assert.equal(result.sampler, sampler);
      assert.equal(result.counts.COMPLETE + result.counts.PRUNED, 3, r.out);
    });

  it('names the samplers it accepts when given another', async () => {
    const out = join(dir, 'sampler-cmaes.db');
    const r = await runCliCaptured(['search', '--sampler', 'cmaes', '--out', out, '--quiet']);
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /^error: --sampler must be one of tpe, nsga2, random, aging-evolution, reinforce; got "cmaes"\n$/,
    );
    assert.equal(existsSync(out), false, 'nothing written');
  });
});

describe('parsimony search that cannot complete a trial', () => {
  it('refuses, before training, a budget below the smallest network of the space', async () => {
    const out = join(dir, 'budget.db');
    const r = await runCliCaptured(['search', '--max-params', '10', '--out', out, '--quiet']);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(
      r.err,
      /^error: max-params 10 is below the smallest network of the search space on digits \(one hidden layer of 8 units: 610 parameters\)/,
    );
    assert.equal(existsSync(out), false, 'nothing written');
  });

  it('says so and exits non-zero when every trial broke the budget', async () => {
    // 610 parameters is one hidden layer of 8 units; two seeded TPE start-up trials draw wider ones.
    const r = await runCliCaptured([
      'search',
      ...['--max-params', '620', '--trials', '2', '--threads', '1', '--seed', '1'],
      ...['--out', join(dir, 'over.db'), '--quiet'],
    ]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /no trial completed/);
    assert.match(
      r.err,
      /^error: no trial completed: of 2 trials, 2 broke the parameter budget \(--max-params 620\)\n$/,
    );
  });

  it('refuses a dataset too small for the validation split', async () => {
    const csv = join(dir, 'tiny.csv');
    writeFileSync(csv, 'a,b,y\n1,2,0\n3,4,1\n');
    const out = join(dir, 'tiny.db');
    const r = await runCliCaptured(['search', '--dataset', `csv:${csv}`, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.err,
      /^error: dataset csv:.*tiny\.csv has 2 training samples: too few .* part would be empty\n$/,
    );
    assert.equal(existsSync(out), false, 'nothing written');
  });
});
