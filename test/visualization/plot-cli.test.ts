import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { getImportanceData, getParetoData, PLOT_KINDS } from '../../src/visualization/index.js';
import { runCliCaptured } from '../helpers/cli.js';
import { seedSqliteStudy } from '../helpers/seed-study.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-plot-'));
const db = join(dir, 's.db');
const storage = `sqlite:${db}`;

describe('parsimony plot and report', () => {
  before(async () => {
    await seedSqliteStudy(db, 'demo', { trials: 120, seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every kind as SVG', async () => {
    for (const kind of PLOT_KINDS) {
      const out = join(dir, `${kind}.svg`);
      const r = await runCliCaptured(['plot', kind, '--storage', storage, '--study', 'demo', '--out', out]);
      assert.equal(r.code, 0, `${kind}: ${r.err}`);
      const svg = readFileSync(out, 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, kind);
      assert.ok(svg.trimEnd().endsWith('</svg>'), `${kind}: complete document`);
    }
  });

  it('plot importance --importance-method ped-anova titles and orders the bars by PED-ANOVA', async () => {
    const out = join(dir, 'importance-ped.svg');
    const r = await runCliCaptured([
      'plot',
      'importance',
      ...['--storage', storage, '--study', 'demo', '--out', out, '--importance-method', 'ped-anova'],
    ]);
    assert.equal(r.code, 0, r.err);
    const svg = readFileSync(out, 'utf8');
    assert.match(svg, /PED-ANOVA/);
    const s = new SqliteStorage(db);
    const trials = await s.getAllTrials(await s.getStudyIdFromName('demo'));
    await s.close();
    const [first] = getImportanceData(trials, ['maximize'], { method: 'ped-anova' }).importances;
    assert.ok(svg.includes(`>${first.param}<`), `the most important parameter ${first.param} is drawn`);
  });

  it('draws one marker per Pareto-front trial, with the trial named', async () => {
    const s = new SqliteStorage(db);
    const trials = await s.getAllTrials(await s.getStudyIdFromName('demo'));
    await s.close();
    const front = getParetoData(trials, ['maximize']).front;
    const svg = readFileSync(join(dir, 'pareto.svg'), 'utf8');
    const frontMarkers = svg.match(/<circle class="point"[^>]*r="4"[^>]*><title>trial \d+/g) ?? [];
    assert.equal(frontMarkers.length, front.length);
    for (const p of front)
      assert.ok(svg.includes(`<title>trial ${p.number}:`), `trial ${p.number} is labelled`);
  });

  it('writes self-contained HTML with ECharts inlined', async () => {
    const out = join(dir, 'history.html');
    const r = await runCliCaptured([
      'plot',
      'history',
      '--storage',
      storage,
      '--study',
      'demo',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(out, 'utf8');
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.ok(html.includes('echarts'), 'ECharts is inlined');
    assert.ok(html.length > 500_000, `the bundle is in the file (${html.length} chars)`);
  });

  it('writes a report with every figure that applies', async () => {
    const out = join(dir, 'report.html');
    const r = await runCliCaptured(['report', '--storage', storage, '--study', 'demo', '--out', out]);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(out, 'utf8');
    for (const kind of PLOT_KINDS) assert.ok(html.includes(`<h2>${kind}</h2>`), `section ${kind}`);
    assert.ok(!html.includes('Not shown'), 'every figure applies to the seeded study');
    assert.ok(!html.includes(dir), 'no storage path in the report');
  });

  it('fails with one line and writes nothing on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['plot', 'pie', '--storage', storage, '--study', 'demo', '--out', join(dir, 'x1.svg')],
        /unknown plot kind "pie"/,
      ],
      [
        ['plot', 'history', '--storage', storage, '--study', 'nope', '--out', join(dir, 'x2.svg')],
        /no study named "nope"/,
      ],
      [
        ['plot', 'history', '--storage', storage, '--study', 'demo', '--out', join(dir, 'x3.pdf')],
        /write \.svg, \.png or \.html/,
      ],
      [
        [
          'plot',
          'history',
          '--storage',
          `sqlite:${join(dir, 'missing.db')}`,
          '--study',
          'demo',
          '--out',
          join(dir, 'x4.svg'),
        ],
        /not found/,
      ],
      [
        [
          'plot',
          'contour',
          '--storage',
          storage,
          '--study',
          'demo',
          '--params',
          'lr,bogus',
          '--out',
          join(dir, 'x5.svg'),
        ],
        /"bogus" does not occur/,
      ],
      [
        [
          'plot',
          'pareto',
          '--storage',
          'postgres://me:s3cret@127.0.0.1:1/db',
          '--study',
          'demo',
          '--out',
          join(dir, 'x6.svg'),
        ],
        /./,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCliCaptured(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, pattern, r.err);
      assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
      assert.ok(!r.err.includes('s3cret'), 'no password in the message');
      assert.ok(!existsSync(args[args.length - 1]), `nothing written for ${args.join(' ')}`);
    }
  });
});

describe('the library does not import the dashboard', () => {
  it('no module reachable from src/index.ts is under src/dashboard', () => {
    const root = resolve(dirname(new URL(import.meta.url).pathname), '../../src');
    const seen = new Set<string>();
    const stack = [join(root, 'index.ts')];
    while (stack.length) {
      const file = stack.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
        if (existsSync(target)) stack.push(target);
      }
    }
    assert.ok(seen.size > 50, `walked the import graph (${seen.size} files)`);
    const dashboard = [...seen].filter((f) => f.startsWith(join(root, 'dashboard')));
    assert.deepEqual(dashboard, []);
    assert.ok(readdirSync(join(root, 'dashboard')).length > 0, 'the dashboard exists apart');
  });
});
