import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sequential } from '../../src/models/spec/builder.js';
import { runCliCaptured, runCliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const digitsMlp = () =>
  sequential([64])
    .add('dense', { units: 4, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();

describe('parsimony grow', () => {
  it('grows a spec on digits, prints the curve as JSON with rising params, and saves the model', async () => {
    {
      const dir = tempDir('grow');
      const specFile = path.join(dir, 'mlp.json');
      writeFileSync(specFile, JSON.stringify(digitsMlp()));
      const out = path.join(dir, 'grown');
      const {
        code,
        out: stdout,
        err,
      } = await runCliCaptured([
        'grow',
        specFile,
        '--dataset',
        'digits',
        '--schedule',
        'log',
        '--max-params',
        '2000',
        '--stages',
        '2',
        '--epochs-per-stage',
        '1',
        '--min-gain',
        '-1000',
        '--out',
        out,
        '--json',
      ]);
      assert.equal(code, 0, err);
      const result = JSON.parse(stdout) as {
        curve: { params: number }[];
        stopped: string;
        testAccuracy: number;
      };
      assert.ok(
        result.testAccuracy > 0.1 && result.testAccuracy <= 1,
        `test accuracy ${result.testAccuracy}`,
      );
      const params = result.curve.map((s) => s.params);
      assert.equal(params.length, 3, `initial + 2 stages: ${params}`);
      for (let i = 1; i < params.length; i++)
        assert.ok(params[i] > params[i - 1], `params increase: ${params}`);
      assert.ok(existsSync(path.join(out, 'parsimony-model.json')), `saved: ${readdirSync(out)}`);
    }
  });

  it('bad input: one line, non-zero exit, nothing written', async () => {
    {
      const dir = tempDir('grow');
      const specFile = path.join(dir, 'mlp.json');
      writeFileSync(specFile, JSON.stringify(digitsMlp()));
      const out = path.join(dir, 'never');
      const cases: [string[], RegExp][] = [
        [['--schedule', 'cubic', '--max-params', '2000'], /--schedule must be linear, log or exp/],
        [['--max-params', '100'], /max params must be an integer above the starting model's 310 parameters/],
        [['--max-params', 'many'], /--max-params must be an integer/],
      ];
      for (const [extra, message] of cases) {
        const r = runCliProcess(['grow', specFile, '--dataset', 'digits', '--out', out, ...extra]);
        assert.notEqual(r.code, 0, `exit code for ${extra}`);
        const lines = r.err.trim().split('\n');
        assert.equal(lines.length, 1, `one line: ${r.err}`);
        assert.match(lines[0], message);
        assert.ok(!existsSync(out), 'nothing written');
      }
      const mismatch = await runCliCaptured([
        'grow',
        'zoo:lenet-5',
        '--dataset',
        'digits',
        '--max-params',
        '900000',
      ]);
      assert.notEqual(mismatch.code, 0, 'shape mismatch fails');
      assert.match(mismatch.err, /holds 784 values, but dataset digits has 64 features/);
    }
  });
});
