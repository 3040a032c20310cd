/**
 * The compression-report figure: what `parsimony compress` wrote to `report.json` (base model,
 * one row per recipe step, the result as stored and rebuilt) as a steps table and two charts,
 * sizes (parameters, non-zero parameters, stored bytes; log scale) and accuracy per step. Plot
 * data is computed apart from drawing, like the study figures.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError, FileNotFoundError } from '../core/errors.js';
import type { EchartsOption } from './echarts.js';
import type { Panel } from './svg.js';

export interface CompressionStepPoint {
  /** "base", the step's label, or "stored result". */
  label: string;
  method: string;
  params: number;
  nonZeroParams: number;
  storedBytes: number;
  valAccuracy: number | null;
  testAccuracy: number | null;
  seconds: number;
}

export interface CompressionReportData {
  model: string;
  dataset: string | null;
  completed: boolean;
  steps: CompressionStepPoint[];
}

const NUMBER_FIELDS = ['params', 'nonZeroParams', 'storedBytes', 'seconds'] as const;

function row(raw: unknown, where: string, label: string, method: string): CompressionStepPoint {
  if (raw === null || typeof raw !== 'object') throw new DataError(`${where}: expected an object`);
  const r = raw as Record<string, unknown>;
  for (const f of NUMBER_FIELDS)
    if (typeof r[f] !== 'number' || !Number.isFinite(r[f] as number))
      throw new DataError(`${where}.${f}: expected a number, got ${JSON.stringify(r[f])}`);
  const accuracy = (f: 'valAccuracy' | 'testAccuracy') => {
    const v = r[f];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number') throw new DataError(`${where}.${f}: expected a number or null`);
    return v;
  };
  return {
    label,
    method,
    params: r.params as number,
    nonZeroParams: r.nonZeroParams as number,
    storedBytes: r.storedBytes as number,
    valAccuracy: accuracy('valAccuracy'),
    testAccuracy: accuracy('testAccuracy'),
    seconds: r.seconds as number,
  };
}

/** The figure's data from a parsed report (the `--json` shape of `parsimony compress`). */
export function getCompressionReportData(report: unknown, file = 'report.json'): CompressionReportData {
  if (report === null || typeof report !== 'object' || Array.isArray(report))
    throw new DataError(`${file}: expected a compression report object`);
  const r = report as Record<string, unknown>;
  if (!Array.isArray(r.steps)) throw new DataError(`${file}: "steps" must be an array`);
  const steps = [row(r.base, `${file}: base`, 'base', 'base')];
  r.steps.forEach((s, i) => {
    const step = s as Record<string, unknown>;
    const label = typeof step?.step === 'string' ? step.step : `step ${i + 1}`;
    steps.push(row(s, `${file}: steps[${i}]`, label, typeof step?.method === 'string' ? step.method : '?'));
  });
  steps.push(row(r.result, `${file}: result`, 'stored result', 'as stored'));
  return {
    model: typeof r.model === 'string' ? r.model : '?',
    dataset: typeof r.dataset === 'string' ? r.dataset : null,
    completed: r.completed !== false,
    steps,
  };
}

/** Reads `report.json` (or the directory holding it). */
export function readCompressionReport(path: string): CompressionReportData {
  const file = /\.json$/i.test(path) ? path : `${path.replace(/\/$/, '')}/report.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FileNotFoundError(file, 'compression report', { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return getCompressionReportData(parsed, basename(file));
}

const SIZE_SERIES = [
  { key: 'params', name: 'parameters', color: '#5470c6' },
  { key: 'nonZeroParams', name: 'non-zero parameters', color: '#91cc75' },
  { key: 'storedBytes', name: 'stored bytes', color: '#ee6666' },
] as const;
const ACCURACY_SERIES = [
  { key: 'valAccuracy', name: 'validation accuracy', color: '#5470c6' },
  { key: 'testAccuracy', name: 'test accuracy', color: '#fac858' },
] as const;

/** Two SVG panels: sizes per step (log scale) and accuracy per step. */
export function compressionPanels(d: CompressionReportData): Panel[] {
  const categories = d.steps.map((s) => s.label);
  const lines = <K extends keyof CompressionStepPoint>(key: K, color: string, name: string) => [
    {
      type: 'line' as const,
      color,
      width: 2,
      points: d.steps.flatMap((s, i) => (typeof s[key] === 'number' ? [{ x: i, y: s[key] as number }] : [])),
    },
    {
      type: 'points' as const,
      color,
      points: d.steps.flatMap((s, i) =>
        typeof s[key] === 'number'
          ? [{ x: i, y: s[key] as number, title: `${s.label}: ${name} ${s[key]}` }]
          : [],
      ),
    },
  ];
  return [
    {
      title: `Compression of ${d.model}: sizes per step`,
      x: { label: 'step', categories },
      y: { label: 'count / bytes', log: true },
      layers: SIZE_SERIES.flatMap((s) => lines(s.key, s.color, s.name)),
      legend: SIZE_SERIES.map((s) => ({ label: s.name, color: s.color })),
    },
    {
      title: `Compression of ${d.model}: accuracy per step`,
      x: { label: 'step', categories },
      y: { label: 'accuracy' },
      layers: ACCURACY_SERIES.flatMap((s) => lines(s.key, s.color, s.name)),
      legend: ACCURACY_SERIES.map((s) => ({ label: s.name, color: s.color })),
    },
  ];
}

/** The same two charts as ECharts options. */
export function compressionEcharts(d: CompressionReportData): EchartsOption[] {
  const categories = d.steps.map((s) => s.label);
  const chart = (
    title: string,
    yName: string,
    log: boolean,
    series: readonly { key: keyof CompressionStepPoint; name: string; color: string }[],
  ): EchartsOption => ({
    animation: false,
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 28 },
    grid: { top: 70, left: 80, right: 30, bottom: 50 },
    xAxis: { type: 'category', data: categories, name: 'step' },
    yAxis: { type: log ? 'log' : 'value', name: yName, scale: !log },
    series: series.map((s) => ({
      id: String(s.key),
      name: s.name,
      type: 'line',
      itemStyle: { color: s.color },
      data: d.steps.map((p) => p[s.key] as number | null),
    })),
  });
  return [
    chart(`Compression of ${d.model}: sizes per step`, 'count / bytes', true, SIZE_SERIES),
    chart(`Compression of ${d.model}: accuracy per step`, 'accuracy', false, ACCURACY_SERIES),
  ];
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** The steps table as HTML (escaped). */
export function compressionTableHtml(d: CompressionReportData): string {
  const acc = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)}%`);
  const rows = d.steps
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.label)}</td><td>${escapeHtml(s.method)}</td><td>${s.params}</td><td>${s.nonZeroParams}</td><td>${s.storedBytes}</td><td>${acc(s.valAccuracy)}</td><td>${acc(s.testAccuracy)}</td><td>${s.seconds.toFixed(1)}</td></tr>`,
    )
    .join('');
  return `<table class="compression-steps"><tr><th>step</th><th>method</th><th>params</th><th>non-zero</th><th>stored bytes</th><th>val accuracy</th><th>test accuracy</th><th>seconds</th></tr>${rows}</table>${d.completed ? '' : '<p>The recipe was interrupted: the rows say what was done.</p>'}`;
}
