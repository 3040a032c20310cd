/**
 * The compression-report figure from a report a real `parsimony compress` run wrote (a small MLP
 * trained and pruned in two steps on digits): plot data, SVG and HTML through `parsimony plot
 * compression`, and one-line errors for a bad report.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer from 'puppeteer-core';
import { startDashboard } from '../../src/dashboard/server.js';
import { getCompressionReportData, readCompressionReport } from '../../src/visualization/compression.js';
import { mlpSpec } from '../compress/helpers.js';
import { CHROMIUM_AVAILABLE, CHROMIUM_PATH } from '../helpers/chromium.js';
import { runCliCaptured } from '../helpers/cli.js';

let dir: string;
let out: string;
// biome-ignore lint/suspicious/noExplicitAny: the report as parsed JSON
let report: any;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-compression-plot-'));
  const specFile = path.join(dir, 'mlp.json');
  await writeFile(specFile, JSON.stringify(mlpSpec()));
  out = path.join(dir, 'compressed');
  const r = await runCliCaptured([
    ...['compress', specFile, '--dataset', 'digits', '--method', 'global', '--sparsity', '0.8'],
    ...['--epochs', '3', '--finetune-epochs', '1', '--seed', '1', '--out', out],
  ]);
  assert.equal(r.code, 0, r.err);
  report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compression-report figure', () => {
  it('has one point per row of the report: base, each step, the stored result', () => {
    const data = readCompressionReport(out); // the directory works as well as the file
    assert.equal(data.steps.length, report.steps.length + 2);
    assert.deepEqual(
      data.steps.map((s) => s.label),
      ['base', ...report.steps.map((s: { step: string }) => s.step), 'stored result'],
    );
    assert.equal(data.steps[0].nonZeroParams, report.base.nonZeroParams);
    const last = data.steps.at(-1)!;
    assert.equal(last.storedBytes, report.result.storedBytes);
    assert.equal(last.testAccuracy, report.result.testAccuracy);
    assert.ok(last.nonZeroParams < data.steps[0].nonZeroParams, 'pruning shows as fewer non-zero parameters');
  });

  it('parsimony plot compression writes SVG with the steps and HTML with the table', async () => {
    const svgFile = path.join(dir, 'c.svg');
    const r = await runCliCaptured([
      'plot',
      'compression',
      '--report',
      path.join(out, 'report.json'),
      '--out',
      svgFile,
    ]);
    assert.equal(r.code, 0, r.err);
    const svg = await readFile(svgFile, 'utf8');
    assert.match(svg, /^<svg xmlns/);
    assert.ok(svg.includes('stored result'), 'the x axis names the stored result');
    for (const s of report.steps) assert.ok(svg.includes(s.step), `step ${s.step} is on the axis`);
    const stored = `stored result: stored bytes ${report.result.storedBytes}`;
    assert.ok(svg.includes(stored), `a point for ${stored}`);
    const htmlFile = path.join(dir, 'c.html');
    const h = await runCliCaptured(['plot', 'compression', '--report', out, '--out', htmlFile]);
    assert.equal(h.code, 0, h.err);
    const html = await readFile(htmlFile, 'utf8');
    assert.ok(html.includes('class="compression-steps"'), 'the steps table');
    assert.ok(html.includes(`<td>${report.result.storedBytes}</td>`), 'the stored size in the table');
  });

  it('a bad report is a one-line error naming the field, and nothing is written', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...report, result: { ...report.result, storedBytes: 'many' } }));
    const target = path.join(dir, 'never.svg');
    const r = await runCliCaptured(['plot', 'compression', '--report', bad, '--out', target]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /bad\.json: result\.storedBytes: expected a number/);
    assert.equal(existsSync(target), false, 'nothing written');
    const missing = await runCliCaptured(['plot', 'compression', '--out', target]);
    assert.match(missing.err, /needs --report/);
    assert.throws(() => getCompressionReportData({ steps: 3 }), /"steps" must be an array/);
  });
});

describe('compression report in the dashboard (dashboard --report DIR)', () => {
  it('serves the steps and charts over HTTP and never the report path', async () => {
    const d = await startDashboard({ reports: [out], port: 0, log: () => {} });
    try {
      const list = JSON.parse(await (await fetch(new URL('/api/compression', d.url))).text());
      assert.equal(list.reports.length, 1);
      assert.equal(list.reports[0].steps, report.steps.length);
      const body = await (await fetch(new URL('/api/compression/0', d.url))).text();
      assert.ok(!body.includes(dir), 'no path in the response');
      const one = JSON.parse(body);
      assert.equal(one.steps.length, report.steps.length + 2);
      assert.equal(one.charts.length, 2, 'sizes and accuracy charts');
      const stored = one.charts[0].series.find((x: { id: string }) => x.id === 'storedBytes');
      assert.equal(stored.data.at(-1), report.result.storedBytes);
      assert.equal((await fetch(new URL('/api/compression/7', d.url))).status, 404);
    } finally {
      await d.close();
    }
  });

  it('shows the steps table and both charts in headless Chromium', {
    skip: CHROMIUM_AVAILABLE ? false : `${CHROMIUM_PATH} not installed`,
  }, async () => {
    const d = await startDashboard({ reports: [out], port: 0, log: () => {} });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--disable-gpu',
        '--disable-dev-shm-usage',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${d.url}#/`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#reports a');
      await page.click('#reports a');
      await page.waitForSelector('#compression-steps');
      await page.waitForFunction(
        'document.querySelectorAll("#view .chart").length === 2 && [...document.querySelectorAll("#view .chart")].every((c) => c.dataset.ready === "1")',
      );
      const rows = await page.$$eval('#compression-steps tr', (trs) => trs.length);
      assert.equal(rows, report.steps.length + 3, 'a header and one row per base, step and stored result');
      await page.screenshot({ path: path.join(dir, 'compression.png'), fullPage: true });
    } finally {
      await browser.close();
      await d.close();
    }
  });
});
