/**
 * What `parsimony plot` and `parsimony report` run (loaded only when one of them runs): one figure
 * of a study as SVG or self-contained HTML, or one HTML file with every figure that applies. Both
 * read the storage only; the file is written once everything has been computed, so a failure
 * leaves nothing behind.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { InvalidArgumentError, isParsimonyError } from '../../core/errors.js';
import type { FrozenTrial } from '../../core/frozen-trial.js';
import { trialToJson } from '../../storage/export.js';
import { openStudyReader, type StudyInfo } from '../../storage/study-reader.js';
import {
  compressionEcharts,
  compressionPanels,
  compressionTableHtml,
  readCompressionReport,
} from '../../visualization/compression.js';
import {
  checkPlotKind,
  computePlot,
  echartsOptions,
  getStudySummaryData,
  type HtmlSection,
  PLOT_KINDS,
  type PlotKind,
  type PlotOptions,
  plotPanels,
  renderHtmlDocument,
  renderSvg,
} from '../../visualization/index.js';

async function readStudy(
  storage: string,
  studyName: string,
): Promise<{ info: StudyInfo; trials: readonly FrozenTrial[] }> {
  const reader = await openStudyReader(storage);
  try {
    const info = await reader.study(studyName);
    return { info, trials: await reader.trials(info.studyId) };
  } finally {
    await reader.close();
  }
}

function outputFormat(out: string): 'svg' | 'html' | 'png' {
  const ext = extname(out).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.png') return 'png';
  if (ext === '.html' || ext === '.htm') return 'html';
  throw new InvalidArgumentError(
    `--out ${out}: write .svg, .png or .html (unknown extension "${ext || '(none)'}")`,
  );
}

/** The SVG figure, or PNG drawn from it by headless Chromium. */
async function svgOrPng(format: 'svg' | 'png', svg: string): Promise<string | Buffer> {
  if (format === 'svg') return svg;
  const { svgToPng } = await import('../../visualization/png.js');
  return svgToPng(svg);
}

function write(out: string, text: string | Buffer): void {
  try {
    writeFileSync(out, text);
  } catch (error) {
    throw new InvalidArgumentError(`--out: cannot write ${out}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

export interface PlotCommandOptions extends PlotOptions {
  storage: string;
  study: string;
  kind: string;
  out: string;
}

/** Writes the figure; returns the file's format. */
export async function runPlot(options: PlotCommandOptions): Promise<'svg' | 'html' | 'png'> {
  const kind = checkPlotKind(options.kind);
  const format = outputFormat(options.out);
  const { info, trials } = await readStudy(options.storage, options.study);
  const plot = computePlot(kind, trials, info.directions, options);
  const title = `${info.name}: ${kind}`;
  const text =
    format !== 'html'
      ? await svgOrPng(format, renderSvg(plotPanels(plot), title))
      : renderHtmlDocument({
          title,
          sections: [{ heading: kind, charts: echartsOptions(plot) }],
          trials: trialRecords(trials),
        });
  write(options.out, text);
  return format;
}

/** `plot compression`: the steps of a `parsimony compress` report as SVG charts, or HTML with the table. */
export async function runCompressionPlot(options: {
  report: string;
  out: string;
}): Promise<'svg' | 'html' | 'png'> {
  const format = outputFormat(options.out);
  const data = readCompressionReport(options.report);
  const title = `Compression report: ${data.model}${data.dataset ? ` on ${data.dataset}` : ''}`;
  const text =
    format !== 'html'
      ? await svgOrPng(format, renderSvg(compressionPanels(data), title))
      : renderHtmlDocument({
          title,
          sections: [
            { heading: 'steps', html: compressionTableHtml(data), charts: compressionEcharts(data) },
          ],
        });
  write(options.out, text);
  return format;
}

/** Trial records for the click-to-open view of an HTML file (the most recent `limit`). */
function trialRecords(trials: readonly FrozenTrial[], limit = 5000): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const t of trials.slice(-limit)) out[t.number] = trialToJson(t);
  return out;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** The report's sections: summary, every plot kind that applies (the others say why not), best trials. */
export function reportSections(info: StudyInfo, trials: readonly FrozenTrial[]): HtmlSection[] {
  const summary = getStudySummaryData(trials, info.directions);
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s.toLowerCase()}`)
    .join(', ');
  const bestText =
    info.directions.length === 1
      ? summary.best
        ? `best value ${summary.best.value} (trial ${summary.best.number})`
        : 'no feasible completed trial yet'
      : `${summary.paretoFront.length} trials on the Pareto front: ${summary.paretoFront.slice(0, 50).join(', ')}${summary.paretoFront.length > 50 ? ', …' : ''}`;
  const sections: HtmlSection[] = [
    {
      heading: 'Summary',
      html: `<p>Directions: ${escapeHtml(info.directions.join(', '))}. ${summary.nTrials} trials (${escapeHtml(counts || 'none')}). ${escapeHtml(bestText)}.${
        summary.lastUpdate ? ` Last update ${new Date(summary.lastUpdate).toISOString()}.` : ''
      }</p>`,
    },
  ];
  for (const kind of PLOT_KINDS) {
    try {
      sections.push({
        heading: kind,
        charts: echartsOptions(computePlot(kind as PlotKind, trials, info.directions)),
      });
    } catch (error) {
      if (!isParsimonyError(error)) throw error;
      sections.push({ heading: kind, html: `<p>Not shown: ${escapeHtml(error.message)}.</p>` });
    }
  }
  const sign = info.directions[0] === 'maximize' ? -1 : 1;
  const top = trials
    .filter((t) => t.state === 'COMPLETE' && t.values)
    .sort((a, b) => sign * ((a.values?.[0] as number) - (b.values?.[0] as number)))
    .slice(0, 20);
  const params = [...new Set(top.flatMap((t) => Object.keys(t.params)))].sort();
  const head = `<tr><th>trial</th>${info.directions.map((_, i) => `<th>value ${i}</th>`).join('')}${params.map((p) => `<th class="l">${escapeHtml(p)}</th>`).join('')}</tr>`;
  const rows = top.map(
    (t) =>
      `<tr><td>${t.number}</td>${(t.values ?? []).map((v) => `<td>${v}</td>`).join('')}${params
        .map((p) => `<td class="l">${p in t.params ? escapeHtml(String(t.params[p])) : ''}</td>`)
        .join('')}</tr>`,
  );
  sections.push({ heading: 'Best trials (objective 0)', html: `<table>${head}${rows.join('')}</table>` });
  return sections;
}

export async function runReport(options: { storage: string; study: string; out: string }): Promise<void> {
  if (outputFormat(options.out) !== 'html')
    throw new InvalidArgumentError(`--out ${options.out}: a report is an .html file`);
  const { info, trials } = await readStudy(options.storage, options.study);
  const text = renderHtmlDocument({
    title: `Study ${info.name}`,
    sections: reportSections(info, trials),
    trials: trialRecords(trials),
  });
  write(options.out, text);
}
