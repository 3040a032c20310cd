import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('parsimony pbt', () => {
  it('trains a population on digits, stores the members as trials and prints JSON', async () => {
    const storage = `sqlite:${path.join(tempDir('pbt'), 'pbt.db')}`;
    const { code, out, err } = await runCliCaptured([
      'pbt',
      '--dataset',
      'digits',
      '--population',
      '3',
      '--rounds',
      '2',
      '--hidden',
      '8',
      '--seed',
      '1',
      '--explore',
      'pb2',
      '--threads',
      '2',
      '--storage',
      storage,
      '--json',
    ]);
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as {
      studyName: string;
      best: number;
      testAccuracy: number;
      totalEpochs: number;
      members: { valAccuracy: number; schedule: { steps: unknown[] } }[];
    };
    assert.equal(result.members.length, 3, 'three members');
    assert.equal(result.totalEpochs, 6, 'population x rounds x 1 epoch');
    assert.ok(result.testAccuracy > 0.3, `test accuracy ${result.testAccuracy}`);
    for (const m of result.members) assert.equal(m.schedule.steps.length, 2, 'a schedule step per round');
    const listed = await runCliCaptured(['studies', 'list', '--storage', storage]);
    assert.equal(listed.code, 0, listed.err);
    assert.ok(listed.out.includes(result.studyName), `study listed: ${listed.out}`);
  });

  it('rejects bad input with one line and a non-zero exit', async () => {
    for (const args of [
      ['--population', '1', '--rounds', '2'],
      ['--population', '2', '--rounds', 'x'],
      ['--population', '2', '--rounds', '1', '--epochs-per-round', '0'],
      ['--population', '2', '--rounds', '1', '--explore', 'random'],
    ]) {
      const { code, err } = await runCliCaptured(['pbt', '--dataset', 'digits', ...args]);
      assert.notEqual(code, 0, `exit code for ${args.join(' ')}`);
      assert.ok(
        /--(population|rounds|epochs-per-round|explore)/.test(err.split('\n')[0]),
        `one-line error: ${err}`,
      );
    }
  });
});
