/**
 * Maximises an acquisition function over the normalised box of a search space: a Latin hypercube
 * of candidates (snapped onto each parameter's grid, so the values compared are the ones that
 * would be sampled), then local refinement of the best few. Continuous columns move by the bounded
 * quasi-Newton method with analytic gradients; integer, stepped and categorical parameters by
 * discrete moves (every value of small grids and all choices of a categorical, neighbouring grid
 * points of large grids, which also join the gradient phase and are snapped afterwards).
 */
import type { ParamValue } from '../../core/distributions.js';
import type { Random } from '../../core/random.js';
import type { SearchSpaceTransform } from '../transform.js';
import type { Acquisition } from './acquisition.js';
import { minimizeBounded } from './lbfgsb.js';

/** Grids up to this size are searched exhaustively per coordinate; larger ones also move by gradient. */
const SMALL_GRID = 16;

export interface AcquisitionOptimizerOptions {
  /** Random (Latin hypercube) candidates (default 2048). */
  candidates?: number;
  /** How many of the best candidates are refined locally (default 10). */
  localStarts?: number;
  /** Extra starting points for the local search (e.g. the incumbent), already encoded. */
  extraStarts?: readonly Float64Array[];
  /** Rounds of alternating continuous and discrete moves (default 3). */
  rounds?: number;
}

interface ParamInfo {
  name: string;
  column: number;
  kind: 'continuous' | 'grid' | 'categorical';
  /** Grid values (external) of small grids; null for large grids and non-grid kinds. */
  values: number[] | null;
  step: number;
  low: number;
  high: number;
}

function describeParams(transform: SearchSpaceTransform): ParamInfo[] {
  return transform.distributions.map((d, p) => {
    const column = transform.paramStart[p];
    const name = transform.names[p];
    if (d.type === 'categorical')
      return { name, column, kind: 'categorical', values: null, step: 0, low: 0, high: 0 };
    const step = d.type === 'int' ? d.step : d.step;
    if (step === null)
      return { name, column, kind: 'continuous', values: null, step: 0, low: d.low, high: d.high };
    const count = Math.round((d.high - d.low) / step) + 1;
    const values = count <= SMALL_GRID ? Array.from({ length: count }, (_, k) => d.low + k * step) : null;
    return { name, column, kind: 'grid', values, step, low: d.low, high: d.high };
  });
}

export function optimizeAcquisition(
  acquisition: Acquisition,
  transform: SearchSpaceTransform,
  rng: Random,
  options: AcquisitionOptimizerOptions = {},
): { x: Float64Array<ArrayBufferLike>; value: number } {
  const dim = transform.dim;
  const params = describeParams(transform);
  const hasGrid = params.some((p) => p.kind !== 'continuous');
  const snap = (x: Float64Array): Float64Array => (hasGrid ? transform.encode(transform.decode(x)) : x);
  const m = Math.max(1, options.candidates ?? 2048);

  // Latin hypercube: one stratum per candidate in every parameter.
  const xs = new Float64Array(m * dim);
  for (let p = 0; p < params.length; p++) {
    const strata = rng.shuffle(Array.from({ length: m }, (_, i) => i));
    const info = params[p];
    const width = p + 1 < params.length ? params[p + 1].column - info.column : dim - info.column;
    for (let r = 0; r < m; r++) {
      const u = (strata[r] + rng.next()) / m;
      if (info.kind === 'categorical')
        xs[r * dim + info.column + Math.min(width - 1, Math.floor(u * width))] = 1;
      else xs[r * dim + info.column] = u;
    }
  }
  if (hasGrid) for (let r = 0; r < m; r++) xs.set(snap(xs.subarray(r * dim, (r + 1) * dim)), r * dim);
  const values = acquisition.evaluate(xs, m);

  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  let best: { x: Float64Array<ArrayBufferLike>; value: number } = {
    x: xs.slice(order[0] * dim, (order[0] + 1) * dim),
    value: values[order[0]],
  };
  const starts: Float64Array[] = [];
  for (let k = 0; k < Math.min(options.localStarts ?? 10, m); k++)
    starts.push(xs.slice(order[k] * dim, (order[k] + 1) * dim));
  for (const s of options.extraStarts ?? []) starts.push(snap(Float64Array.from(s)));

  for (const start of starts) {
    const result = localSearch(acquisition, transform, params, start, snap, options.rounds ?? 3);
    if (result.value > best.value) best = result;
  }
  return best;
}

function localSearch(
  acquisition: Acquisition,
  transform: SearchSpaceTransform,
  params: readonly ParamInfo[],
  start: Float64Array,
  snap: (x: Float64Array) => Float64Array,
  rounds: number,
): { x: Float64Array<ArrayBufferLike>; value: number } {
  const dim = transform.dim;
  let x: Float64Array<ArrayBufferLike> = Float64Array.from(start);
  let value = acquisition.evaluate(x, 1)[0];
  const gradientColumns = params
    .filter((p) => p.kind === 'continuous' || (p.kind === 'grid' && p.values === null))
    .map((p) => p.column);
  const discrete = params.filter((p) => p.kind !== 'continuous');

  for (let round = 0; round < rounds; round++) {
    let improved = false;
    if (gradientColumns.length > 0) {
      const full = Float64Array.from(x);
      const grad = new Float64Array(dim);
      const objective = (z: Float64Array, g: Float64Array): number => {
        for (let k = 0; k < z.length; k++) full[gradientColumns[k]] = z[k];
        const v = acquisition.valueAndGradient(full, grad);
        for (let k = 0; k < z.length; k++) g[k] = -grad[gradientColumns[k]];
        return -v;
      };
      const z0 = Float64Array.from(gradientColumns, (c) => x[c]);
      const lower = new Float64Array(z0.length);
      const upper = new Float64Array(z0.length).fill(1);
      const result = minimizeBounded(objective, z0, lower, upper, {
        maxIterations: 50,
        gradientTolerance: 1e-6,
        relativeTolerance: 1e-9,
      });
      const candidate = Float64Array.from(x);
      for (let k = 0; k < z0.length; k++) candidate[gradientColumns[k]] = result.x[k];
      const snapped = snap(candidate);
      const v = acquisition.evaluate(snapped, 1)[0];
      if (v > value) {
        improved = improved || v > value + 1e-12;
        x = snapped;
        value = v;
      }
    }
    for (const p of discrete) {
      const moves = discreteMoves(transform, p, x);
      if (moves.length === 0) continue;
      const batch = new Float64Array(moves.length * dim);
      for (let i = 0; i < moves.length; i++) batch.set(moves[i], i * dim);
      const vals = acquisition.evaluate(batch, moves.length);
      let k = -1;
      for (let i = 0; i < moves.length; i++)
        if (vals[i] > value + 1e-12 && (k < 0 || vals[i] > vals[k])) k = i;
      if (k >= 0) {
        x = moves[k];
        value = vals[k];
        improved = true;
      }
    }
    if (!improved) break;
  }
  return { x, value };
}

/** Encoded points that differ from x only in parameter p: other choices or other grid values. */
function discreteMoves(
  transform: SearchSpaceTransform,
  p: ParamInfo,
  x: Float64Array<ArrayBufferLike>,
): Float64Array<ArrayBufferLike>[] {
  const dim = transform.dim;
  if (p.kind === 'categorical') {
    const pIndex = transform.names.indexOf(p.name);
    const width = (pIndex + 1 < transform.names.length ? transform.paramStart[pIndex + 1] : dim) - p.column;
    const out: Float64Array<ArrayBufferLike>[] = [];
    let current = 0;
    for (let k = 1; k < width; k++) if (x[p.column + k] > x[p.column + current]) current = k;
    for (let k = 0; k < width; k++) {
      if (k === current) continue;
      const y = Float64Array.from(x);
      for (let c = 0; c < width; c++) y[p.column + c] = c === k ? 1 : 0;
      out.push(y);
    }
    return out;
  }
  const decoded = transform.decode(x);
  const current = decoded[p.name] as number;
  const targets =
    p.values ?? [current - p.step, current + p.step].filter((v) => v >= p.low - 1e-12 && v <= p.high + 1e-12);
  const out: Float64Array<ArrayBufferLike>[] = [];
  for (const v of targets) {
    if (Math.abs(v - current) < 1e-12 * Math.max(1, Math.abs(v))) continue;
    const changed: Record<string, ParamValue> = { ...decoded, [p.name]: v };
    out.push(transform.encode(changed));
  }
  return out;
}
