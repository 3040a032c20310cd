/**
 * DARTS: the derived cell is a valid spec whose tfjs parameter count matches the analysis;
 * derivation keeps the strongest non-zero edges and operations; a short search on a digits subset
 * trains the supernet (its loss falls) and moves the architecture weights only when alpha's step
 * size allows; `parsimony darts` runs end to end and saves the retrained model, and bad input is
 * one line with nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initBackend } from '../../src/models/backends/index.js';
import { analyzeModel } from '../../src/models/complexity/analyze.js';
import { parseModelSpec } from '../../src/models/spec/validate.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import {
  DARTS_OPS,
  type DartsCell,
  dartsCellSpec,
  dartsEdges,
  dartsImageData,
  dartsSearch,
  deriveCell,
  randomCell,
} from '../../src/search/darts.js';
import { assertRejected, runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const NETWORK = { inputShape: [8, 8, 1], classes: 10, channels: 4, cells: 2 };

describe('DARTS cell space', () => {
  it('builds a derived cell as a spec whose tfjs parameter count matches the analysis', async () => {
    await initBackend();
    const cell: DartsCell = {
      nodes: 3,
      edges: [
        { from: 0, to: 1, ops: ['sep_conv_3x3', 'sep_conv_5x5'] },
        { from: 0, to: 2, ops: ['skip_connect'] },
        { from: 1, to: 2, ops: ['avg_pool_3x3'] },
        { from: 0, to: 3, ops: ['skip_connect'] },
        { from: 2, to: 3, ops: ['conv_3x3', 'max_pool_3x3'] },
      ],
    };
    const spec = dartsCellSpec(cell, NETWORK);
    assert.deepEqual(parseModelSpec(JSON.stringify(spec)), spec, 'the spec survives a JSON round trip');
    const c = 4;
    // stem 3*3*1*4+4; per cell: sep3 9c+c*c+c, sep5 25c+c*c+c, conv3 9c*c+c, mix 3c*c+c; head 4*10+10
    const perCell = 9 * c + c * c + c + (25 * c + c * c + c) + (9 * c * c + c) + (3 * c * c + c);
    assert.equal(analyzeModel(spec).params, 40 + 2 * perCell + 50, 'hand count of the derived network');
    const model = await buildTfjsModel(spec, { seed: 1 });
    try {
      assert.equal(model.countParams(), analyzeModel(spec).params, 'tfjs counts the same parameters');
      assert.deepEqual(model.outputs[0].shape, [null, 10]);
    } finally {
      model.dispose();
    }
  });

  it('derives the strongest non-zero edges per node and operations per edge', () => {
    const ops = [...DARTS_OPS];
    const edges = dartsEdges(3);
    assert.equal(edges.length, 6, '1 + 2 + 3 edges for three nodes');
    const o = (name: string) => ops.indexOf(name as (typeof ops)[number]);
    const row = (strong: string, w = 0.5, second?: string) =>
      ops.map((op, k) =>
        k === o(strong) ? w : second && op === second ? 0.3 : k === o('none') ? 0.9 : 0.01,
      );
    // 'none' is the largest everywhere and must never be chosen.
    const weights = [
      row('conv_3x3'),
      row('sep_conv_3x3', 0.2),
      row('max_pool_3x3', 0.6, 'skip_connect'),
      row('avg_pool_3x3', 0.7),
      row('skip_connect', 0.1),
      row('sep_conv_5x5', 0.4),
    ];
    const cell = deriveCell(ops, edges, weights, 3, { edgesPerNode: 2, opsPerEdge: 1 });
    assert.deepEqual(cell.edges, [
      { from: 0, to: 1, ops: ['conv_3x3'] },
      { from: 0, to: 2, ops: ['sep_conv_3x3'] },
      { from: 1, to: 2, ops: ['max_pool_3x3'] },
      { from: 0, to: 3, ops: ['avg_pool_3x3'] },
      { from: 2, to: 3, ops: ['sep_conv_5x5'] },
    ]);
    const two = deriveCell(ops, edges, weights, 3, { edgesPerNode: 1, opsPerEdge: 2 });
    assert.deepEqual(two.edges[1], { from: 1, to: 2, ops: ['max_pool_3x3', 'skip_connect'] });
    const random = randomCell(cell, ops, 5);
    assert.deepEqual(
      random.edges.map((e) => [e.to, e.ops.length]),
      cell.edges.map((e) => [e.to, e.ops.length]),
      'a random cell has the same shape',
    );
    assert.ok(
      random.edges.every((e) => !e.ops.includes('none') && e.from < e.to),
      'random edges are valid',
    );
  });

  it('trains the supernet and moves the architecture weights on a digits subset', async () => {
    await initBackend();
    const data = await dartsImageData('digits', { seed: 1, trainSamples: 400 });
    const run = (archLearningRate: number) =>
      dartsSearch({
        ...NETWORK,
        train: data.train,
        validation: data.validation,
        epochs: 3,
        archLearningRate,
        seed: 2,
      });
    const searched = await run(0.02);
    assert.equal(searched.history.length, 3);
    assert.ok(
      searched.history[2].loss < searched.history[0].loss,
      `supernet loss ${searched.history.map((h) => h.loss.toFixed(3)).join(' -> ')} did not fall`,
    );
    const spread = (w: number[][]) => Math.max(...w.flat()) - Math.min(...w.flat());
    const frozen = await run(1e-9);
    assert.ok(
      spread(frozen.weights) < 0.002,
      `alpha moved without a step size: spread ${spread(frozen.weights)}`,
    );
    assert.ok(spread(searched.weights) > 0.02, `alpha barely moved: spread ${spread(searched.weights)}`);
    assert.equal(searched.cell.edges.length, 5, 'one edge into node 1, two into nodes 2 and 3');
    const spec = dartsCellSpec(searched.cell, NETWORK);
    assert.ok(
      analyzeModel(spec).params < searched.supernetParams,
      'the derived network is smaller than the supernet',
    );
  });
});

describe('parsimony darts', () => {
  it('searches, retrains and saves the derived model', async () => {
    const out = join(tempDir('darts'), 'model');
    const r = await runCliCaptured([
      'darts',
      '--dataset',
      'digits',
      '--train-samples',
      '300',
      '--epochs',
      '1',
      '--retrain-epochs',
      '2',
      '--channels',
      '4',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.history.length, 1);
    assert.ok(result.retrain.test > 0.1, `test accuracy ${result.retrain.test}`);
    for (const file of ['model.json', 'weights.bin', 'parsimony-model.json', 'darts.json'])
      assert.ok(existsSync(join(out, file)), `${file} not saved`);
    const saved = JSON.parse(readFileSync(join(out, 'darts.json'), 'utf8'));
    assert.deepEqual(saved.cell, result.cell);
  });

  it('rejects a dataset that is not images, too many kept edges and an existing --out, writing nothing', async () => {
    const dir = tempDir('darts-bad');
    const csv = join(dir, 'table.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(csv, 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n');
    const out = join(dir, 'out');
    assertRejected(
      await runCliCaptured(['darts', '--dataset', `csv:${csv}`, '--out', out]),
      /needs \[height, width, channels\]/,
      out,
    );
    assertRejected(
      await runCliCaptured([
        'darts',
        '--dataset',
        'digits',
        '--nodes',
        '2',
        '--edges-per-node',
        '3',
        '--out',
        out,
      ]),
      /--edges-per-node 3 is more than --nodes 2/,
      out,
    );
    const existing = join(dir, 'existing');
    mkdirSync(existing);
    const r = await runCliCaptured(['darts', '--dataset', 'digits', '--out', existing]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /the directory exists/);
  });
});
