import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runCliCaptured } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/run/', import.meta.url));
const STATES = ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING', 'WAITING'];

/**
 * Walks a JSON value: every `state` is one of the five trial states, every `counts` is keyed by
 * them, and no key names a duration in milliseconds (durations are seconds: `...Seconds`).
 */
function checkConventions(value: unknown, path: string, found: { states: number; seconds: number }): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkConventions(v, `${path}[${i}]`, found);
    });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const at = `${path}.${key}`;
    assert.doesNotMatch(key, /(Ms|_ms|Millis\w*)$/, `${at}: durations are in seconds`);
    if (/Seconds$/.test(key)) {
      assert.ok(v === null || typeof v === 'number', `${at} is a number of seconds`);
      found.seconds++;
    }
    if (key === 'state') {
      assert.ok(STATES.includes(v as string), `${at} = ${JSON.stringify(v)}`);
      found.states++;
    }
    if (key === 'counts') assert.deepEqual(Object.keys(v as object).sort(), [...STATES].sort(), at);
    checkConventions(v, at, found);
  }
}

describe('--json output', () => {
  it('spells trial states one way and gives durations in seconds, in every command', async () => {
    const dir = tempDir('json');
    const file = join(dir, 'study.yaml');
    writeFileSync(
      file,
      stringify({
        name: 'json',
        command: [
          process.execPath,
          join(FIXTURES, 'curve.mjs'),
          '--x',
          '{x}',
          '--n',
          '{n}',
          '--mode',
          '{mode}',
        ],
        space: {
          x: { type: 'float', low: -2, high: 3 },
          n: { type: 'int', low: 0, high: 4 },
          mode: { type: 'categorical', choices: ['good', 'bad'] },
        },
        sampler: { name: 'random', seed: 1 },
        trials: 3,
        concurrency: 1,
        storage: 'sqlite:json.db',
      }),
    );
    const storage = `sqlite:${join(dir, 'json.db')}`;
    const commands = [
      ['tune', file, '--json', '--quiet'],
      [
        'search',
        '--trials',
        '2',
        '--threads',
        '1',
        '--epochs',
        '1',
        '--out',
        join(dir, 's.db'),
        '--json',
        '--quiet',
      ],
      ['studies', 'list', '--storage', storage, '--json'],
      ['studies', 'export', 'json', '--storage', storage, '--format', 'json'],
    ];
    const found = { states: 0, seconds: 0 };
    for (const args of commands) {
      const r = await runCliCaptured(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      checkConventions(JSON.parse(r.out), args.slice(0, 2).join(' '), found);
    }
    assert.ok(found.states >= 6, `states seen: ${found.states}`);
    assert.ok(found.seconds >= 5, `durations seen: ${found.seconds}`);
    // The CSV export names its duration column in seconds too.
    const csv = await runCliCaptured(['studies', 'export', 'json', '--storage', storage]);
    assert.match(csv.out.split('\n')[0], /,duration_seconds$/);
  });
});
