/**
 * Plot data as Apache ECharts options: plain JSON, so the server can send them and a report can
 * embed them. Data items that stand for a trial carry its `number`, which the page uses to open the
 * trial on click. The only non-JSON pieces ECharts needs (the timeline's bar drawing) are named by a
 * string that the page's small runtime (assets/dashboard/charts.js) replaces with a function.
 */

import { IMPORTANCE_LABELS } from './importance.js';
import type { PlotData } from './plots.js';
import { COLORS, stateColor } from './svg.js';

export type EchartsOption = Record<string, unknown>;

const base = (title: string): EchartsOption => ({
  title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
  tooltip: { trigger: 'item' },
  grid: { left: 70, right: 40, top: 60, bottom: 60, containLabel: true },
  animation: false,
});

const LARGE = { large: true, largeThreshold: 2000, progressive: 4000 };

function trialPoint(number: number, value: (number | string)[], extra: Record<string, unknown> = {}) {
  return { value, number, name: `trial ${number}`, ...extra };
}

/** One option per chart (slice and layers give several). */
export function echartsOptions(plot: PlotData): EchartsOption[] {
  switch (plot.kind) {
    case 'history': {
      const d = plot.data;
      return [
        {
          ...base(`Optimization history (objective ${d.objective}, ${d.direction})`),
          legend: { top: 28 },
          xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 28, scale: true },
          yAxis: { type: 'value', name: `objective ${d.objective}`, scale: true },
          series: [
            {
              id: 'values',
              name: 'objective value',
              type: 'scatter',
              symbolSize: 5,
              itemStyle: { color: COLORS.point },
              ...LARGE,
              data: d.points.map((p) =>
                trialPoint(
                  p.number,
                  [p.number, p.value],
                  p.feasible ? {} : { itemStyle: { color: COLORS.infeasible } },
                ),
              ),
            },
            {
              id: 'best',
              name: 'best so far',
              type: 'line',
              step: 'end',
              showSymbol: false,
              itemStyle: { color: COLORS.best },
              data: d.bestSoFar.map((b) => [b.number, b.value]),
            },
          ],
        },
      ];
    }
    case 'pareto': {
      const d = plot.data;
      const logX = d.x.measure.kind === 'attr' && d.points.length > 0 && d.points.every((p) => p.x > 0);
      const item = (p: { number: number; x: number; y: number }) => trialPoint(p.number, [p.x, p.y]);
      return [
        {
          ...base(`Pareto front: ${d.y.name} (${d.y.direction}) vs ${d.x.name} (${d.x.direction})`),
          legend: { top: 28 },
          tooltip: { trigger: 'item', formatter: 'trial' },
          xAxis: {
            type: logX ? 'log' : 'value',
            name: d.x.name,
            nameLocation: 'middle',
            nameGap: 28,
            scale: true,
          },
          yAxis: { type: 'value', name: d.y.name, scale: true },
          series: [
            {
              id: 'dominated',
              name: 'dominated',
              type: 'scatter',
              symbolSize: 5,
              itemStyle: { color: COLORS.dominated },
              ...LARGE,
              data: d.points.filter((p) => !p.onFront && p.feasible).map(item),
            },
            {
              id: 'infeasible',
              name: 'infeasible',
              type: 'scatter',
              symbolSize: 5,
              itemStyle: { color: COLORS.infeasible },
              data: d.points.filter((p) => !p.feasible).map(item),
            },
            {
              id: 'front',
              name: 'Pareto front',
              type: 'line',
              symbol: 'circle',
              symbolSize: 9,
              itemStyle: { color: COLORS.front },
              z: 5,
              data: d.front.map(item),
            },
          ],
        },
      ];
    }
    case 'parallel-coordinate': {
      const d = plot.data;
      const values = d.rows.map((r) => r.values[0] as number);
      return [
        {
          title: {
            text: `Parallel coordinates (objective ${d.objective})`,
            left: 'center',
            textStyle: { fontSize: 14 },
          },
          animation: false,
          tooltip: { trigger: 'item', formatter: 'trial' },
          parallel: { left: 60, right: 150, top: 60, bottom: 40 },
          visualMap: {
            type: 'continuous',
            dimension: 0,
            min: values.length ? Math.min(...values) : 0,
            max: values.length ? Math.max(...values) : 1,
            inRange: { color: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'] },
            right: 10,
            top: 'middle',
            precision: 4,
            calculable: true,
          },
          parallelAxis: d.dimensions.map((dim, i) =>
            dim.kind === 'categorical'
              ? { dim: i, name: dim.name, type: 'category', data: dim.categories }
              : { dim: i, name: dim.name, type: dim.log ? 'log' : 'value', scale: true },
          ),
          series: [
            {
              id: 'rows',
              type: 'parallel',
              lineStyle: { width: 1, opacity: 0.5 },
              progressive: 1000,
              data: d.rows.map((r) => ({
                number: r.number,
                name: `trial ${r.number}`,
                value: r.values.map((v, i) => {
                  const dim = d.dimensions[i];
                  return v === null ? '-' : dim.kind === 'categorical' ? (dim.categories?.[v] ?? '-') : v;
                }),
              })),
            },
          ],
        },
      ];
    }
    case 'slice': {
      const d = plot.data;
      return d.panels.map((p) => ({
        ...base(`Slice: objective ${d.objective} by ${p.axis.name}`),
        xAxis:
          p.axis.kind === 'categorical'
            ? { type: 'category', name: p.axis.name, data: p.axis.categories }
            : { type: p.axis.log ? 'log' : 'value', name: p.axis.name, scale: true },
        yAxis: { type: 'value', name: `objective ${d.objective}`, scale: true },
        series: [
          {
            id: `slice-${p.axis.name}`,
            type: 'scatter',
            symbolSize: 5,
            ...LARGE,
            itemStyle: { color: COLORS.point },
            data: p.points.map((q) => trialPoint(q.number, [q.x, q.y])),
          },
        ],
      }));
    }
    case 'contour': {
      const d = plot.data;
      const label = (v: number, axis: typeof d.x) =>
        axis.kind === 'categorical' ? (axis.categories?.[v] ?? String(v)) : String(Number(v.toPrecision(3)));
      const cells = d.z.flatMap((row, j) => row.map((z, i) => [i, j, z === null ? '-' : z]));
      const zs = d.z.flat().filter((z): z is number => z !== null);
      return [
        {
          ...base(`Contour: objective ${d.objective} over ${d.x.name} and ${d.y.name}`),
          xAxis: { type: 'category', name: d.x.name, data: d.xs.map((v) => label(v, d.x)) },
          yAxis: { type: 'category', name: d.y.name, data: d.ys.map((v) => label(v, d.y)) },
          visualMap: {
            min: zs.length ? Math.min(...zs) : 0,
            max: zs.length ? Math.max(...zs) : 1,
            calculable: true,
            right: 10,
            top: 'middle',
            precision: 4,
            inRange: { color: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'] },
          },
          series: [{ id: 'contour', type: 'heatmap', data: cells }],
        },
      ];
    }
    case 'intermediate': {
      const d = plot.data;
      return [
        {
          ...base(`Intermediate values (${d.curves.length} trials, ${d.nPruned} pruned)`),
          tooltip: { trigger: 'item', formatter: 'trial' },
          xAxis: { type: 'value', name: 'step', scale: true },
          yAxis: { type: 'value', name: 'intermediate value', scale: true },
          series: d.curves.map((c) => ({
            id: `curve-${c.number}`,
            name: `trial ${c.number} (${c.state})`,
            type: 'line',
            showSymbol: c.pruned,
            symbol: c.pruned ? 'triangle' : 'none',
            lineStyle: {
              width: 1,
              color: c.pruned ? COLORS.pruned : stateColor(c.state),
              type: c.pruned ? 'dashed' : 'solid',
            },
            itemStyle: { color: c.pruned ? COLORS.pruned : stateColor(c.state) },
            data: c.steps.map((s) => ({
              value: [s.step, s.value],
              number: c.number,
              name: `trial ${c.number}`,
            })),
          })),
        },
      ];
    }
    case 'importance': {
      const d = plot.data;
      const list = [...d.importances].reverse();
      return [
        {
          ...base(`Hyperparameter importance (${IMPORTANCE_LABELS[d.method]}, ${d.nTrials} trials)`),
          xAxis: { type: 'value', name: 'importance', min: 0 },
          yAxis: { type: 'category', data: list.map((i) => i.param) },
          series: [
            {
              id: 'importance',
              type: 'bar',
              itemStyle: { color: COLORS.point },
              label: { show: true, position: 'right', formatter: '{c}' },
              data: list.map((i) => Number(i.importance.toFixed(4))),
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
          ...base(`Timeline (${d.lanes.length} lanes, at most ${d.maxParallel} at once)`),
          tooltip: { trigger: 'item', formatter: 'trial' },
          xAxis: { type: 'value', name: 'seconds', scale: true },
          yAxis: { type: 'category', data: d.lanes },
          series: [
            {
              id: 'timeline',
              type: 'custom',
              renderItem: 'timeline',
              encode: { x: [1, 2], y: 0 },
              data: d.bars.map((b) => ({
                value: [b.lane, (b.start - t0) / 1000, (b.end - t0) / 1000],
                number: b.number,
                name: `trial ${b.number} (${b.state})`,
                itemStyle: { color: stateColor(b.state) },
              })),
            },
          ],
        },
      ];
    }
    case 'layers': {
      const d = plot.data;
      return (['params', 'macs'] as const).map((key) => ({
        ...base(
          `${key === 'params' ? 'Parameters' : 'MACs'} by layer: trial ${d.number} (${d.model}, total ${d.total[key]})`,
        ),
        xAxis: { type: 'value', name: key },
        yAxis: { type: 'category', inverse: true, data: d.layers.map((l) => `${l.name} (${l.type})`) },
        series: [
          {
            id: `layers-${key}`,
            type: 'bar',
            itemStyle: { color: COLORS.point },
            data: d.layers.map((l) => l[key]),
          },
        ],
      }));
    }
  }
}
