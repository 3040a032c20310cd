import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dominates,
  hypervolume,
  nonDominatedRanks,
  paretoFrontIndices,
} from '../../src/core/multi-objective.js';

describe('multi-objective helpers', () => {
  it('decides dominance for minimisation', () => {
    assert.equal(dominates([1, 2], [2, 2]), true);
    assert.equal(dominates([1, 2], [1, 2]), false);
    assert.equal(dominates([1, 3], [2, 2]), false);
  });

  it('ranks points into fronts', () => {
    const points = [
      [1, 5],
      [2, 2],
      [5, 1],
      [3, 3],
      [6, 6],
      [2, 2],
    ];
    assert.deepEqual(nonDominatedRanks(points), [0, 0, 0, 1, 2, 0]);
    assert.deepEqual(paretoFrontIndices(points), [0, 1, 2, 5]);
  });

  it('computes exact hypervolumes in 2-D and 3-D', () => {
    assert.equal(hypervolume([[1, 1]], [3, 3]), 4);
    assert.equal(
      hypervolume(
        [
          [1, 2],
          [2, 1],
        ],
        [3, 3],
      ),
      3,
    );
    // Points outside the reference box add nothing.
    assert.equal(hypervolume([[4, 0]], [3, 3]), 0);
    // Two unit-offset boxes in 3-D: 8 + 8 - overlap 4 = 12.
    assert.equal(
      hypervolume(
        [
          [0, 1, 1],
          [1, 0, 1],
        ],
        [2, 3, 3],
      ),
      2 * 2 * 2 + 1 * 3 * 2 - 1 * 2 * 2,
    );
  });
});

describe('paretoFrontIndices', () => {
  it('agrees with full non-dominated sorting on random points in 1 to 4 objectives', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const m of [1, 2, 3, 4]) {
      for (let round = 0; round < 20; round++) {
        // Coarse values create ties and duplicates, the cases a sweep gets wrong.
        const points = Array.from({ length: 60 }, () =>
          Array.from({ length: m }, () => Math.floor(rand() * 6)),
        );
        const expected = nonDominatedRanks(points)
          .map((r, i) => (r === 0 ? i : -1))
          .filter((i) => i >= 0);
        assert.deepEqual(paretoFrontIndices(points), expected, `m=${m} round=${round}`);
      }
    }
  });
});
