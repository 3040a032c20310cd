/**
 * One entry point per plot kind: `computePlot` turns frozen trials into that kind's plot data, and
 * `plotPanels` lays the data out as SVG panels. The CLI's `plot` and `report` and the dashboard go
 * through here, so a kind means the same figure everywhere.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import { type Measure, parseMeasure } from './common.js';
import { type ContourData, getContourData } from './contour.js';
import { getHistoryData, type HistoryData } from './history.js';
import {
  getImportanceData,
  IMPORTANCE_LABELS,
  type ImportanceData,
  type ImportanceMethod,
} from './importance.js';
import { getIntermediateData, type IntermediateData } from './intermediate.js';
import { PLOT_KINDS, type PlotKind } from './kinds.js';
import { findModelSpec, getLayerComplexityData, type LayerComplexityData } from './layers.js';
import { getParallelCoordinateData, type ParallelData } from './parallel.js';
import { getParetoData, type ParetoData } from './pareto.js';
import { getSliceData, type SliceData } from './slice.js';
import { type AnyPanel, type Axis, COLORS, type Panel, stateColor } from './svg.js';
import { getTimelineData, type TimelineData } from './timeline.js';

export { PLOT_KINDS, type PlotKind };

export interface PlotOptions {
  objective?: number;
  /** Pareto axes: `objective:N` or an attribute key such as `params`, `macs`, `storedBytes`. */
  x?: string;
  y?: string;
  /** Parameters to show (slice, parallel coordinates, importance); contour takes the first two. */
  params?: readonly string[];
  /** Trial whose stored model spec the `layers` plot analyses (default: the best trial that stored one). */
  trial?: number;
  seed?: number;
  /** Importance: `mdi` (default) or `fanova`. */
  importanceMethod?: ImportanceMethod;
}

export type PlotData =
  | { kind: 'history'; data: HistoryData }
  | { kind: 'pareto'; data: ParetoData }
  | { kind: 'parallel-coordinate'; data: ParallelData }
  | { kind: 'slice'; data: SliceData }
  | { kind: 'contour'; data: ContourData }
  | { kind: 'intermediate'; data: IntermediateData }
  | { kind: 'importance'; data: ImportanceData }
  | { kind: 'timeline'; data: TimelineData }
  | { kind: 'layers'; data: LayerComplexityData };

export function checkPlotKind(kind: string): PlotKind {
  if (!(PLOT_KINDS as readonly string[]).includes(kind))
    throw new InvalidArgumentError(`unknown plot kind "${kind}" (expected one of: ${PLOT_KINDS.join(', ')})`);
  return kind as PlotKind;
}

/** The trial a `layers` plot shows: the one asked for, or the best (objective 0) that stored a spec. */
function layersTrial(
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  number?: number,
): FrozenTrial {
  if (number !== undefined) {
    const t = trials.find((x) => x.number === number);
    if (!t) throw new InvalidArgumentError(`no trial number ${number} in the study`);
    return t;
  }
  const sign = directions[0] === 'maximize' ? -1 : 1;
  const withSpec = trials.filter((t) => t.state === 'COMPLETE' && t.values && findModelSpec(t) !== null);
  if (withSpec.length === 0)
    throw new InvalidArgumentError('no COMPLETE trial of the study stored a model spec');
  return withSpec.reduce((a, b) => (sign * (b.values?.[0] ?? 0) < sign * (a.values?.[0] ?? 0) ? b : a));
}

export function computePlot(
  kind: PlotKind,
  trials: readonly FrozenTrial[],
  directions: readonly StudyDirection[],
  options: PlotOptions = {},
): PlotData {
  const objective = options.objective;
  switch (kind) {
    case 'history':
      return { kind, data: getHistoryData(trials, directions, { objective }) };
    case 'pareto': {
      const x: Measure | undefined = options.x ? parseMeasure(options.x, directions) : undefined;
      const y: Measure | undefined = options.y ? parseMeasure(options.y, directions) : undefined;
      return { kind, data: getParetoData(trials, directions, { x, y }) };
    }
    case 'parallel-coordinate':
      return {
        kind,
        data: getParallelCoordinateData(trials, directions, { objective, params: options.params }),
      };
    case 'slice':
      return { kind, data: getSliceData(trials, directions, { objective, params: options.params }) };
    case 'contour': {
      let x: string | undefined = options.params?.[0];
      let y: string | undefined = options.params?.[1];
      if (x === undefined || y === undefined) {
        const ranked = getImportanceData(trials, directions, { objective, seed: options.seed }).importances;
        x ??= ranked[0]?.param;
        y ??= ranked.find((r) => r.param !== x)?.param;
      }
      if (x === undefined || y === undefined)
        throw new InvalidArgumentError('a contour plot needs two parameters set in every completed trial');
      return { kind, data: getContourData(trials, directions, { x, y, objective }) };
    }
    case 'intermediate':
      return { kind, data: getIntermediateData(trials, { objective }) };
    case 'importance':
      return {
        kind,
        data: getImportanceData(trials, directions, {
          objective,
          params: options.params,
          seed: options.seed,
          method: options.importanceMethod,
        }),
      };
    case 'timeline':
      return { kind, data: getTimelineData(trials) };
    case 'layers':
      return { kind, data: getLayerComplexityData(layersTrial(trials, directions, options.trial)) };
  }
}

function paramAxis(axis: { name: string; log: boolean; categories?: string[] }): Axis {
  return { label: axis.name, log: axis.log, categories: axis.categories };
}

/** The plot data as SVG panels (see `renderSvg`). */
export function plotPanels(plot: PlotData): AnyPanel[] {
  switch (plot.kind) {
    case 'history': {
      const d = plot.data;
      return [
        {
          title: `Optimization history (objective ${d.objective}, ${d.direction})`,
          x: { label: 'trial' },
          y: { label: `objective ${d.objective}` },
          layers: [
            {
              type: 'points',
              points: d.points.map((p) => ({
                x: p.number,
                y: p.value,
                color: p.feasible ? COLORS.point : COLORS.infeasible,
                title: `trial ${p.number}: ${p.value}`,
              })),
            },
            {
              type: 'line',
              step: true,
              color: COLORS.best,
              width: 2,
              points: d.bestSoFar.map((b) => ({ x: b.number, y: b.value })),
            },
          ],
          legend: [
            { label: 'objective value', color: COLORS.point },
            { label: 'best so far', color: COLORS.best },
          ],
        },
      ];
    }
    case 'pareto': {
      const d = plot.data;
      return [
        {
          title: `Pareto front: ${d.y.name} (${d.y.direction}) vs ${d.x.name} (${d.x.direction})`,
          x: { label: d.x.name, log: d.x.measure.kind === 'attr' && d.points.every((p) => p.x > 0) },
          y: { label: d.y.name },
          layers: [
            {
              type: 'points',
              points: d.points
                .filter((p) => !p.onFront)
                .map((p) => ({
                  x: p.x,
                  y: p.y,
                  color: p.feasible ? COLORS.dominated : COLORS.infeasible,
                  title: `trial ${p.number}: ${d.x.name}=${p.x}, ${d.y.name}=${p.y}`,
                })),
            },
            { type: 'line', color: COLORS.front, points: d.front.map((p) => ({ x: p.x, y: p.y })) },
            {
              type: 'points',
              radius: 4,
              color: COLORS.front,
              points: d.front.map((p) => ({
                x: p.x,
                y: p.y,
                title: `trial ${p.number}: ${d.x.name}=${p.x}, ${d.y.name}=${p.y}`,
              })),
            },
          ],
          legend: [
            { label: `Pareto front (${d.front.length})`, color: COLORS.front },
            { label: 'dominated', color: COLORS.dominated },
          ],
        },
      ];
    }
    case 'parallel-coordinate': {
      const d = plot.data;
      return [
        {
          title: `Parallel coordinates (objective ${d.objective})`,
          kind: 'parallel',
          axes: d.dimensions.map((dim) => ({ label: dim.name, log: dim.log, categories: dim.categories })),
          rows: d.rows.map((r) => ({ values: r.values, title: `trial ${r.number}` })),
        },
      ];
    }
    case 'slice': {
      const d = plot.data;
      return d.panels.map(
        (p): Panel => ({
          title: `Slice: objective ${d.objective} by ${p.axis.name}`,
          x: paramAxis(p.axis),
          y: { label: `objective ${d.objective}` },
          layers: [
            {
              type: 'points',
              points: p.points.map((q) => ({ x: q.x, y: q.y, title: `trial ${q.number}` })),
            },
          ],
        }),
      );
    }
    case 'contour': {
      const d = plot.data;
      const edges = (vals: number[], log: boolean, categorical: boolean) =>
        vals.map((v, i) => {
          if (categorical) return [v - 0.5, v + 0.5];
          const t = (u: number) => (log ? Math.log(u) : u);
          const back = (u: number) => (log ? Math.exp(u) : u);
          const prev =
            i > 0 ? (t(vals[i - 1]) + t(v)) / 2 : t(v) - (vals.length > 1 ? (t(vals[1]) - t(v)) / 2 : 0.5);
          const next =
            i < vals.length - 1
              ? (t(vals[i + 1]) + t(v)) / 2
              : t(v) + (vals.length > 1 ? (t(v) - t(vals[i - 1])) / 2 : 0.5);
          return [back(prev), back(next)];
        });
      const xe = edges(d.xs, d.x.log, d.x.kind === 'categorical');
      const ye = edges(d.ys, d.y.log, d.y.kind === 'categorical');
      const cells = d.z.flatMap((row, j) =>
        row.map((value, i) => ({ x0: xe[i][0], x1: xe[i][1], y0: ye[j][0], y1: ye[j][1], value })),
      );
      return [
        {
          title: `Contour: objective ${d.objective} over ${d.x.name} and ${d.y.name}`,
          x: { ...paramAxis(d.x), min: xe[0][0], max: xe[xe.length - 1][1] },
          y: { ...paramAxis(d.y), min: ye[0][0], max: ye[ye.length - 1][1] },
          layers: [
            { type: 'cells', cells },
            {
              type: 'points',
              color: '#ffffff',
              points: d.points.map((p) => ({ x: p.x, y: p.y, title: `trial ${p.number}: ${p.value}` })),
            },
          ],
        },
      ];
    }
    case 'intermediate': {
      const d = plot.data;
      return [
        {
          title: `Intermediate values (${d.curves.length} trials, ${d.nPruned} pruned)`,
          x: { label: 'step' },
          y: { label: 'intermediate value' },
          layers: d.curves.map((c) => ({
            type: 'line' as const,
            color: c.pruned ? COLORS.pruned : stateColor(c.state),
            title: `trial ${c.number} (${c.state})`,
            points: c.steps.map((s) => ({ x: s.step, y: s.value })),
          })),
          legend: [
            { label: 'complete', color: COLORS.complete },
            { label: 'pruned', color: COLORS.pruned },
          ],
        },
      ];
    }
    case 'importance': {
      const d = plot.data;
      const list = [...d.importances].reverse();
      return [
        {
          title: `Hyperparameter importance (objective ${d.objective}, ${IMPORTANCE_LABELS[d.method]}, ${d.nTrials} trials)`,
          x: { label: 'importance', min: 0, max: Math.max(1e-9, ...list.map((i) => i.importance)) * 1.05 },
          y: { label: '', categories: list.map((i) => i.param) },
          layers: [
            {
              type: 'hbars',
              bars: list.map((i, k) => ({
                y: k,
                x0: 0,
                x1: i.importance,
                color: COLORS.point,
                title: `${i.param}: ${i.importance.toFixed(3)}`,
              })),
            },
          ],
        },
      ];
    }
    case 'timeline': {
      const d = plot.data;
      const t0 = d.bars.length ? Math.min(...d.bars.map((b) => b.start)) : 0;
      return [
        {
          title: `Timeline (${d.lanes.length} lanes, at most ${d.maxParallel} trials at once)`,
          x: { label: 'seconds since the first trial started' },
          y: { label: 'worker', categories: d.lanes },
          layers: [
            {
              type: 'hbars',
              bars: d.bars.map((b) => ({
                y: b.lane,
                x0: (b.start - t0) / 1000,
                x1: (b.end - t0) / 1000,
                color: stateColor(b.state),
                title: `trial ${b.number} (${b.state})`,
              })),
            },
          ],
          legend: ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING'].map((s) => ({
            label: s.toLowerCase(),
            color: stateColor(s),
          })),
        },
      ];
    }
    case 'layers': {
      const d = plot.data;
      const names = d.layers.map((l) => l.name);
      const bars = (key: 'params' | 'macs') => ({
        type: 'hbars' as const,
        bars: d.layers.map((l, k) => ({
          y: k,
          x0: 0,
          x1: l[key],
          color: COLORS.point,
          title: `${l.name} (${l.type}): ${l[key]}`,
        })),
      });
      return (['params', 'macs'] as const).map(
        (key): Panel => ({
          title: `${key === 'params' ? 'Parameters' : 'MACs'} by layer: trial ${d.number} (${d.model}, total ${d.total[key]})`,
          x: { label: key, min: 0 },
          y: { label: '', categories: names },
          layers: [bars(key)],
        }),
      );
    }
  }
}
