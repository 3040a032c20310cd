/**
 * Dashboard benchmark (issue 17): how fast a study opens in a real browser, and what the server holds.
 *
 *   node --import tsx bench/dashboard.ts [--sizes 1000,10000] [--repeats 3]
 *
 * For each study size, a seeded SQLite study is served by `parsimony dashboard`'s server in a child
 * process and opened in headless Chromium (Debian's /usr/bin/chromium via puppeteer-core), each
 * visit in a fresh browser context (no cache):
 * - first paint: the browser's first-contentful-paint, and the time until the study page's first
 *   chart (history) has drawn, from navigation start;
 * - interactive Pareto view: navigation start until the Pareto chart has drawn, plus the time for a
 *   click on a front point to open that trial's record;
 * - the first visit of each study is timed apart (the server reads the study from SQLite then);
 *   later visits are served from the server's per-study cache (median of --repeats).
 * Server memory: resident set (VmRSS) and its peak (VmHWM) of the server process after the views.
 * Anchor, in the same browser and run: a bare page that draws the same number of points with
 * ECharts from inline data (no server, no API), i.e. the floor any ECharts dashboard sits on.
 * (optuna-dashboard is not installable here: no PyPI.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { echartsBundlePath } from '../src/visualization/html.js';
import { seedSqliteStudy } from '../test/helpers/seed-study.js';
import { BenchArgs, parseIntegers } from './lib/args.js';
import { REPO_ROOT } from './lib/load.js';
import { writeBenchResults } from './lib/results.js';
import { markdownTable } from './lib/table.js';

// biome-ignore lint/suspicious/noExplicitAny: page-side globals
declare const document: any;
// biome-ignore lint/suspicious/noExplicitAny: page-side globals
declare const window: any;

const args = new BenchArgs(['sizes', 'repeats']);
const sizes = parseIntegers(args.string('sizes', '1000,10000'), 'sizes');
const repeats = args.count('repeats', 3);
const dir = mkdtempSync(join(tmpdir(), 'parsimony-bench-dashboard-'));
const db = join(dir, 'bench.db');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`seeding ${sizes.join(', ')}-trial studies in ${db}`);
for (const n of sizes) await seedSqliteStudy(db, `study-${n}`, { trials: n, seed: n });

// The server runs in its own process so its memory is its own.
const serverScript = join(dir, 'server.mts');
writeFileSync(
  serverScript,
  `import { startDashboard } from ${JSON.stringify(join(REPO_ROOT, 'src/dashboard/server.ts'))};
const d = await startDashboard({ storage: process.argv[2], port: 0, log: () => {} });
console.log(d.url);
`,
);
const server = spawn(process.execPath, ['--import', 'tsx', serverScript, `sqlite:${db}`], {
  cwd: REPO_ROOT,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise<string>((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (b: Buffer) => {
    text += b.toString();
    const m = /http:\/\/\S+/.exec(text);
    if (m) resolve(m[0]);
  });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

function serverMemory(): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

const browser: Browser = await puppeteer.launch({
  executablePath: process.env.PARSIMONY_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
  defaultViewport: { width: 1280, height: 900 },
});

interface Visit {
  fcpMs: number;
  chartMs: number;
  clickMs?: number;
}

/** Opens `hash` in a fresh context; times first paint and the first chart drawn. */
async function visit(hash: string, clickFront: boolean): Promise<Visit> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  try {
    await page.goto(`${base}${hash}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelector('#view .chart[data-ready="1"]') !== null, {
      timeout: 120_000,
    });
    const timing = await page.evaluate(() => {
      // Times are from the navigation's start (performance.now()'s origin for a fresh document).
      const fcp = window.performance.getEntriesByName('first-contentful-paint')[0];
      return { now: window.performance.now() as number, fcp: fcp ? (fcp.startTime as number) : Number.NaN };
    });
    const result: Visit = { fcpMs: timing.fcp, chartMs: timing.now };
    if (clickFront) {
      // The front point farthest from the other front points, so the click cannot land on a neighbour.
      const point = await page.evaluate(() => {
        const div = document.querySelector('#view .chart');
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
        return { x: r.left + best.x, y: r.top + best.y, number: best.number };
      });
      const t = performance.now();
      await page.mouse.click(point.x, point.y);
      await page.waitForFunction(
        (n: number) => document.querySelector('#trial-title')?.textContent?.startsWith(`Trial ${n}`),
        { timeout: 120_000 },
        point.number,
      );
      result.clickMs = performance.now() - t;
    }
    return result;
  } finally {
    await context.close();
  }
}

/** The anchor: ECharts drawing n scatter points from inline data in a blank page. */
async function anchor(n: number): Promise<number> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  try {
    await page.setContent('<div id="c" style="width:1200px;height:460px"></div>');
    await page.addScriptTag({ path: echartsBundlePath() });
    return await page.evaluate((count: number) => {
      const t = performance.now();
      const data = Array.from({ length: count }, (_, i) => [i, Math.sin(i)]);
      const chart = window.echarts.init(document.getElementById('c'));
      return new Promise<number>((resolve) => {
        chart.on('finished', () => resolve(performance.now() - t));
        chart.setOption({
          animation: false,
          xAxis: {},
          yAxis: {},
          series: [{ type: 'scatter', large: true, data }],
        });
      });
    }, n);
  } finally {
    await context.close();
  }
}

const rows: string[][] = [];
const raw: Record<string, unknown> = { sizes, repeats, results: [] as unknown[] };
try {
  for (const n of sizes) {
    const study = `#/study/study-${n}`;
    console.log(`${n} trials: first visits`);
    const cold = await visit(`${study}/history`, false);
    const coldPareto = await visit(`${study}/pareto`, true);
    const warm: Visit[] = [];
    const pareto: Visit[] = [];
    const anchors: number[] = [];
    for (let r = 0; r < repeats; r++) {
      warm.push(await visit(`${study}/history`, false));
      pareto.push(await visit(`${study}/pareto`, true));
      anchors.push(await anchor(n));
    }
    const memory = serverMemory();
    const result = {
      trials: n,
      coldFirstChartMs: cold.chartMs,
      coldParetoMs: coldPareto.chartMs,
      fcpMs: median(warm.map((v) => v.fcpMs)),
      firstChartMs: median(warm.map((v) => v.chartMs)),
      paretoMs: median(pareto.map((v) => v.chartMs)),
      clickToTrialMs: median(pareto.map((v) => v.clickMs ?? Number.NaN)),
      anchorEchartsMs: median(anchors),
      serverRssMiB: memory.rssMiB,
      serverPeakMiB: memory.peakMiB,
    };
    (raw.results as unknown[]).push(result);
    console.log(JSON.stringify(result));
    const ms = (v: number) => v.toFixed(0);
    rows.push([
      String(n),
      ms(result.fcpMs),
      `${ms(result.firstChartMs)} (cold ${ms(result.coldFirstChartMs)})`,
      `${ms(result.paretoMs)} (cold ${ms(result.coldParetoMs)})`,
      ms(result.clickToTrialMs),
      ms(result.anchorEchartsMs),
      `${result.serverRssMiB.toFixed(0)} (peak ${result.serverPeakMiB.toFixed(0)})`,
    ]);
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

const table = markdownTable(
  [
    'trials',
    'first paint ms',
    'first chart ms (cold server)',
    'Pareto view drawn ms (cold)',
    'click → trial ms',
    'anchor: bare ECharts, same points ms',
    'server RSS MiB',
  ],
  rows,
);
console.log(`\n${table}`);
const paths = writeBenchResults('dashboard', raw, `# Dashboard (bench/dashboard.ts)\n\n${table}\n`);
console.log(`\nwrote ${paths.json} and ${paths.markdown}`);
