import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { zooModel } from '../../src/models/zoo/index.js';
import { runCliCaptured } from '../helpers/cli.js';

const cli = runCliCaptured;

describe('parsimony analyze', () => {
  it('--json prints totals and layers for a zoo model', async () => {
    const r = await cli(['analyze', 'zoo:resnet-18', '--json']);
    assert.equal(r.code, 0, r.err);
    const a = JSON.parse(r.out);
    for (const key of [
      'params',
      'trainableParams',
      'connections',
      'macs',
      'flops',
      'activationBytes',
      'weightBytes',
      'layers',
    ])
      assert.ok(key in a, key);
    assert.equal(a.params, 11_689_512);
    assert.equal(a.layers.length > 20, true);
  });

  it('reads a spec file and prints a table with totals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parsimony-analyze-'));
    const file = join(dir, 'lenet.json');
    writeFileSync(file, JSON.stringify(zooModel('lenet-300-100')));
    const r = await cli(['analyze', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /layer +type +output +params +connections +MACs +activations/);
    assert.match(r.out, /parameters +266,610/);
    assert.match(r.out, /FLOPs = 2 x MACs/);
  });

  it('the totals add up and say that batch-norm statistics are state, not parameters', async () => {
    const r = await cli(['analyze', 'zoo:resnet-18']);
    assert.equal(r.code, 0, r.err);
    // ResNet-18: 20 batch norms over 4,800 channels, each with a moving mean and variance.
    assert.match(r.out, /parameters +11,689,512 \(11\.69M\) learned: 11,689,512 trainable \+ 0 frozen/);
    assert.match(
      r.out,
      /state +9,600 batch-norm moving means and variances: stored, not learned.*11,699,112 in all/,
    );
    const lenet = await cli(['analyze', 'zoo:lenet-5']);
    assert.doesNotMatch(lenet.out, /^state/m);
  });

  it('zoo options come from the query string', async () => {
    const r = await cli(['analyze', 'zoo:mobilenet-v2?alpha=0.5&inputSize=160', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.ok(JSON.parse(r.out).params < 2_000_000);
  });

  it('bad input: one line naming the problem, non-zero exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parsimony-analyze-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      '{"format":"parsimony-model","version":1,"inputs":[{"name":"x","shape":[4]}],"layers":[{"name":"h","type":"dense","inputs":["x"],"units":-1}],"outputs":["h"]}',
    );
    for (const [args, pattern] of [
      [['analyze', join(dir, 'missing.json')], /model file not found: .*missing\.json/],
      [['analyze', bad], /bad\.json: layer "h": field "units" must be a positive integer, got -1/],
      [['analyze', 'zoo:resnet-19'], /unknown zoo model "resnet-19"/],
      [['analyze', 'zoo:lenet-5?alpha=2'], /has no option "alpha"/],
    ] as const) {
      const r = await cli([...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
  });
});
