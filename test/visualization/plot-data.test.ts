import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zooModel } from '../../src/models/zoo/index.js';
import {
  getContourData,
  getHistoryData,
  getImportanceData,
  getIntermediateData,
  getLayerComplexityData,
  getParallelCoordinateData,
  getParetoData,
  getSliceData,
  getTimelineData,
  parseMeasure,
} from '../../src/visualization/index.js';
import { pedAnovaImportances, topTrials } from '../../src/visualization/ped-anova.js';
import { trial } from './helpers.js';

describe('history', () => {
  const trials = [
    trial({ number: 0, values: [5] }),
    trial({ number: 1, values: [7] }),
    trial({ number: 2, state: 'FAIL', values: null }),
    trial({ number: 3, values: [2], systemAttrs: { constraints: [0.5] } }),
    trial({ number: 4, values: [3] }),
    trial({ number: 5, state: 'PRUNED', values: null }),
    trial({ number: 6, values: [1] }),
  ];

  it('tracks the best feasible value so far when minimising', () => {
    const h = getHistoryData(trials, ['minimize']);
    assert.deepEqual(
      h.points.map((p) => p.number),
      [0, 1, 3, 4, 6],
      'only COMPLETE trials are points',
    );
    assert.equal(h.points[2].feasible, false, 'trial 3 violates its constraint');
    assert.deepEqual(
      h.bestSoFar.map((b) => b.value),
      [5, 5, 5, 3, 1],
      'infeasible 2 never becomes the best',
    );
    assert.deepEqual(h.best, { number: 6, value: 1 });
  });

  it('tracks the maximum when maximising', () => {
    const h = getHistoryData(trials, ['maximize']);
    assert.deepEqual(
      h.bestSoFar.map((b) => b.value),
      [5, 7, 7, 7, 7],
    );
    assert.deepEqual(h.best, { number: 1, value: 7 });
  });

  it('rejects an objective the study does not have', () => {
    assert.throws(() => getHistoryData(trials, ['minimize'], { objective: 1 }), /out of range/);
  });
});

describe('pareto', () => {
  // accuracy (maximise) against params (minimise, from user attrs)
  const rows: [number, number, number][] = [
    [0, 0.9, 1000],
    [1, 0.8, 200],
    [2, 0.85, 1500], // dominated by 0
    [3, 0.95, 5000],
    [4, 0.7, 200], // dominated by 1
    [5, 0.99, 4000], // dominates 3
  ];
  const trials = rows.map(([number, acc, params]) => trial({ number, values: [acc], userAttrs: { params } }));

  it('finds the front of accuracy against a complexity attribute', () => {
    const p = getParetoData(trials, ['maximize']);
    assert.equal(p.x.name, 'params', 'the default x axis is the params attribute');
    assert.deepEqual(
      p.front.map((f) => f.number),
      [1, 0, 5],
      'front sorted by params',
    );
    assert.deepEqual(
      p.points.filter((q) => !q.onFront).map((q) => q.number),
      [2, 3, 4],
    );
  });

  it('uses two objectives of a multi-objective study and skips infeasible points', () => {
    const mo = [
      trial({ number: 0, values: [1, 5] }),
      trial({ number: 1, values: [2, 2] }),
      trial({ number: 2, values: [0, 0], systemAttrs: { constraints: [1] } }),
      trial({ number: 3, values: [3, 3] }),
      trial({ number: 4, values: [5, 1] }),
    ];
    const p = getParetoData(mo, ['minimize', 'minimize']);
    assert.deepEqual(
      p.front.map((f) => f.number),
      [0, 1, 4],
    );
    assert.equal(p.points.find((q) => q.number === 2)?.onFront, false, 'infeasible is never on the front');
  });

  it('explains when there is no second measure', () => {
    assert.throws(
      () => getParetoData([trial({ number: 0, values: [1] })], ['minimize']),
      /needs two measures/,
    );
  });

  it('parses axis names', () => {
    assert.deepEqual(parseMeasure('objective:1', ['minimize', 'maximize']), { kind: 'objective', index: 1 });
    assert.deepEqual(parseMeasure('macs', ['minimize']), {
      kind: 'attr',
      key: 'macs',
      direction: 'minimize',
    });
    assert.throws(() => parseMeasure('objective:3', ['minimize']), /out of range/);
  });
});

describe('parallel coordinates, slice and contour', () => {
  const trials = [
    trial({ number: 0, values: [1], params: { x: 1, lr: 0.01, optimizer: 'adam' } }),
    trial({ number: 1, values: [4], params: { x: 4, lr: 0.1, optimizer: 'sgd' } }),
    trial({ number: 2, state: 'FAIL', values: null, params: { x: 9 } }),
    trial({ number: 3, values: [2], params: { x: 2, lr: 0.001, optimizer: 'sgd' } }),
  ];

  it('puts the objective first and encodes categoricals by index', () => {
    const p = getParallelCoordinateData(trials, ['minimize']);
    assert.deepEqual(
      p.dimensions.map((d) => d.name),
      ['objective 0', 'lr', 'optimizer', 'x'],
    );
    assert.equal(p.dimensions[1].log, true, 'lr is a log axis');
    assert.deepEqual(p.dimensions[2].categories, ['adam', 'sgd']);
    assert.deepEqual(
      p.rows.map((r) => r.values),
      [
        [1, 0.01, 0, 1],
        [4, 0.1, 1, 4],
        [2, 0.001, 1, 2],
      ],
    );
    assert.equal(p.dimensions[3].max, 4, 'the failed trial is not on the x axis');
  });

  it('slices the objective by each parameter', () => {
    const s = getSliceData(trials, ['minimize'], { params: ['x'] });
    assert.equal(s.panels.length, 1);
    assert.deepEqual(
      s.panels[0].points.map((q) => [q.x, q.y]),
      [
        [1, 1],
        [4, 4],
        [2, 2],
      ],
    );
  });

  it('interpolates a contour grid that passes near the observed values', () => {
    const c = getContourData(trials, ['minimize'], { x: 'x', y: 'lr', gridSize: 40 });
    assert.equal(c.points.length, 3);
    assert.equal(c.z.length, 40);
    assert.equal(c.z[0].length, 40);
    const all = c.z.flat() as number[];
    assert.ok(Math.min(...all) >= 1 && Math.max(...all) <= 4, 'IDW stays within the observed range');
    // The cell nearest trial 0 (x=1, lr=0.01) is closer to 1 than to 4.
    const i = c.xs.reduce((b, v, k) => (Math.abs(v - 1) < Math.abs(c.xs[b] - 1) ? k : b), 0);
    const j = c.ys.reduce(
      (b, v, k) => (Math.abs(Math.log(v / 0.01)) < Math.abs(Math.log(c.ys[b] / 0.01)) ? k : b),
      0,
    );
    assert.ok((c.z[j][i] as number) < 2, `cell near trial 0 is ${c.z[j][i]}`);
    assert.throws(() => getContourData(trials, ['minimize'], { x: 'x', y: 'nope' }), /"nope" does not occur/);
  });
});

describe('intermediate values', () => {
  it('returns curves in step order with pruned trials marked', () => {
    const trials = [
      trial({ number: 0, intermediate: { 2: 0.5, 0: 0.9, 1: 0.7 } }),
      trial({ number: 1, state: 'PRUNED', values: null, intermediate: { 0: 0.95, 1: 0.93 } }),
      trial({ number: 2 }),
    ];
    const d = getIntermediateData(trials);
    assert.equal(d.curves.length, 2, 'a trial with no reports has no curve');
    assert.deepEqual(
      d.curves[0].steps.map((s) => s.step),
      [0, 1, 2],
    );
    assert.equal(d.curves[1].pruned, true);
    assert.equal(d.nPruned, 1);
  });
});

describe('importance', () => {
  it('ranks the parameter that drives the objective above noise parameters', () => {
    // y = 10 * (x - 5)^2 plus a small effect of lr; noise is unrelated.
    let s = 12345;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const trials = Array.from({ length: 120 }, (_, number) => {
      const x = rand() * 10;
      const noise = rand() * 10;
      const lr = 10 ** (-4 + 4 * rand());
      return trial({
        number,
        values: [10 * (x - 5) ** 2 + Math.log10(lr)],
        params: { x, noise, lr },
      });
    });
    const imp = getImportanceData(trials, ['minimize'], { seed: 3 });
    assert.equal(imp.importances[0].param, 'x', JSON.stringify(imp.importances));
    const byName = Object.fromEntries(imp.importances.map((i) => [i.param, i.importance]));
    assert.ok(byName.x > 0.8, `x explains most of the variance: ${byName.x}`);
    assert.ok(byName.x > 5 * byName.noise, `x (${byName.x}) >> noise (${byName.noise})`);
    const sum = imp.importances.reduce((a, i) => a + i.importance, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `importances sum to 1, got ${sum}`);
    const again = getImportanceData(trials, ['minimize'], { seed: 3 });
    assert.deepEqual(again, imp, 'same seed, same importances');
  });
});

describe('importance by fANOVA', () => {
  it('ranks the driving parameter first, a weaker one second and the noise parameter last', () => {
    // y = 10 * (x - 5)^2 + 15 * log10(lr): x drives it, lr matters less, noise not at all.
    let s = 777;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const trials = Array.from({ length: 200 }, (_, number) => {
      const x = rand() * 10;
      const noise = rand() * 10;
      const lr = 10 ** (-4 + 4 * rand());
      return trial({ number, values: [10 * (x - 5) ** 2 + 15 * Math.log10(lr)], params: { x, noise, lr } });
    });
    const imp = getImportanceData(trials, ['minimize'], { seed: 1, method: 'fanova', nTrees: 32 });
    assert.equal(imp.method, 'fanova');
    assert.deepEqual(
      imp.importances.map((i) => i.param),
      ['x', 'lr', 'noise'],
      JSON.stringify(imp.importances),
    );
    const byName = Object.fromEntries(imp.importances.map((i) => [i.param, i.importance]));
    // Var(10(x-5)^2) = 100 * 5^4 * 4/45 ~ 5556 and Var(15 log10 lr) = 225 * 16/12 = 300 on these ranges.
    assert.ok(byName.x > 0.85 && byName.x < 0.99, `x's share near 5556/5856: ${byName.x}`);
    assert.ok(byName.noise < 0.02, `noise explains almost nothing: ${byName.noise}`);
    const sum = imp.importances.reduce((a, i) => a + i.importance, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `shares are normalised, got ${sum}`);
  });

  it('rejects an unknown method by name', () => {
    assert.throws(
      () => getImportanceData([], ['minimize'], { method: 'shap' as 'mdi' }),
      /method must be one of mdi, fanova, ped-anova, got "shap"/,
    );
  });
});

describe('importance by PED-ANOVA', () => {
  it('equals the Pearson divergence worked out by hand for a categorical parameter', () => {
    // 20 trials alternating a/b; the top 10% (2 trials) are both "a". With the prior of one trial
    // spread over the 2 choices: p_top = (2.5/3, 0.5/3), p_all = (10.5/21, 10.5/21) = (1/2, 1/2), so
    // the divergence is ((5/6 - 1/2)^2 + (1/6 - 1/2)^2) / (1/2) = 4/9.
    const values = Float64Array.from({ length: 20 }, (_, i) => i % 2);
    const objective = Float64Array.from({ length: 20 }, (_, i) => (i % 2) + i / 100);
    const top = topTrials(objective, 'minimize', 0.1);
    assert.deepEqual(top, [0, 2]);
    const [importance] = pedAnovaImportances([{ kind: 'categorical', values, choices: 2 }], top);
    assert.ok(Math.abs(importance - 4 / 9) < 1e-12, `4/9, got ${importance}`);
    assert.deepEqual(topTrials(objective, 'maximize', 0.1), [19, 17], 'maximize takes the other end');
  });

  it('finds the parameters that decide the top 10%: the driving ones high, noise near zero', () => {
    // y = (x - 2)^2 + 3 * [optimizer = sgd]: the best trials have x near 2 and adam; noise and a
    // log-scaled lr do not enter y.
    let s = 4242;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const trials = Array.from({ length: 400 }, (_, number) => {
      const x = rand() * 10;
      const noise = rand() * 10;
      const lr = 10 ** (-4 + 4 * rand());
      const optimizer = rand() < 0.5 ? 'adam' : 'sgd';
      return trial({
        number,
        values: [(x - 2) ** 2 + (optimizer === 'sgd' ? 3 : 0)],
        params: { x, noise, lr, optimizer },
      });
    });
    const imp = getImportanceData(trials, ['minimize'], { method: 'ped-anova' });
    assert.equal(imp.method, 'ped-anova');
    assert.equal(imp.nTrials, 400);
    const byName = Object.fromEntries(imp.importances.map((i) => [i.param, i.importance]));
    assert.deepEqual(
      imp.importances.slice(0, 2).map((i) => i.param),
      ['x', 'optimizer'],
      JSON.stringify(imp.importances),
    );
    assert.ok(byName.noise < 0.05 && byName.lr < 0.05, `noise and lr near zero: ${JSON.stringify(byName)}`);
    const sum = imp.importances.reduce((a, i) => a + i.importance, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `normalised, got ${sum}`);
    // Maximising the same values, the top is x far from 2 (near 10): x leads again.
    const flipped = getImportanceData(trials, ['maximize'], { method: 'ped-anova' });
    assert.equal(flipped.importances[0].param, 'x', JSON.stringify(flipped.importances));
    assert.throws(
      () => getImportanceData(trials, ['minimize'], { method: 'ped-anova', quantile: 1 }),
      /quantile must be in \(0, 1\), got 1/,
    );
  });
});

describe('timeline', () => {
  it('packs overlapping trials into lanes and counts the peak parallelism', () => {
    const trials = [
      trial({ number: 0, start: 0, end: 100 }),
      trial({ number: 1, start: 10, end: 50 }),
      trial({ number: 2, start: 60, end: 200, state: 'FAIL', values: null }),
      trial({ number: 3, start: 120, end: null, state: 'RUNNING', values: null }),
    ];
    const t = getTimelineData(trials, { now: 300 });
    assert.deepEqual(
      t.bars.map((b) => b.lane),
      [0, 1, 1, 0],
    );
    assert.equal(t.maxParallel, 2);
    assert.equal(t.bars[3].end, 300, 'a running trial extends to now');
    assert.equal(t.bars[2].state, 'FAIL');
  });

  it('uses the worker attribute when trials record one', () => {
    const trials = [
      trial({ number: 0, start: 0, end: 10, systemAttrs: { worker: 'a' } }),
      trial({ number: 1, start: 20, end: 30, systemAttrs: { worker: 'b' } }),
      trial({ number: 2, start: 40, end: 50, systemAttrs: { worker: 'a' } }),
    ];
    const t = getTimelineData(trials);
    assert.deepEqual(t.lanes, ['a', 'b']);
    assert.deepEqual(
      t.bars.map((b) => b.lane),
      [0, 1, 0],
    );
    assert.equal(t.maxParallel, 1);
  });
});

describe('layer complexity', () => {
  it('analyses the model spec a trial stored', () => {
    const spec = zooModel('lenet-300-100');
    const d = getLayerComplexityData(trial({ number: 7, userAttrs: { modelSpec: JSON.stringify(spec) } }));
    assert.equal(d.total.params, 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
    const dense = d.layers.filter((l) => l.params > 0).map((l) => l.params);
    assert.deepEqual(dense, [784 * 300 + 300, 300 * 100 + 100, 100 * 10 + 10]);
    assert.equal(d.total.storedBytes, d.total.params * 4, 'float32 weights');
    assert.throws(() => getLayerComplexityData(trial({ number: 8 })), /trial 8 stored no model spec/);
  });
});
