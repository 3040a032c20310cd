import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findPython, skipWithoutPython } from '../helpers/python.js';

const HELPER_DIR = fileURLToPath(new URL('../../python/', import.meta.url));

/** Runs a snippet with python/parsimony_trial.py importable; returns what it printed and its exit. */
function python(code: string) {
  const interpreter = findPython()!.executable;
  const script = `import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, ${JSON.stringify(HELPER_DIR)})\nimport parsimony_trial as p\n${code}`;
  const r = spawnSync(interpreter, ['-c', script], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('python/parsimony_trial.py', { skip: skipWithoutPython([], ['python3']) }, () => {
  it('writes the protocol lines', () => {
    const r = python(
      'p.report(0, 0.5)\np.report(2.0, [1, 2])\np.result([0.25, float("inf")])\np.attr("k", [1])',
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      'parsimony:report 0 0.5\nparsimony:report 2 1.0,2.0\nparsimony:result 0.25,inf\nparsimony:attr k [1]\n',
    );
  });

  it('refuses a step that is not a whole number >= 0, printing nothing', () => {
    for (const step of ['1.7', '-1', 'True', '"3"', 'float("nan")']) {
      const r = python(`p.report(${step}, 0.5)`);
      assert.equal(r.code, 1, `report(${step}) must fail`);
      assert.match(r.err, /ValueError: report: step must be an integer >= 0/, step);
      assert.equal(r.out, '', `report(${step}) printed ${r.out}`);
    }
  });

  it('refuses a NaN result, alone or in a list, printing nothing', () => {
    for (const value of ['float("nan")', '[0.5, float("nan")]']) {
      const r = python(`p.result(${value})`);
      assert.equal(r.code, 1, `result(${value}) must fail`);
      assert.match(r.err, /ValueError: result: the value is NaN/);
      assert.equal(r.out, '');
    }
    const text = python('p.result("0.5")');
    assert.match(text.err, /TypeError: result: expected a number, got '0.5'/);
  });
});
