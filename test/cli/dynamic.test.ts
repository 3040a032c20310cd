/**
 * `parsimony dynamic`: each kind trains on the digits and prints its result as JSON; a saved
 * network is analysed from its spec; bad options fail with one line and write nothing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const quick = ['--dataset', 'digits', '--epochs', '2', '--json'];

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
  });

  it('early-exit, moe and cascade print their curves and costs', async () => {
    const exit = await runCliCaptured(['dynamic', 'early-exit', ...quick, '--hidden', '16,16']);
    assert.equal(exit.code, 0, exit.err);
    const e = JSON.parse(exit.out) as {
      curve: { threshold: number; averageMacs: number }[];
      heads: { macs: number }[];
    };
    assert.equal(e.curve.at(-1)?.averageMacs, e.heads.at(-1)?.macs, 'threshold 1 runs every block');
    assert.equal(e.curve[0].averageMacs, e.heads[0].macs, 'threshold 0 leaves at the first head');
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
    ]);
    assert.equal(moe.code, 0, moe.err);
    const m = JSON.parse(moe.out) as { activeMacs: number; macs: number };
    assert.equal(m.macs, 64 * 4 + 4 * 64 * 16 + 16 * 10);
    assert.equal(m.activeMacs, 64 * 4 + 2 * 64 * 16 + 16 * 10);
    const cascade = await runCliCaptured([
      'dynamic',
      'cascade',
      ...quick,
      '--members',
      '4,16',
      '--target-accuracy',
      '0.5',
    ]);
    assert.equal(cascade.code, 0, cascade.err);
    const c = JSON.parse(cascade.out) as { chosen: { met: boolean; validation: { accuracy: number } } };
    assert.ok(c.chosen.met && c.chosen.validation.accuracy >= 0.5, 'target reached');
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
