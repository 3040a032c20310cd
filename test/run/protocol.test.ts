import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatParam,
  parseNumber,
  parseProtocolLine,
  placeholderNames,
  substitutePlaceholders,
} from '../../src/run/protocol.js';

describe('trial line protocol', () => {
  it('leaves ordinary output alone, including lines that merely mention parsimony', () => {
    assert.equal(parseProtocolLine('epoch 3: loss 0.25'), null);
    assert.equal(parseProtocolLine(' parsimony:result 1'), null);
    assert.equal(parseProtocolLine('Parsimony:result 1'), null);
  });

  it('parses reports, results and attributes', () => {
    assert.deepEqual(parseProtocolLine('parsimony:report 3 0.25'), {
      kind: 'report',
      step: 3,
      values: [0.25],
    });
    assert.deepEqual(parseProtocolLine('parsimony:report 0 1e-3,-2'), {
      kind: 'report',
      step: 0,
      values: [0.001, -2],
    });
    assert.deepEqual(parseProtocolLine('parsimony:result 0.97'), { kind: 'result', values: [0.97] });
    assert.deepEqual(parseProtocolLine('parsimony:result 1.5, 2\r'.replace('\r', '')), {
      kind: 'result',
      values: [1.5, 2],
    });
    assert.deepEqual(parseProtocolLine('parsimony:attr scores {"a": [1, 2]}'), {
      kind: 'attr',
      key: 'scores',
      value: { a: [1, 2] },
    });
  });

  it('accepts the spellings Python prints for infinities and NaN', () => {
    assert.deepEqual(parseProtocolLine('parsimony:result inf,-inf'), {
      kind: 'result',
      values: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    });
    assert.ok(Number.isNaN(parseNumber('nan')));
    assert.equal(parseNumber('0x10'), null);
    assert.equal(parseNumber(''), null);
    assert.equal(parseNumber('1.'), 1);
    assert.equal(parseNumber('.5e1'), 5);
  });

  it('rejects malformed protocol lines with a message naming the problem', () => {
    assert.throws(
      () => parseProtocolLine('parsimony:result abc'),
      /^ProtocolError: result is not a number: abc$/,
    );
    assert.throws(() => parseProtocolLine('parsimony:result'), /result line has no value/);
    assert.throws(
      () => parseProtocolLine('parsimony:report 1.5 2'),
      /report step is not an integer >= 0: 1.5/,
    );
    assert.throws(() => parseProtocolLine('parsimony:report -1 2'), /report step is not an integer >= 0/);
    assert.throws(() => parseProtocolLine('parsimony:report 1'), /report needs a step and a value/);
    assert.throws(() => parseProtocolLine('parsimony:report 1 2,x'), /report value is not a number: 2,x/);
    assert.throws(() => parseProtocolLine('parsimony:attr k not-json'), /attr k: value is not JSON/);
    assert.throws(() => parseProtocolLine('parsimony:reslt 1'), /unknown protocol line/);
  });

  it('substitutes placeholders per argument, with {{ }} for literal braces', () => {
    const params = { C: 0.001, kernel: 'rbf', on: true, n: 3 };
    assert.equal(substitutePlaceholders('--C={C}', params), '--C=0.001');
    assert.equal(substitutePlaceholders('{kernel}-{n}', params), 'rbf-3');
    assert.equal(substitutePlaceholders('{{"on": {on}}}', params), '{"on": true}');
    assert.throws(() => substitutePlaceholders('{nope}', params), /unknown parameter \{nope\}/);
    assert.deepEqual(placeholderNames('{a}{{b}}{c}'), ['a', 'c']);
    assert.equal(formatParam(1e-7), '1e-7');
    assert.equal(formatParam(null), 'null');
  });
});
