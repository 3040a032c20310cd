import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import { FAIL_REASON_KEY } from '../../src/core/study-view.js';
import { processAlive } from '../../src/run/command-trial.js';
import { loadStudyConfig } from '../../src/run/study-config.js';
import { runTune, type TuneEvent } from '../../src/run/tune.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { findPython, skipWithoutPython } from '../helpers/python.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/run/', import.meta.url));
const NODE = process.execPath;

/** Writes a study file into a new temporary directory; returns its path. */
function studyFile(fields: Record<string, unknown>): string {
  const dir = tempDir('tune');
  const file = join(dir, 'study.yaml');
  writeFileSync(file, stringify({ storage: 'memory:', ...fields }));
  return file;
}

async function trialsOf(storage: InMemoryStorage, name: string): Promise<FrozenTrial[]> {
  return storage.getAllTrials(await storage.getStudyIdFromName(name));
}

function curveLoss(p: Record<string, unknown>): number {
  return ((p.x as number) - 1) ** 2 + (p.n as number) + (p.mode === 'good' ? 0 : 5);
}

const curveStudy = {
  name: 'curve',
  command: [NODE, join(FIXTURES, 'curve.mjs'), '--x', '{x}', '--n', '{n}', '--mode', '{mode}'],
  space: {
    x: { type: 'float', low: -2, high: 3 },
    n: { type: 'int', low: 0, high: 4 },
    mode: { type: 'categorical', choices: ['good', 'bad'] },
  },
  sampler: { name: 'random', seed: 7 },
  trials: 12,
  concurrency: 2,
};

/** Pids the stubborn fixture recorded (each trial appends its own and its child's). */
function recordedPids(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

describe('runTune: command trials', () => {
  it('runs trials as parallel processes, passing parameters both ways, keeping logs and curves', async () => {
    const file = studyFile(curveStudy);
    const storage = new InMemoryStorage();
    const summary = await runTune({ file, storage });
    assert.deepEqual(summary.counts, { RUNNING: 0, COMPLETE: 12, PRUNED: 0, FAIL: 0, WAITING: 0 });
    assert.equal(summary.ran, 12);
    const trials = await trialsOf(storage, 'curve');
    for (const t of trials) {
      // The fixture exits with code 3 when argv and PARSIMONY_PARAMS disagree, so COMPLETE
      // trials with the right value prove both ways carried the same parameters.
      const loss = curveLoss(t.params);
      assert.ok(Math.abs(t.values![0] - loss) < 1e-9, `trial ${t.number}: ${t.values} vs ${loss}`);
      assert.deepEqual(t.intermediateValues, { 0: loss + 3, 1: loss + 2, 2: loss + 1 });
      const log = readFileSync(t.userAttrs.log as string, 'utf8');
      assert.equal(t.userAttrs.log, join(summary.logsDir, `trial-${t.number}.log`));
      assert.match(log, new RegExp(`trial ${t.number} of curve: x=`));
      assert.match(log, /some diagnostics on stderr/);
      assert.match(log, /# parsimony: exit code 0 after/);
    }
    assert.equal(new Set(trials.map((t) => t.userAttrs.pid)).size, 12, 'one process per trial');
    const spans = trials.map((t) => [t.datetimeStart!.getTime(), t.datetimeComplete!.getTime()]);
    assert.ok(
      spans.some(([s, e], i) => spans.some(([s2, e2], j) => i !== j && s < e2 && s2 < e)),
      'two trials ran at the same time',
    );
    const best = trials.reduce((a, b) => (b.values![0] < a.values![0] ? b : a));
    assert.deepEqual(
      summary.best.map((t) => t.number),
      [best.number],
    );

    // Same seed, same trials, although processes finish in whatever order.
    const again = await runTune({ file, storage: new InMemoryStorage(), trials: 6 });
    assert.deepEqual(
      again.trials.map((t) => t.params),
      trials.slice(0, 6).map((t) => t.params),
    );
    const reseeded = await runTune({ file, storage: new InMemoryStorage(), seed: 8, trials: 2 });
    assert.notDeepEqual(reseeded.trials[0].params, trials[0].params);

    // Resuming: `trials` is the total, so only the missing ones run.
    const resumed = await runTune({ file, storage, trials: 14 });
    assert.equal(resumed.ran, 2);
    assert.equal(resumed.counts.COMPLETE, 14);
    assert.equal((await runTune({ file, storage, trials: 14 })).ran, 0);
  });

  it('with only a timeout, starts trials until it has passed', async () => {
    const { trials: _, ...untimed } = curveStudy;
    const storage = new InMemoryStorage();
    const before = Date.now();
    const summary = await runTune({ file: studyFile({ ...untimed, timeout: '600ms' }), storage });
    assert.ok(summary.ran >= 2, `${summary.ran} trials`);
    assert.equal(summary.counts.COMPLETE, summary.ran);
    // Setting up before the clock starts takes a little; 300 ms is ample slack.
    for (const t of await trialsOf(storage, 'curve'))
      assert.ok(t.datetimeStart!.getTime() - before < 900, `trial ${t.number} started after the timeout`);
  });

  it('runs a Python trial through python/parsimony_trial.py', async () => {
    const file = studyFile({
      name: 'py',
      command: [findPython()?.executable ?? 'python3', join(FIXTURES, 'trial.py')],
      space: { x: { type: 'float', low: 0, high: 4 }, kind: { type: 'categorical', choices: ['a', 'b'] } },
      sampler: { name: 'random', seed: 1 },
      trials: 4,
      concurrency: 2,
    });
    const storage = new InMemoryStorage();
    await runTune({ file, storage });
    for (const t of await trialsOf(storage, 'py')) {
      const loss = ((t.params.x as number) - 2) ** 2 + (t.params.kind === 'a' ? 0 : 1);
      assert.equal(t.state, 'COMPLETE');
      assert.ok(Math.abs(t.values![0] - loss) < 1e-12);
      assert.deepEqual(t.intermediateValues, { 0: loss + 3 - 0, 1: loss + 3 - 1, 2: loss + 3 - 2 });
      assert.equal(t.userAttrs.trial, t.number);
    }
  });

  it('runs the scikit-learn example', {
    skip: skipWithoutPython(['sklearn', 'numpy'], ['python3-sklearn']),
  }, async () => {
    const example = fileURLToPath(new URL('../../examples/sklearn-svm/study.yaml', import.meta.url));
    const config = await loadStudyConfig(example);
    const logsDir = tempDir('example');
    const storage = new InMemoryStorage();
    // The example runs `python3` from PATH; put the interpreter that has scikit-learn first, as
    // the example's README tells users to.
    const python = findPython(['sklearn', 'numpy'])!;
    const env = { ...config.env, PATH: `${python.binDir}:${process.env.PATH}` };
    const summary = await runTune({
      config: { ...config, env, logsDir },
      storage,
      trials: 2,
      concurrency: 2,
    });
    assert.deepEqual(summary.counts.COMPLETE, 2);
    for (const t of await trialsOf(storage, 'svm-digits')) {
      assert.ok(t.values![0] > 0 && t.values![0] <= 1, `accuracy ${t.values}`);
      assert.deepEqual(Object.keys(t.intermediateValues), ['0', '1', '2']);
      assert.equal((t.userAttrs.fold_scores as number[]).length, 3);
    }
  });

  it("keeps the example's outputs out of git and runs python3 from PATH", async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    for (const output of [
      'examples/sklearn-svm/svm-digits.db',
      'examples/sklearn-svm/parsimony-logs/svm-digits/trial-0.log',
    ]) {
      const r = spawnSync('git', ['check-ignore', '--quiet', output], { cwd: root });
      assert.equal(r.status, 0, `${output} is not ignored by git`);
    }
    const config = await loadStudyConfig(join(root, 'examples/sklearn-svm/study.yaml'));
    assert.equal(config.command[0], 'python3');
  });

  it('reports the Pareto front of a study with two objectives', async () => {
    const summary = await runTune({
      file: studyFile({
        name: 'two',
        command: [NODE, join(FIXTURES, 'two-objectives.mjs'), '{x}'],
        directions: ['minimize', 'minimize'],
        space: { x: { type: 'float', low: 0, high: 1 } },
        sampler: { name: 'random', seed: 2 },
        trials: 5,
        concurrency: 2,
      }),
    });
    assert.equal(summary.counts.COMPLETE, 5);
    // x and (1 - x)^2 trade off on [0, 1]: every trial is on the front.
    assert.equal(summary.best.length, 5);
    for (const t of summary.best) assert.equal(t.values![1], (1 - (t.params.x as number)) ** 2);
  });

  it('prunes through the protocol, stopping the trial process and the process it started', async () => {
    const dir = tempDir('pids');
    const pids = join(dir, 'pids');
    const file = studyFile({
      name: 'pruned',
      command: [NODE, join(FIXTURES, 'stubborn.mjs')],
      space: { x: { type: 'float', low: 1, high: 2 } },
      sampler: { name: 'random', seed: 1 },
      pruner: { name: 'threshold', upper: 0.5 },
      env: { PIDS_FILE: pids },
      trials: 2,
      concurrency: 2,
    });
    const storage = new InMemoryStorage();
    const summary = await runTune({ file, storage });
    assert.deepEqual(
      summary.trials.map((t) => [t.state, t.prunedAtStep]),
      [
        ['PRUNED', 0],
        ['PRUNED', 0],
      ],
    );
    for (const t of await trialsOf(storage, 'pruned')) assert.deepEqual(t.values, [t.params.x]);
    const all = recordedPids(pids);
    assert.equal(all.length, 4);
    for (const pid of all) assert.equal(processAlive(pid), false, `process ${pid} is still running`);
  });

  it('kills a trial that ignores SIGTERM once the grace period is over', async () => {
    const dir = tempDir('pids');
    const pids = join(dir, 'pids');
    const storage = new InMemoryStorage();
    await runTune({
      file: studyFile({
        name: 'stubborn',
        command: [NODE, join(FIXTURES, 'stubborn.mjs')],
        space: { x: { type: 'float', low: 1, high: 2 } },
        sampler: 'random',
        pruner: { name: 'threshold', upper: 0.5 },
        env: { PIDS_FILE: pids, IGNORE_TERM: '1' },
        killGrace: '300ms',
        trials: 1,
      }),
      storage,
    });
    const [t] = await trialsOf(storage, 'stubborn');
    assert.equal(t.state, 'PRUNED');
    assert.match(readFileSync(t.userAttrs.log as string, 'utf8'), /stopped \(pruned\), killed with SIGKILL/);
    const reported = 200; // the fixture reports after 200 ms
    const took = t.datetimeComplete!.getTime() - t.datetimeStart!.getTime();
    assert.ok(took >= reported + 300, `ended after ${took} ms, before the grace period`);
    for (const pid of recordedPids(pids)) assert.equal(processAlive(pid), false);
  });

  it('fails a trial that runs past trialTimeout and stops its processes', async () => {
    const dir = tempDir('pids');
    const pids = join(dir, 'pids');
    const storage = new InMemoryStorage();
    // Both trials time out alike, which also stops the run with that reason.
    await assert.rejects(
      runTune({
        file: studyFile({
          name: 'slow',
          command: [NODE, join(FIXTURES, 'stubborn.mjs')],
          space: { x: { type: 'float', low: 1, high: 2 } },
          sampler: 'random',
          env: { PIDS_FILE: pids },
          trialTimeout: '1500ms',
          killGrace: '200ms',
          trials: 2,
          concurrency: 2,
        }),
        storage,
      }),
      /^ParsimonyError: the first 2 trials all failed: timed out after 1.5 s \(log: .*trial-\d\.log\)$/,
    );
    const trials = await trialsOf(storage, 'slow');
    assert.deepEqual(
      trials.map((t) => [t.state, t.systemAttrs[FAIL_REASON_KEY]]),
      [
        ['FAIL', 'TrialCommandError: timed out after 1.5 s'],
        ['FAIL', 'TrialCommandError: timed out after 1.5 s'],
      ],
    );
    for (const pid of recordedPids(pids)) assert.equal(processAlive(pid), false);
  });

  it('records each kind of failed trial and goes on with the study', async () => {
    const summary = await runTune({
      file: studyFile({
        name: 'mixed',
        command: ['/bin/sh', join(FIXTURES, 'mixed.sh'), '{x}'],
        space: { x: { type: 'float', low: 0, high: 1 } },
        sampler: 'random',
        trials: 8,
        concurrency: 2,
      }),
    });
    assert.deepEqual(
      summary.trials.map((t) => t.reason ?? t.state),
      [
        'COMPLETE',
        'exit code 3: Traceback: boom',
        'no result line',
        'result is not a number: abc',
        'COMPLETE',
        'exit code 3: Traceback: boom',
        'no result line',
        'result is not a number: abc',
      ],
    );
    assert.equal(summary.best.length, 1);
  });

  it('names a wrong number of values and a NaN result in plain words', async () => {
    const script =
      'case $PARSIMONY_TRIAL_NUMBER in 0) echo "parsimony:result 1,2" ;; *) echo "parsimony:result nan" ;; esac';
    const summary = await runTune({
      file: studyFile({
        name: 'wrong-values',
        command: ['/bin/sh', '-c', script, 'sh', '{x}'],
        space: { x: { type: 'float', low: 0, high: 1 } },
        sampler: 'random',
        trials: 2,
        concurrency: 1,
      }),
    });
    assert.deepEqual(
      summary.trials.map((t) => t.reason),
      ['result has 2 values but the study has 1 objective', 'objective returned NaN (NaN)'],
    );
  });

  it('stops when the first trials all fail alike, leaving no trial running', async () => {
    const storage = new InMemoryStorage();
    await assert.rejects(
      runTune({
        file: studyFile({
          name: 'garbage',
          command: ['/bin/sh', join(FIXTURES, 'bad-result.sh')],
          space: { x: { type: 'float', low: 0, high: 1 } },
          sampler: 'random',
          trials: 20,
          concurrency: 1,
        }),
        storage,
      }),
      /^ParsimonyError: the first 3 trials all failed: result is not a number: abc \(log: /,
    );
    assert.deepEqual(
      (await trialsOf(storage, 'garbage')).map((t) => t.state),
      ['FAIL', 'FAIL', 'FAIL'],
    );
  });

  it('stops at once when the command does not exist', async () => {
    for (const program of ['/nonexistent/prog', 'parsimony-no-such-program']) {
      const storage = new InMemoryStorage();
      await assert.rejects(
        runTune({
          file: studyFile({
            name: 'missing',
            command: [program, '{x}'],
            space: { x: { type: 'float', low: 0, high: 1 } },
            sampler: 'random',
            trials: 10,
            concurrency: 2,
          }),
          storage,
        }),
        (error: Error) => {
          assert.equal(error.message, `command not found: ${program}`);
          return true;
        },
      );
      const trials = await trialsOf(storage, 'missing');
      assert.ok(trials.length >= 1 && trials.length <= 2, `${trials.length} trials were started`);
      for (const t of trials) assert.equal(t.state, 'FAIL');
    }
  });

  it('on abort, terminates running trials, fails them as interrupted and returns', async () => {
    const dir = tempDir('pids');
    const pids = join(dir, 'pids');
    const controller = new AbortController();
    const storage = new InMemoryStorage();
    let started = 0;
    // Abort once both running trials have started their processes.
    const onEvent = (event: TuneEvent) => {
      if (event.type !== 'trial-start' || ++started !== 2) return;
      const poll = setInterval(() => {
        if (existsSync(pids) && recordedPids(pids).length === 4) {
          clearInterval(poll);
          controller.abort('SIGINT');
        }
      }, 20);
    };
    const summary = await runTune({
      file: studyFile({
        name: 'interrupted',
        command: [NODE, join(FIXTURES, 'stubborn.mjs')],
        space: { x: { type: 'float', low: 1, high: 2 } },
        sampler: 'random',
        env: { PIDS_FILE: pids },
        trials: 6,
        concurrency: 2,
      }),
      storage,
      signal: controller.signal,
      onEvent,
    });
    assert.equal(summary.interrupted, 'SIGINT');
    assert.deepEqual(
      (await trialsOf(storage, 'interrupted')).map((t) => [t.state, t.systemAttrs[FAIL_REASON_KEY]]),
      [
        ['FAIL', 'TrialCommandError: interrupted'],
        ['FAIL', 'TrialCommandError: interrupted'],
      ],
    );
    assert.equal(recordedPids(pids).length, 4);
    for (const pid of recordedPids(pids)) assert.equal(processAlive(pid), false);

    // Aborted before it began: nothing runs.
    const early = await runTune({
      file: studyFile(curveStudy),
      storage,
      signal: AbortSignal.abort('SIGTERM'),
    });
    assert.deepEqual([early.interrupted, early.ran, early.trials.length], ['SIGTERM', 0, 0]);
  });

  it('refuses to resume a study whose directions changed', async () => {
    const storage = new InMemoryStorage();
    const fields = { ...curveStudy, trials: 1 };
    await runTune({ file: studyFile(fields), storage });
    await assert.rejects(
      runTune({ file: studyFile({ ...fields, direction: 'maximize' }), storage }),
      /study "curve" already exists in InMemoryStorage \(given\) with directions \[minimize\], but the file says \[maximize\]/,
    );
  });

  it('reports storage and workdir problems in one line', async () => {
    const file = studyFile({ ...curveStudy, trials: 1 });
    await assert.rejects(runTune({ file, storage: 'bogus:x' }), /unsupported storage URL scheme "bogus:"/);
    await assert.rejects(
      runTune({ file, storage: 'postgres://nobody:secret@127.0.0.1:1/x' }),
      (error: Error) => {
        assert.equal(error.message.split('\n').length, 1);
        assert.match(error.message, /127\.0\.0\.1/);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
    const missing = studyFile({ ...curveStudy, workdir: 'nope', trials: 1 });
    await assert.rejects(runTune({ file: missing }), /study\.yaml: workdir: directory not found: .*nope/);
    assert.equal(existsSync(join(missing, '..', 'parsimony-logs')), false);
  });
});
