/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by puppeteer-core) on a
 * seeded SQLite study: every view renders the data the plot functions compute, clicking a Pareto
 * point opens that trial, and a trial written while the page is open arrives without a reload.
 * Screenshots go to a temporary folder (printed). Skips only when Chromium is missing and CI is
 * not set; under CI=true a missing browser fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import {
  getHistoryData,
  getImportanceData,
  getIntermediateData,
  getParetoData,
  getTimelineData,
} from '../../src/visualization/index.js';
import { seedSqliteStudy, seedTemplates } from '../helpers/seed-study.js';

// Functions passed to page.evaluate run in the page; these stand in for the DOM types, which the
// project's tsconfig (Node only) does not include.
// biome-ignore lint/suspicious/noExplicitAny: page-side globals
declare const document: any;
// biome-ignore lint/suspicious/noExplicitAny: page-side globals
declare const window: any;
// biome-ignore lint/suspicious/noExplicitAny: page-side element
type PageElement = any;

export const CHROMIUM = process.env.PARSIMONY_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian package chromium`);

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox needs an unprivileged user; CI runs as root.
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--window-size=1280,900',
    ],
    defaultViewport: { width: 1280, height: 900 },
  });
}

/** Waits for every chart of the current view to have drawn once. */
async function chartsReady(page: Page, count?: number): Promise<number> {
  await page.waitForFunction(
    (n) => {
      const charts = Array.from(
        document.querySelectorAll('#view .chart, #trial-layers .chart'),
      ) as PageElement[];
      return (
        (n === null ? charts.length > 0 : charts.length === n) &&
        charts.every((c: PageElement) => c.dataset.ready === '1')
      );
    },
    {},
    count ?? null,
  );
  return page.$$eval('#view .chart', (els) => els.length);
}

/** Data lengths of each series of the first chart of the view, by series id. */
function seriesLengths(page: Page, index = 0): Promise<Record<string, number>> {
  return page.evaluate((i) => {
    const div = document.querySelectorAll('#view .chart')[i];
    const option = window.echarts.getInstanceByDom(div).getOption();
    return Object.fromEntries(
      option.series.map((s: { id: string; data: unknown[] }) => [s.id, s.data.length]),
    );
  }, index);
}

describe('dashboard in headless Chromium', { skip: available ? false : `${CHROMIUM} not installed` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-browser-'));
  const shots = mkdtempSync(join(tmpdir(), 'parsimony-screenshots-'));
  const dbPath = join(dir, 'study.db');
  let browser: Browser;
  let page: Page;
  let base = '';
  let close: () => Promise<void> = async () => {};
  let trials: readonly FrozenTrial[] = [];

  before(async () => {
    const id = await seedSqliteStudy(dbPath, 'demo', { trials: 240, seed: 11 });
    const storage = new SqliteStorage(dbPath);
    trials = await storage.getAllTrials(id);
    await storage.close();
    const d = await startDashboard({ storage: `sqlite:${dbPath}`, port: 0, refreshMs: 200, log: () => {} });
    base = d.url;
    close = d.close;
    browser = await launchChromium();
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    console.log(`screenshots: ${shots}`);
  });

  after(async () => {
    await browser?.close();
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const go = async (hash: string) => {
    await page.goto(`${base}#${hash}`, { waitUntil: 'domcontentloaded' });
  };

  it('lists the study with its counts and best value', async () => {
    await go('/');
    await page.waitForSelector('#studies tr[data-study]');
    const text = await page.$eval('#studies', (el) => el.textContent ?? '');
    assert.match(text, /demo/);
    assert.match(text, /240/);
    const best = trials
      .filter((t) => t.state === 'COMPLETE')
      .reduce((a, b) => ((b.values?.[0] ?? 0) > (a.values?.[0] ?? 0) ? b : a));
    assert.match(text, new RegExp(`trial ${best.number}\\b`), 'the best trial is named');
    await shot('studies');
  });

  it('history shows every completed trial and the best-so-far line', async () => {
    await go('/study/demo/history');
    await chartsReady(page, 1);
    const lengths = await seriesLengths(page);
    const expected = getHistoryData(trials, ['maximize']);
    assert.equal(lengths.values, expected.points.length);
    assert.equal(lengths.best, expected.bestSoFar.length);
    await shot('history');
  });

  it('the Pareto view has as many front points as the front, and clicking one opens the trial', async () => {
    await go('/study/demo/pareto');
    await chartsReady(page, 1);
    const expected = getParetoData(trials, ['maximize']);
    const lengths = await seriesLengths(page);
    assert.equal(lengths.front, expected.front.length, 'front points');
    assert.equal(lengths.dominated + lengths.infeasible, expected.points.length - expected.front.length);
    await shot('pareto');
    // The front point farthest from the other front points, so the click cannot land on a neighbour.
    const point = await page.evaluate(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      const chart = window.echarts.getInstanceByDom(div);
      const front = chart.getOption().series.find((s: { id: string }) => s.id === 'front');
      const pixels = front.data.map((d: { value: number[]; number: number }) => {
        const [x, y] = chart.convertToPixel({ seriesId: 'front' }, d.value);
        return { x, y, number: d.number };
      });
      let best = pixels[0];
      let bestGap = -1;
      for (const p of pixels) {
        let gap = Number.POSITIVE_INFINITY;
        for (const q of pixels) if (q !== p) gap = Math.min(gap, Math.hypot(p.x - q.x, p.y - q.y));
        if (gap > bestGap) {
          bestGap = gap;
          best = p;
        }
      }
      const r = div.getBoundingClientRect();
      return { x: r.left + best.x, y: r.top + best.y, number: best.number as number };
    });
    const target = expected.front.find((p) => p.number === point.number);
    assert.ok(target, `trial ${point.number} is on the expected front`);
    await page.mouse.move(point.x, point.y);
    await page.mouse.click(point.x, point.y);
    await page.waitForSelector('#trial-title');
    const title = await page.$eval('#trial-title', (el) => el.textContent ?? '');
    assert.match(title, new RegExp(`^Trial ${target.number}\\b`), title);
    const record = JSON.parse(await page.$eval('#trial-record', (el) => el.textContent ?? '{}'));
    assert.equal(record.number, target.number);
    assert.deepEqual(record.values, trials.find((t) => t.number === target.number)?.values);
    await shot('trial');
  });

  it('parallel coordinates, slice, contour, intermediate, importance and timeline render their data', async () => {
    const complete = trials.filter((t) => t.state === 'COMPLETE');
    await go('/study/demo/parallel-coordinate');
    await chartsReady(page, 1);
    assert.equal((await seriesLengths(page)).rows, complete.length);
    await shot('parallel-coordinate');

    await go('/study/demo/slice');
    assert.equal(await chartsReady(page, 4), 4, 'one slice per parameter');
    assert.equal((await seriesLengths(page, 0))['slice-lr'], complete.length);
    await shot('slice');

    await go('/study/demo/contour');
    await chartsReady(page, 1);
    assert.equal((await seriesLengths(page)).contour, 30 * 30);
    await shot('contour');

    await go('/study/demo/intermediate');
    await chartsReady(page, 1);
    const curves = getIntermediateData(trials).curves;
    const lengths = await seriesLengths(page);
    assert.equal(Object.keys(lengths).length, curves.length, 'one line per trial that reported');
    await shot('intermediate');

    await go('/study/demo/importance');
    await chartsReady(page, 1);
    const order = await page.evaluate(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      const option = window.echarts.getInstanceByDom(div).getOption();
      return option.yAxis[0].data;
    });
    const importances = getImportanceData(trials, ['maximize']).importances.map((i) => i.param);
    assert.deepEqual([...order].reverse(), importances, 'bars in importance order');
    assert.notEqual(importances[0], 'noise', 'the noise parameter is not the most important');
    await shot('importance');
    // The fANOVA method, chosen in the page, draws the bars fANOVA ranks.
    await page.select('#importance-method', 'fanova');
    await page.waitForFunction(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      return (
        div?.dataset.ready === '1' &&
        /fANOVA/.test(window.echarts.getInstanceByDom(div).getOption().title[0].text)
      );
    });
    const fanovaOrder = await page.evaluate(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      return window.echarts.getInstanceByDom(div).getOption().yAxis[0].data;
    });
    const fanova = getImportanceData(trials, ['maximize'], { method: 'fanova' }).importances.map(
      (i) => i.param,
    );
    assert.deepEqual([...fanovaOrder].reverse(), fanova, 'fANOVA bars in fANOVA order');
    await shot('importance-fanova');
    await page.select('#importance-method', 'ped-anova');
    await page.waitForFunction(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      return (
        div?.dataset.ready === '1' &&
        /PED-ANOVA/.test(window.echarts.getInstanceByDom(div).getOption().title[0].text)
      );
    });
    const pedOrder = await page.evaluate(() => {
      const div = document.querySelector('#view .chart') as PageElement;
      return window.echarts.getInstanceByDom(div).getOption().yAxis[0].data;
    });
    const ped = getImportanceData(trials, ['maximize'], { method: 'ped-anova' }).importances.map(
      (i) => i.param,
    );
    assert.deepEqual([...pedOrder].reverse(), ped, 'PED-ANOVA bars in PED-ANOVA order');
    await shot('importance-ped-anova');

    await go('/study/demo/timeline');
    await chartsReady(page, 1);
    assert.equal((await seriesLengths(page)).timeline, getTimelineData(trials).bars.length);
    await shot('timeline');
  });

  it('the trial table pages and sorts, and a row opens the full record', async () => {
    await go('/study/demo/trials');
    await page.waitForSelector('#trials tr[data-number]');
    assert.equal(await page.$$eval('#trials tr[data-number]', (r) => r.length), 50);
    assert.match(await page.$eval('#table-range', (e) => e.textContent ?? ''), /1–50 of 240/);
    await page.click('#trials th[data-col="value0"]'); // ascending
    await page.waitForFunction(() =>
      document.querySelector('#trials th[data-col="value0"]')?.textContent?.includes('▲'),
    );
    await page.click('#trials th[data-col="value0"]'); // descending
    await page.waitForFunction(() =>
      document.querySelector('#trials th[data-col="value0"]')?.textContent?.includes('▼'),
    );
    const first = await page.$eval('#trials tr[data-number]', (r) =>
      Number((r as PageElement).dataset.number),
    );
    const best = trials
      .filter((t) => t.values)
      .reduce((a, b) => ((b.values?.[0] ?? 0) > (a.values?.[0] ?? 0) ? b : a));
    assert.equal(first, best.number, 'highest value first');
    await shot('trials');
    await page.click('#next');
    await page.waitForFunction(() =>
      /51–100 of 240/.test(document.querySelector('#table-range')?.textContent ?? ''),
    );
    await page.click('#trials tr[data-number]');
    await page.waitForSelector('#trial-record');
  });

  it('a trial with a stored model spec shows its per-layer complexity', async () => {
    const withSpec = trials.find((t) => t.userAttrs.modelSpec !== undefined);
    assert.ok(withSpec, 'the seed stores specs');
    await go(`/study/demo/trial/${withSpec.number}`);
    await page.waitForFunction(
      () => document.querySelectorAll('#trial-layers .chart[data-ready="1"]').length === 2,
    );
    await shot('trial-layers');
  });

  it('a new trial arrives without a reload', async () => {
    await go('/study/demo/history');
    await chartsReady(page, 1);
    const before = (await seriesLengths(page)).values;
    const storage = new SqliteStorage(dbPath);
    const id = await storage.getStudyIdFromName('demo');
    const extra = seedTemplates({ trials: 5, seed: 99, running: false }).map((t) => ({
      ...t,
      state: 'COMPLETE' as const,
      values: [0.5],
    }));
    await storage.createTrials(id, extra);
    await storage.close();
    await page.waitForFunction(
      (n) => {
        const div = document.querySelector('#view .chart');
        const chart = div && window.echarts.getInstanceByDom(div);
        return (
          chart && chart.getOption().series.find((s: { id: string }) => s.id === 'values')?.data.length === n
        );
      },
      { timeout: 15000 },
      before + 5,
    );
    assert.match(await page.$eval('#summary', (e) => e.textContent ?? ''), /245 trials/);
    await shot('live-update');
  });

  it('a study that does not exist is a clear message', async () => {
    await go('/study/nope/history');
    await page.waitForSelector('#error');
    assert.match(await page.$eval('#error', (e) => e.textContent ?? ''), /no study named "nope"/);
    const html = await page.content();
    assert.ok(!html.includes(dir), 'the storage path is not in the page');
  });
});

describe('dashboard --allow-write in headless Chromium', {
  skip: available ? false : `${CHROMIUM} not installed`,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-browser-write-'));
  const dbPath = join(dir, 'write.db');
  let browser: Browser;
  let page: Page;
  const servers: { url: string; close: () => Promise<void> }[] = [];

  before(async () => {
    await seedSqliteStudy(dbPath, 'keep', { trials: 30, seed: 3 });
    await seedSqliteStudy(dbPath, 'doomed', { trials: 5, seed: 4 });
    for (const allowWrite of [false, true])
      servers.push(
        await startDashboard({
          storage: `sqlite:${dbPath}`,
          port: 0,
          refreshMs: 100,
          allowWrite,
          log: () => {},
        }),
      );
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const studyAttrs = async (name: string) => {
    const storage = new SqliteStorage(dbPath);
    try {
      return await storage.getStudyUserAttrs(await storage.getStudyIdFromName(name));
    } finally {
      await storage.close();
    }
  };

  it('read-only by default: no forms, no delete buttons, and a write from the page is refused', async () => {
    await page.goto(`${servers[0].url}#/study/keep/trial/2`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#trial-title');
    assert.equal(await page.$('#save-annotations'), null, 'no note form when read-only');
    assert.match(await page.$eval('#storage', (e) => e.textContent ?? ''), /read-only/);
    const status = await page.evaluate(async () => {
      const res = await fetch('/api/studies/keep/annotations', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ note: 'x' }),
      });
      return res.status;
    });
    assert.equal(status, 403);
    await page.goto(`${servers[0].url}#/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#studies tr[data-study]');
    assert.equal((await page.$$('button.delete-study')).length, 0);
    await page.goto(`${servers[0].url}#/study/keep/trial/3`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#trial-title');
    assert.equal(await page.$('#delete-trial'), null, 'no trial delete button when read-only');
  });

  it('with --allow-write, a trial note and tags typed in the page are stored', async () => {
    await page.goto(`${servers[1].url}#/study/keep/trial/2`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#save-annotations');
    await page.type('#note', 'worth a rerun');
    await page.type('#tags', 'rerun small');
    await page.click('#save-annotations');
    await page.waitForSelector('#annotations-status[data-saved="1"]');
    const attrs = await studyAttrs('keep');
    assert.equal(attrs['dashboard:trial:2:note'], 'worth a rerun');
    assert.deepEqual(attrs['dashboard:trial:2:tags'], ['rerun', 'small']);
    // Reloaded, the read-only server shows them too.
    await page.goto(`${servers[0].url}#/study/keep/trial/2`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#note-text');
    assert.equal(await page.$eval('#note-text', (e) => e.textContent), 'worth a rerun');
  });

  it('a page from another origin cannot write, even knowing the route', async () => {
    // A hostile page on another origin (another port) auto-submits the classic cross-site form.
    const target = `${servers[1].url}api/studies/keep/annotations`;
    const hostile = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(
        `<form method="POST" action="${target}" enctype="text/plain"><input name='{"note":"csrf","x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hostile.address() as AddressInfo).port;
      const posted = page.waitForResponse((r) => r.url() === target);
      await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });
      const response = await posted;
      assert.equal(response.request().method(), 'POST', 'the browser did post the form to the dashboard');
      assert.equal(response.status(), 403, 'and the dashboard refused it');
    } finally {
      hostile.close();
    }
    assert.notEqual((await studyAttrs('keep'))['dashboard:note'], 'csrf', 'nothing was written');
  });

  it('deleting a trial asks for confirmation, removes it from the storage and from the trial table', async () => {
    await page.goto(`${servers[1].url}#/study/keep/trial/3`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#delete-trial');
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#delete-trial');
    await page.waitForSelector('#trials tr[data-number="2"]');
    assert.equal(await page.$('#trials tr[data-number="3"]'), null, 'trial 3 is gone from the table');
    const storage = new SqliteStorage(dbPath);
    try {
      const numbers = (await storage.getAllTrials(await storage.getStudyIdFromName('keep'))).map(
        (t) => t.number,
      );
      assert.equal(numbers.length, 29, 'one of 30 trials deleted');
      assert.ok(
        !numbers.includes(3) && numbers.includes(4),
        `trial 3 deleted, 4 kept (${numbers.join(',')})`,
      );
    } finally {
      await storage.close();
    }
  });

  it('deleting a study asks for confirmation, then removes it from the storage', async () => {
    await page.goto(`${servers[1].url}#/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('button.delete-study[data-study="doomed"]');
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('button.delete-study[data-study="doomed"]');
    await page.waitForFunction(() => !document.querySelector('tr[data-study="doomed"]'));
    const storage = new SqliteStorage(dbPath);
    const names = (await storage.getAllStudies()).map((s) => s.studyName);
    await storage.close();
    assert.deepEqual(names, ['keep']);
  });
});
