/**
 * Self-contained HTML figures: Apache ECharts (from the installed `echarts` package) and the small
 * drawing runtime are inlined, so the file opens offline and can be mailed as it is.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EchartsOption } from './echarts.js';
import { escapeXml } from './svg.js';

const ASSETS = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url));

/** Path of the minified ECharts bundle shipped by the `echarts` package. */
export function echartsBundlePath(): string {
  const main = createRequire(import.meta.url).resolve('echarts'); // .../echarts/dist/echarts.js
  return join(dirname(main), 'echarts.min.js');
}

export function chartsRuntimePath(): string {
  return join(ASSETS, 'charts.js');
}

/** JSON that is safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export interface HtmlSection {
  heading: string;
  /** Charts of the section, one ECharts option each. */
  charts?: EchartsOption[];
  /** Extra HTML (already escaped) shown under the heading. */
  html?: string;
}

/** One HTML document with every section's charts; clicking a trial point shows its record when `trials` has it. */
export function renderHtmlDocument(options: {
  title: string;
  sections: readonly HtmlSection[];
  /** Trial records by number (JSON-friendly), shown when a point is clicked. */
  trials?: Record<number, unknown>;
}): string {
  const echartsSource = readFileSync(echartsBundlePath(), 'utf8');
  const runtime = readFileSync(chartsRuntimePath(), 'utf8');
  const charts: { id: string; option: EchartsOption }[] = [];
  const body = options.sections
    .map((section, s) => {
      const divs = (section.charts ?? []).map((option, c) => {
        const id = `chart-${s}-${c}`;
        charts.push({ id, option });
        return `<div class="chart" id="${id}"></div>`;
      });
      return `<section><h2>${escapeXml(section.heading)}</h2>${section.html ?? ''}${divs.join('')}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(options.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
.chart{width:100%;height:420px;margin:8px 0 24px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}
pre#trial{background:#f7f7f7;padding:12px;white-space:pre-wrap;font-size:12px}
</style>
<script>${echartsSource.replace(/<\/script/gi, '<\\/script')}</script>
<script>${runtime}</script>
</head><body>
<h1>${escapeXml(options.title)}</h1>
${body}
<pre id="trial" hidden></pre>
<script>
const charts = ${scriptJson(charts)};
const trials = ${scriptJson(options.trials ?? {})};
function showTrial(n) {
  const el = document.getElementById('trial');
  el.hidden = false;
  el.textContent = 'trial ' + n + '\\n' + JSON.stringify(trials[n] ?? 'not included in this file', null, 2);
  el.scrollIntoView({ behavior: 'smooth' });
}
for (const { id, option } of charts) ParsimonyCharts.render(document.getElementById(id), option, showTrial);
addEventListener('resize', () => { for (const { id } of charts) echarts.getInstanceByDom(document.getElementById(id))?.resize(); });
</script>
</body></html>
`;
}
