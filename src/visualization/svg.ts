/**
 * A small SVG renderer for plot data, so `parsimony plot --out file.svg` works without a browser.
 * Figures are described as panels of layers (points, lines, horizontal bars, heat cells, parallel
 * polylines) on linear, log or categorical axes; `renderSvg` stacks the panels vertically.
 */

export interface Axis {
  label: string;
  log?: boolean;
  /** Category labels: values are indices into this list. */
  categories?: string[];
  /** Forced range (otherwise from the data). */
  min?: number;
  max?: number;
}

export type Layer =
  | {
      type: 'points';
      points: { x: number; y: number; title?: string; color?: string }[];
      color?: string;
      radius?: number;
    }
  | {
      type: 'line';
      points: { x: number; y: number }[];
      color: string;
      width?: number;
      step?: boolean;
      title?: string;
    }
  | { type: 'hbars'; bars: { y: number; x0: number; x1: number; color: string; title?: string }[] }
  | { type: 'cells'; cells: { x0: number; x1: number; y0: number; y1: number; value: number | null }[] };

export interface Panel {
  title: string;
  x: Axis;
  y: Axis;
  layers: Layer[];
  legend?: { label: string; color: string }[];
}

/** Parallel coordinates: one vertical axis per dimension, one polyline per row coloured by the first. */
export interface ParallelPanel {
  title: string;
  kind: 'parallel';
  axes: Axis[];
  rows: { values: (number | null)[]; title?: string }[];
}

export type AnyPanel = Panel | ParallelPanel;

export const COLORS = {
  point: '#5470c6',
  best: '#ee6666',
  front: '#ee6666',
  dominated: '#9aa7c7',
  infeasible: '#cccccc',
  complete: '#5470c6',
  pruned: '#fac858',
  fail: '#ee6666',
  running: '#91cc75',
  waiting: '#bbbbbb',
};

export function stateColor(state: string): string {
  return (
    { COMPLETE: COLORS.complete, PRUNED: COLORS.pruned, FAIL: COLORS.fail, RUNNING: COLORS.running }[state] ??
    COLORS.waiting
  );
}

const WIDTH = 720;
const PANEL_HEIGHT = 400;
const MARGIN = { left: 80, right: 24, top: 40, bottom: 56 };

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** "Nice" tick values covering [lo, hi]. */
function linearTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

interface Scale {
  map(v: number): number;
  ticks: { value: number; label: string }[];
}

function makeScale(axis: Axis, values: number[], from: number, to: number): Scale {
  if (axis.categories) {
    const n = axis.categories.length;
    const map = (v: number) => from + ((v + 0.5) / Math.max(1, n)) * (to - from);
    return { map, ticks: axis.categories.map((label, i) => ({ value: i, label })) };
  }
  const finite = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  let lo = axis.min ?? (finite.length ? Math.min(...finite) : 0);
  let hi = axis.max ?? (finite.length ? Math.max(...finite) : 1);
  if (axis.log) {
    lo = Math.log10(lo > 0 ? lo : 1);
    hi = Math.log10(hi > 0 ? hi : 10);
  }
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  } else if (axis.min === undefined && axis.max === undefined) {
    const pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
  }
  const t = (v: number) => (axis.log ? Math.log10(v) : v);
  const map = (v: number) => from + ((t(v) - lo) / (hi - lo)) * (to - from);
  const ticks = axis.log
    ? linearTicks(Math.ceil(lo), Math.floor(hi), Math.max(1, Math.min(8, Math.floor(hi) - Math.ceil(lo))))
        .filter((e) => Number.isInteger(e))
        .map((e) => ({ value: 10 ** e, label: fmt(10 ** e) }))
    : linearTicks(lo, hi).map((v) => ({ value: v, label: fmt(v) }));
  return { map, ticks };
}

function layerValues(layer: Layer, which: 'x' | 'y'): number[] {
  switch (layer.type) {
    case 'points':
    case 'line':
      return layer.points.map((p) => p[which]);
    case 'hbars':
      return which === 'x' ? layer.bars.flatMap((b) => [b.x0, b.x1]) : layer.bars.map((b) => b.y);
    case 'cells':
      return which === 'x'
        ? layer.cells.flatMap((c) => [c.x0, c.x1])
        : layer.cells.flatMap((c) => [c.y0, c.y1]);
  }
}

/** Viridis-like ramp from dark blue (low) to yellow (high). */
export function ramp(f: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const u = x - i;
  const c = stops[i].map((a, k) => Math.round(a + u * (stops[i + 1][k] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function renderXyPanel(panel: Panel, top: number): string {
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = top + PANEL_HEIGHT - MARGIN.bottom;
  const y1 = top + MARGIN.top;
  const xs = makeScale(
    panel.x,
    panel.layers.flatMap((l) => layerValues(l, 'x')),
    x0,
    x1,
  );
  const ys = makeScale(
    panel.y,
    panel.layers.flatMap((l) => layerValues(l, 'y')),
    y0,
    y1,
  );
  const out: string[] = [];
  out.push(
    `<text x="${WIDTH / 2}" y="${top + 24}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#888"/>`);
  for (const t of xs.ticks) {
    const x = xs.map(t.value);
    if (x < x0 - 0.5 || x > x1 + 0.5) continue;
    out.push(`<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y1}" stroke="#eee"/>`);
    out.push(
      `<text x="${x.toFixed(1)}" y="${y0 + 16}" text-anchor="middle" font-size="11">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of ys.ticks) {
    const y = ys.map(t.value);
    if (y > y0 + 0.5 || y < y1 - 0.5) continue;
    out.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x1}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    out.push(
      `<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeXml(t.label)}</text>`,
    );
  }
  out.push(
    `<text x="${(x0 + x1) / 2}" y="${y0 + 40}" text-anchor="middle" font-size="12">${escapeXml(panel.x.label)}</text>`,
  );
  out.push(
    `<text transform="translate(${16},${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(panel.y.label)}</text>`,
  );
  for (const layer of panel.layers) {
    if (layer.type === 'cells') {
      const vals = layer.cells.map((c) => c.value).filter((v): v is number => v !== null);
      const lo = Math.min(...vals);
      const hi = Math.max(...vals);
      for (const c of layer.cells) {
        if (c.value === null) continue;
        const ax = xs.map(c.x0);
        const bx = xs.map(c.x1);
        const ay = ys.map(c.y1);
        const by = ys.map(c.y0);
        out.push(
          `<rect x="${Math.min(ax, bx).toFixed(1)}" y="${Math.min(ay, by).toFixed(1)}" width="${Math.abs(bx - ax).toFixed(1)}" height="${Math.abs(by - ay).toFixed(1)}" fill="${ramp(hi > lo ? (c.value - lo) / (hi - lo) : 0.5)}" shape-rendering="crispEdges"/>`,
        );
      }
    } else if (layer.type === 'hbars') {
      for (const b of layer.bars) {
        const ax = xs.map(b.x0);
        const bx = xs.map(Math.max(b.x1, b.x0));
        const cy = ys.map(b.y);
        const h = Math.max(
          2,
          Math.min(18, ((y0 - y1) / Math.max(1, (panel.y.categories?.length ?? 1) + 1)) * 0.7),
        );
        out.push(
          `<rect x="${ax.toFixed(1)}" y="${(cy - h / 2).toFixed(1)}" width="${Math.max(1, bx - ax).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}">${b.title ? `<title>${escapeXml(b.title)}</title>` : ''}</rect>`,
        );
      }
    } else if (layer.type === 'line') {
      if (layer.points.length === 0) continue;
      const parts: string[] = [];
      layer.points.forEach((p, i) => {
        const x = xs.map(p.x).toFixed(1);
        const y = ys.map(p.y).toFixed(1);
        if (i === 0) parts.push(`M${x},${y}`);
        else if (layer.step) parts.push(`H${x}V${y}`);
        else parts.push(`L${x},${y}`);
      });
      out.push(
        `<path d="${parts.join('')}" fill="none" stroke="${layer.color}" stroke-width="${layer.width ?? 1.5}">${layer.title ? `<title>${escapeXml(layer.title)}</title>` : ''}</path>`,
      );
    } else {
      const r = layer.radius ?? 3;
      for (const p of layer.points) {
        if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
        out.push(
          `<circle class="point" cx="${xs.map(p.x).toFixed(1)}" cy="${ys.map(p.y).toFixed(1)}" r="${r}" fill="${p.color ?? layer.color ?? COLORS.point}" fill-opacity="0.8">${p.title ? `<title>${escapeXml(p.title)}</title>` : ''}</circle>`,
        );
      }
    }
  }
  if (panel.legend?.length) {
    panel.legend.forEach((item, i) => {
      const lx = x1 - 150;
      const ly = y1 + 14 + i * 16;
      out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${item.color}"/>`);
      out.push(`<text x="${lx + 16}" y="${ly}" font-size="11">${escapeXml(item.label)}</text>`);
    });
  }
  return out.join('\n');
}

function renderParallelPanel(panel: ParallelPanel, top: number): string {
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = top + PANEL_HEIGHT - MARGIN.bottom;
  const y1 = top + MARGIN.top;
  const n = panel.axes.length;
  const ax = (i: number) => (n === 1 ? (x0 + x1) / 2 : x0 + (i / (n - 1)) * (x1 - x0));
  const scales = panel.axes.map((a, i) =>
    makeScale(
      a,
      panel.rows.map((r) => r.values[i]).filter((v): v is number => v !== null),
      y0,
      y1,
    ),
  );
  const first = panel.rows.map((r) => r.values[0]).filter((v): v is number => v !== null);
  const lo = Math.min(...first);
  const hi = Math.max(...first);
  const out: string[] = [];
  out.push(
    `<text x="${WIDTH / 2}" y="${top + 24}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  for (const row of panel.rows) {
    const pts: string[] = [];
    row.values.forEach((v, i) => {
      if (v !== null) pts.push(`${ax(i).toFixed(1)},${scales[i].map(v).toFixed(1)}`);
    });
    const c = ramp(hi > lo ? ((row.values[0] ?? lo) - lo) / (hi - lo) : 0.5);
    out.push(
      `<polyline class="row" points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-opacity="0.6">${row.title ? `<title>${escapeXml(row.title)}</title>` : ''}</polyline>`,
    );
  }
  panel.axes.forEach((a, i) => {
    const x = ax(i).toFixed(1);
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#333"/>`);
    out.push(
      `<text x="${x}" y="${y0 + 20}" text-anchor="middle" font-size="12">${escapeXml(a.label)}</text>`,
    );
    for (const t of scales[i].ticks) {
      const y = scales[i].map(t.value);
      if (y > y0 + 0.5 || y < y1 - 0.5) continue;
      out.push(
        `<text x="${Number(x) + 4}" y="${(y + 4).toFixed(1)}" font-size="10" fill="#555">${escapeXml(t.label)}</text>`,
      );
    }
  });
  return out.join('\n');
}

/** The panels as one standalone SVG document. */
export function renderSvg(panels: readonly AnyPanel[], title?: string): string {
  const height = Math.max(1, panels.length) * PANEL_HEIGHT;
  const body = panels
    .map((p, i) =>
      'kind' in p ? renderParallelPanel(p, i * PANEL_HEIGHT) : renderXyPanel(p, i * PANEL_HEIGHT),
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    title ? `<title>${escapeXml(title)}</title>` : '',
    `<rect width="100%" height="100%" fill="white"/>`,
    panels.length === 0 ? `<text x="20" y="40">nothing to plot</text>` : body,
    '</svg>',
    '',
  ].join('\n');
}
