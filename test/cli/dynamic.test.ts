/**
 * `parsimony dynamic`: each kind trains on the digits and prints its result as JSON; a saved
 * network is analysed from its spec; bad options fail with one line and write nothing.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const quick = ['--dataset', 'digits', '--epochs', '2', '--json'];

interface Cost {
  kind: string;
  upperBound: { params: number; macs: number; stateValues: number };
  variants: { macs: number }[];
  expectedMacs?: number;
  shares?: number[];
}

describe('parsimony dynamic', () => {
  it('slim: accuracy and MACs per width, saved and analysed from its spec', async () => {
    const out = path.join(tempDir('dynamic-cli'), 'slim');
    const r = await runCliCaptured([
      'dynamic',
      'slim',
      ...quick,
      '--hidden',
      '32',
      '--widths',
      '0.5,1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out) as { widths: { width: number; macs: number; accuracy: number }[] };
    assert.deepEqual(
      result.widths.map((w) => [w.width, w.macs]),
      [
        [0.5, 64 * 16 + 16 * 10],
        [1, 64 * 32 + 32 * 10],
      ],
    );
    for (const w of result.widths) assert.ok(w.accuracy > 0.5, `width ${w.width}: ${w.accuracy}`);
    const a = await runCliCaptured(['dynamic', 'analyze', out, '--json']);
    assert.equal(a.code, 0, a.err);
    const analysis = JSON.parse(a.out) as { kind: string; upperBound: { macs: number } };
    assert.equal(analysis.kind, 'slimmable');
    assert.equal(analysis.upperBound.macs, 64 * 32 + 32 * 10);
    // `parsimony analyze` reads the directory too (its custom layers have no plain spec): the
    // full-width model's layers, then the cost per width.
    const plain = await runCliCaptured(['analyze', out, '--json']);
    assert.equal(plain.code, 0, plain.err);
    const both = JSON.parse(plain.out) as {
      model: { macs: number };
      dynamic: { kind: string; variants: { macs: number }[] };
    };
    assert.equal(both.model.macs, 64 * 32 + 32 * 10);
    assert.deepEqual(
      both.dynamic.variants.map((v) => v.macs),
      [64 * 16 + 16 * 10, 64 * 32 + 32 * 10],
    );
    const text = await runCliCaptured(['analyze', out]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /hidden-1 .*dense/);
    // Every width's batch-norm set is stored: 2,442 at full width plus 2 x 16 scale and offset at 0.5.
    assert.match(
      text.out,
      /slimmable: 2,474 parameters stored \(and 96 batch-norm statistics\), at most 2,368 MACs per sample/,
    );
  });

  it('early-exit, moe and cascade print their curves and costs, save, and analyse with the expected cost', async () => {
    const dir = tempDir('dynamic-cli-kinds');
    const exit = await runCliCaptured([
      'dynamic',
      'early-exit',
      ...quick,
      '--hidden',
      '16,16',
      '--out',
      path.join(dir, 'exit'),
    ]);
    assert.equal(exit.code, 0, exit.err);
    const e = JSON.parse(exit.out) as {
      curve: { threshold: number; averageMacs: number }[];
      heads: { macs: number }[];
      chosen: { validation: { averageMacs: number; exitShares: number[] } };
      calibration: { temperature: number; validation: { nllBefore: number; nllAfter: number } }[];
      uncalibrated: { threshold: number };
    };
    // One temperature per head, fitted on validation data and saved with the network.
    assert.equal(e.calibration.length, 2);
    for (const c of e.calibration)
      assert.ok(c.validation.nllAfter <= c.validation.nllBefore, `NLL ${JSON.stringify(c.validation)}`);
    const saved = JSON.parse(await readFile(path.join(dir, 'exit', 'parsimony-dynamic.json'), 'utf8')) as {
      temperatures: number[];
    };
    assert.deepEqual(
      saved.temperatures,
      e.calibration.map((c) => c.temperature),
    );
    assert.equal(typeof e.uncalibrated.threshold, 'number', 'the raw choice beside it');
    assert.equal(e.curve.at(-1)?.averageMacs, e.heads.at(-1)?.macs, 'threshold 1 runs every block');
    assert.equal(e.curve[0].averageMacs, e.heads[0].macs, 'threshold 0 leaves at the first head');
    // Saved with the validation shares of its threshold: the expected cost is the validation one.
    for (const command of [['dynamic', 'analyze'], ['analyze']]) {
      const a = await runCliCaptured([...command, path.join(dir, 'exit'), '--json']);
      assert.equal(a.code, 0, a.err);
      const json = JSON.parse(a.out) as { dynamic?: Cost } & Cost;
      const cost = json.dynamic ?? json;
      assert.equal(cost.upperBound.macs, 64 * 16 + 16 * 16 + 2 * 16 * 10);
      assert.deepEqual(cost.shares, e.chosen.validation.exitShares);
      assert.ok(
        Math.abs((cost.expectedMacs ?? -1) - e.chosen.validation.averageMacs) < 1e-6,
        `${command.join(' ')}: expected ${cost.expectedMacs} MACs, validation ${e.chosen.validation.averageMacs}`,
      );
    }
    const moe = await runCliCaptured([
      'dynamic',
      'moe',
      ...quick,
      '--experts',
      '4',
      '--units',
      '16',
      '--top-k',
      '2',
      '--out',
      path.join(dir, 'moe'),
    ]);
    assert.equal(moe.code, 0, moe.err);
    const m = JSON.parse(moe.out) as { activeMacs: number; macs: number };
    assert.equal(m.macs, 64 * 4 + 4 * 64 * 16 + 16 * 10);
    assert.equal(m.activeMacs, 64 * 4 + 2 * 64 * 16 + 16 * 10);
    const moeCost = await runCliCaptured(['dynamic', 'analyze', path.join(dir, 'moe'), '--json']);
    assert.equal(moeCost.code, 0, moeCost.err);
    const mc = JSON.parse(moeCost.out) as Cost;
    assert.equal(mc.kind, 'conditional');
    assert.deepEqual([mc.upperBound.macs, mc.expectedMacs], [m.macs, m.activeMacs]);
    const cascade = await runCliCaptured([
      'dynamic',
      'cascade',
      ...quick,
      '--members',
      '4,16',
      '--target-accuracy',
      '0.5',
      '--no-calibrate',
      '--out',
      path.join(dir, 'cascade'),
    ]);
    assert.equal(cascade.code, 0, cascade.err);
    const c = JSON.parse(cascade.out) as {
      chosen: { met: boolean; validation: { accuracy: number; averageMacs: number } };
      calibration?: unknown;
    };
    assert.equal(c.calibration, undefined, '--no-calibrate: raw confidences');
    const cascadeSpec = JSON.parse(
      await readFile(path.join(dir, 'cascade', 'parsimony-dynamic.json'), 'utf8'),
    ) as { temperatures?: number[] };
    assert.equal(cascadeSpec.temperatures, undefined, 'no temperatures saved');
    assert.ok(c.chosen.met && c.chosen.validation.accuracy >= 0.5, 'target reached');
    const small = 64 * 4 + 4 * 10;
    const large = 64 * 16 + 16 * 10;
    for (const command of [['dynamic', 'analyze'], ['analyze']]) {
      const a = await runCliCaptured([...command, path.join(dir, 'cascade'), '--json']);
      assert.equal(a.code, 0, a.err);
      const json = JSON.parse(a.out) as { dynamic?: Cost } & Cost;
      const cost = json.dynamic ?? json;
      assert.deepEqual(
        cost.variants.map((v) => v.macs),
        [small, small + large],
      );
      assert.ok(
        Math.abs((cost.expectedMacs ?? -1) - c.chosen.validation.averageMacs) < 1e-6,
        `${command.join(' ')}: expected ${cost.expectedMacs} MACs`,
      );
    }
  });

  it('refuses bad options with one line and writes nothing', async () => {
    const out = path.join(tempDir('dynamic-cli-bad'), 'never');
    assertRejected(
      await runCliCaptured([
        'dynamic',
        'slim',
        '--dataset',
        'digits',
        '--widths',
        '0.5,0.25,1',
        '--out',
        out,
      ]),
      /--widths must ascend/,
      out,
    );
    assertRejected(
      await runCliCaptured([
        'dynamic',
        'moe',
        '--dataset',
        'digits',
        '--experts',
        '2',
        '--top-k',
        '3',
        '--out',
        out,
      ]),
      /--top-k 3 is more than --experts 2/,
      out,
    );
    assertRejected(await runCliCaptured(['dynamic', 'analyze', out]), /dynamic model file not found/, out);
  });
});
