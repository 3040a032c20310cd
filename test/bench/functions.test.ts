/**
 * The TypeScript port of the anchor suite must match ../shared/anchors/functions.py (next to the repository), or the
 * sampler benchmark compares Parsimony and Optuna on different problems. Known optima first, then
 * the Python file itself on random points and on the bounds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ackley,
  branin,
  getProblem,
  hartmann6,
  levy,
  rosenbrock,
  SUITE,
  styblinskiTang,
  zdt1,
  zdt2,
} from '../../bench/functions.js';
import { missingIsFatal } from '../../bench/lib/load.js';
import { ANCHORS_DIR, SYSTEM_PYTHON } from '../../bench/lib/python.js';
import { Random } from '../../src/core/random.js';

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} differs from ${expected} by more than ${tol}`,
  );
}

describe('bench functions: known values', () => {
  it('branin is 0.397887 at its three minimisers', () => {
    for (const x of [
      [-Math.PI, 12.275],
      [Math.PI, 2.275],
      [9.42478, 2.475],
    ])
      close(branin(x), 0.397887, 1e-5, `branin(${x})`);
    // (0 - 6)^2 + 10 (1 - 1/(8 pi)) cos 0 + 10
    close(branin([0, 0]), 56 - 10 / (8 * Math.PI), 1e-12, 'branin(0, 0)');
  });

  it('hartmann6 is -3.32237 at its minimiser and 0 far from the bumps', () => {
    close(
      hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
      -3.32237,
      1e-5,
      'hartmann6(x*)',
    );
    assert.ok(hartmann6([0, 0, 0, 0, 0, 0]) > -0.1);
  });

  it('rosenbrock, ackley and levy are 0 at their minimisers', () => {
    assert.equal(rosenbrock([1, 1, 1, 1, 1]), 0);
    assert.equal(rosenbrock([0, 0, 0, 0, 0]), 4);
    close(ackley([0, 0, 0, 0, 0]), 0, 1e-14, 'ackley(0)');
    close(ackley([1, 1, 1, 1, 1]), 3.6253849384403627, 1e-12, 'ackley(1)');
    close(levy([1, 1, 1, 1, 1]), 0, 1e-28, 'levy(1)');
  });

  it('styblinski-tang is -39.16617 d at x = -2.903534 in every coordinate', () => {
    const x = new Array(8).fill(-2.903534);
    close(styblinskiTang(x), -39.16616570377142 * 8, 1e-6, 'styblinski-tang(x*)');
    close(styblinskiTang(x), getProblem('styblinski-tang-8d').optimum!, 2e-3, 'suite optimum');
  });

  it('zdt1 and zdt2 follow their Pareto fronts when x1.. are 0', () => {
    const x = [0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(zdt1(x), [0.25, 0.5]);
    assert.deepEqual(zdt2(x), [0.25, 0.9375]);
    const ones = new Array(10).fill(1);
    close(zdt1(ones)[1], 10 * (1 - Math.sqrt(0.1)), 1e-12, 'zdt1(1)');
    close(zdt2(ones)[1], 10 * (1 - 0.01), 1e-12, 'zdt2(1)');
  });

  it('lists the suite in the Python order with consistent metadata', () => {
    assert.deepEqual(
      SUITE.map((p) => p.name),
      [
        'branin-2d',
        'hartmann-6d',
        'rosenbrock-5d',
        'ackley-5d',
        'levy-5d',
        'styblinski-tang-8d',
        'zdt1-10d',
        'zdt2-10d',
      ],
    );
    for (const p of SUITE) {
      assert.equal(p.lower.length, p.dims, p.name);
      assert.equal(p.upper.length, p.dims, p.name);
      assert.ok(
        p.lower.every((lo, i) => lo < p.upper[i]),
        p.name,
      );
    }
    assert.throws(() => getProblem('sphere-3d'), /unknown problem "sphere-3d"/);
  });
});

const PYTHON_SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[1])
from functions import SUITE
request = json.load(sys.stdin)
out = {}
for name, (lower, upper, dims, fn, optimum, n_obj) in SUITE.items():
    values = []
    for x in request.get(name, []):
        v = fn(x)
        values.append(list(v) if isinstance(v, tuple) else v)
    out[name] = {"lower": lower, "upper": upper, "dims": dims, "optimum": optimum,
                 "n_objectives": n_obj, "values": values}
print(json.dumps(out))
`;

const pythonFile = join(ANCHORS_DIR, 'functions.py');
const pythonMissing = !existsSync(SYSTEM_PYTHON)
  ? `${SYSTEM_PYTHON} is not installed`
  : !existsSync(pythonFile)
    ? `${pythonFile} is not present`
    : null;

describe('bench functions: against functions.py', () => {
  it('agrees with the Python suite on bounds, dimensions, optima and values', {
    skip: pythonMissing !== null && !missingIsFatal() ? pythonMissing! : false,
  }, () => {
    assert.equal(pythonMissing, null, `cannot compare with the Python suite: ${pythonMissing}`);
    const rng = new Random(20261122);
    const points: Record<string, number[][]> = {};
    for (const p of SUITE) {
      const list = [[...p.lower], [...p.upper], p.lower.map((lo, i) => (lo + p.upper[i]) / 2)];
      for (let k = 0; k < 8; k++) list.push(p.lower.map((lo, i) => rng.uniform(lo, p.upper[i])));
      points[p.name] = list;
    }
    const run = spawnSync(SYSTEM_PYTHON, ['-c', PYTHON_SCRIPT, ANCHORS_DIR], {
      input: JSON.stringify(points),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, `python failed: ${run.stderr}`);
    const python = JSON.parse(run.stdout) as Record<
      string,
      {
        lower: number[];
        upper: number[];
        dims: number;
        optimum: number | null;
        n_objectives: number;
        values: (number | number[])[];
      }
    >;
    assert.deepEqual(
      Object.keys(python),
      SUITE.map((p) => p.name),
    );
    for (const p of SUITE) {
      const py = python[p.name];
      assert.deepEqual([...p.lower], py.lower, `${p.name} lower`);
      assert.deepEqual([...p.upper], py.upper, `${p.name} upper`);
      assert.equal(p.dims, py.dims, `${p.name} dims`);
      assert.equal(p.optimum, py.optimum, `${p.name} optimum`);
      assert.equal(p.nObjectives, py.n_objectives, `${p.name} objectives`);
      assert.equal(py.values.length, points[p.name].length);
      points[p.name].forEach((x, k) => {
        const mine = p.fn(x);
        const theirs = py.values[k];
        const a = Array.isArray(mine) ? mine : [mine];
        const b = Array.isArray(theirs) ? theirs : [theirs];
        assert.equal(a.length, b.length, `${p.name} objectives at point ${k}`);
        // Same formulas; only the last bits of libm's exp/cos/sin may differ between runtimes.
        for (let j = 0; j < a.length; j++)
          close(a[j], b[j], 1e-11 * Math.max(1, Math.abs(b[j])), `${p.name}[${j}] at ${JSON.stringify(x)}`);
      });
    }
  });
});
