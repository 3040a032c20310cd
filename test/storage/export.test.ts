import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution } from '../../src/core/distributions.js';
import { type FrozenTrial, freezeTrial } from '../../src/core/frozen-trial.js';
import { exportTrials } from '../../src/storage/export.js';

function trial(partial: Partial<FrozenTrial> & { number: number }): FrozenTrial {
  return freezeTrial({
    trialId: partial.number,
    state: 'COMPLETE',
    values: null,
    params: {},
    distributions: {},
    userAttrs: {},
    systemAttrs: {},
    intermediateValues: {},
    datetimeStart: null,
    datetimeComplete: null,
    ...partial,
  });
}

const x = new FloatDistribution(0, 1);
const act = new CategoricalDistribution(['relu', 'a,b', true, null]);
const start = new Date('2025-01-02T03:04:05.006Z');
const end = new Date('2025-01-02T03:04:07.506Z');

describe('exportTrials', () => {
  it('writes one CSV row per trial with Optuna-like columns', () => {
    const csv = exportTrials(
      [
        trial({
          number: 0,
          values: [0.125],
          params: { x: 0.5, act: 'a,b' },
          distributions: { x, act },
          userAttrs: { note: 'say "hi"', meta: { k: [1, 2] } },
          datetimeStart: start,
          datetimeComplete: end,
        }),
        trial({
          number: 1,
          state: 'PRUNED',
          values: [Number.NaN],
          params: { act: true },
          distributions: { act },
        }),
        trial({ number: 2, state: 'FAIL', params: { act: null, x: 1e-20 }, distributions: { act, x } }),
        trial({ number: 3, state: 'RUNNING', values: [Number.NEGATIVE_INFINITY], datetimeStart: start }),
      ],
      'csv',
    );
    assert.equal(
      csv,
      [
        'number,state,value,params_act,params_x,user_attrs_meta,user_attrs_note,datetime_start,datetime_complete,duration_seconds',
        '0,COMPLETE,0.125,"a,b",0.5,"{""k"":[1,2]}","say ""hi""",2025-01-02T03:04:05.006Z,2025-01-02T03:04:07.506Z,2.5',
        '1,PRUNED,nan,True,,,,,,',
        '2,FAIL,,,1e-20,,,,,',
        '3,RUNNING,-inf,,,,,2025-01-02T03:04:05.006Z,,',
        '',
      ].join('\n'),
    );
  });

  it('names one column per objective for multi-objective studies', () => {
    const trials = [
      trial({ number: 0, values: [1, Number.POSITIVE_INFINITY] }),
      trial({ number: 1, state: 'FAIL' }),
    ];
    const csv = exportTrials(trials, 'csv', { nObjectives: 2 }).split('\n');
    assert.equal(csv[0], 'number,state,values_0,values_1,datetime_start,datetime_complete,duration_seconds');
    assert.equal(csv[1], '0,COMPLETE,1,inf,,,');
    assert.equal(csv[2], '1,FAIL,,,,,');
    // Without the option the width comes from the trials.
    assert.equal(exportTrials(trials, 'csv').split('\n')[0], csv[0]);
    assert.equal(
      exportTrials([], 'csv'),
      'number,state,value,datetime_start,datetime_complete,duration_seconds\n',
    );
  });

  it('writes everything as JSON, non-finite numbers as strings', () => {
    const json = JSON.parse(
      exportTrials(
        [
          trial({
            number: 0,
            values: [Number.POSITIVE_INFINITY],
            params: { x: 0.5 },
            distributions: { x },
            intermediateValues: { 0: 1, 3: Number.NaN },
            systemAttrs: { constraints: [0] },
            datetimeStart: start,
            datetimeComplete: end,
          }),
        ],
        'json',
      ),
    );
    assert.deepEqual(json, [
      {
        number: 0,
        state: 'COMPLETE',
        values: ['Infinity'],
        params: { x: 0.5 },
        distributions: { x: { type: 'float', low: 0, high: 1 } },
        userAttrs: {},
        systemAttrs: { constraints: [0] },
        intermediateValues: { 0: 1, 3: 'NaN' },
        datetimeStart: '2025-01-02T03:04:05.006Z',
        datetimeComplete: '2025-01-02T03:04:07.506Z',
        durationSeconds: 2.5,
      },
    ]);
    assert.throws(() => exportTrials([], 'xml' as 'csv'), { code: 'INVALID_ARGUMENT' });
  });
});
