/**
 * The dashboard's HTTP server: a read-only JSON API over a study reader plus the page and its
 * bundled assets (no CDN, so it works offline). It binds 127.0.0.1 unless told otherwise, offers
 * no route that writes, serves assets from a fixed table (no URL reaches the file system), and
 * never shows the storage URL: pages and logs name the storage by `describeStorage` only.
 * This module is an entry point of its own: the library never imports it; the CLI loads it lazily.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { InvalidArgumentError, isParsimonyError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { trialToJson } from '../storage/export.js';
import { openStudyReader, type StudyReader } from '../storage/study-reader.js';
import { echartsOptions } from '../visualization/echarts.js';
import { chartsRuntimePath, echartsBundlePath } from '../visualization/html.js';
import { findModelSpec } from '../visualization/layers.js';
import { checkPlotKind, computePlot, PLOT_KINDS, type PlotOptions } from '../visualization/plots.js';
import { StudyCache } from './study-cache.js';
import { filterTrials, sortTrials, tableRow } from './table.js';

const ASSET_DIR = new URL('../../assets/dashboard/', import.meta.url);

/** Every file the server can send, by URL name: nothing else on disk is reachable. */
function assetTable(): Map<string, { path: string; type: string }> {
  return new Map([
    ['app.js', { path: fileURLToPath(new URL('app.js', ASSET_DIR)), type: 'text/javascript; charset=utf-8' }],
    ['charts.js', { path: chartsRuntimePath(), type: 'text/javascript; charset=utf-8' }],
    ['style.css', { path: fileURLToPath(new URL('style.css', ASSET_DIR)), type: 'text/css; charset=utf-8' }],
    ['echarts.min.js', { path: echartsBundlePath(), type: 'text/javascript; charset=utf-8' }],
  ]);
}

export interface DashboardOptions {
  /** Storage URL or JSON export file (see `openStudyReader`). */
  storage: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How often a study is read again at most, in ms (default 1000). */
  refreshMs?: number;
  /** Where log lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface Dashboard {
  url: string;
  /** What is served, as pages show it (no URL, no password). */
  description: string;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;
/** Curves drawn at most in the intermediate-values chart (the most recent ones). */
const MAX_CURVES = 300;

function intParam(c: Context, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new InvalidArgumentError(`query parameter ${name} must be an integer in 0..${max}, got "${raw}"`);
  return n;
}

function plotOptions(c: Context): PlotOptions {
  const objective = c.req.query('objective');
  const params = c.req.query('params');
  const trial = c.req.query('trial');
  return {
    objective: objective === undefined ? undefined : intParam(c, 'objective', 0, 64),
    x: c.req.query('x') || undefined,
    y: c.req.query('y') || undefined,
    params: params ? params.split(',') : undefined,
    trial: trial === undefined ? undefined : intParam(c, 'trial', 0),
  };
}

/** The app's routes over a reader (exported for tests that need no socket). */
export function createDashboardApp(
  reader: StudyReader,
  options: { refreshMs?: number; log?: (line: string) => void } = {},
) {
  const cache = new StudyCache(reader, options.refreshMs ?? 1000);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const assets = assetTable();
  const indexHtml = readFileSync(fileURLToPath(new URL('index.html', ASSET_DIR)), 'utf8');
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    );
  });

  app.onError((error, c) => {
    if (isParsimonyError(error)) {
      const status = error.code === 'STUDY_NOT_FOUND' || error.code === 'TRIAL_NOT_FOUND' ? 404 : 400;
      return c.json({ error: error.message, code: error.code }, status);
    }
    log(
      `dashboard: internal error on ${c.req.method} ${new URL(c.req.url).pathname}: ${(error as Error).message}`,
    );
    return c.json({ error: 'internal error (see the dashboard terminal)', code: 'INTERNAL' }, 500);
  });
  app.notFound((c) => c.json({ error: `not found: ${new URL(c.req.url).pathname}` }, 404));

  // Writes are not offered: anything but GET/HEAD is refused before routing.
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD')
      return c.json({ error: 'the dashboard is read-only' }, 405, { Allow: 'GET, HEAD' });
    await next();
  });

  app.get('/', (c) => c.html(indexHtml));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (!asset) return c.json({ error: 'no such asset' }, 404);
    return c.body(readFileSync(asset.path), 200, {
      'Content-Type': asset.type,
      'Cache-Control': 'max-age=3600',
    });
  });

  app.get('/api/storage', (c) =>
    c.json({ description: reader.description, readOnly: true, plotKinds: PLOT_KINDS }),
  );

  app.get('/api/studies', async (c) => {
    const studies = [];
    for (const info of await reader.studies()) {
      const s = await cache.get(info.name);
      studies.push({
        name: info.name,
        directions: info.directions,
        nTrials: s.trials.length,
        counts: s.summary.counts,
        best: s.summary.best,
        paretoFrontSize: s.summary.paretoFront.length,
        lastUpdate: s.summary.lastUpdate,
        version: s.version,
      });
    }
    return c.json({ storage: reader.description, studies });
  });

  app.get('/api/studies/:name', async (c) => {
    const s = await cache.get(c.req.param('name'));
    const params = StudyCache.memo(s, 'params', () =>
      [...new Set(s.trials.flatMap((t) => Object.keys(t.params)))].sort(),
    );
    const attrs = StudyCache.memo(s, 'attrs', () => {
      const keys = new Set<string>();
      for (const t of s.trials)
        for (const [k, v] of Object.entries(t.userAttrs)) if (typeof v === 'number') keys.add(k);
      return [...keys].sort();
    });
    return c.json({
      name: s.info.name,
      directions: s.info.directions,
      nTrials: s.trials.length,
      version: s.version,
      summary: s.summary,
      params,
      numericAttrs: attrs,
      hasModelSpecs: StudyCache.memo(s, 'specs', () => s.trials.some((t) => findModelSpec(t) !== null)),
    });
  });

  app.get('/api/studies/:name/plots/:kind', async (c) => {
    const s = await cache.get(c.req.param('name'));
    const kind = checkPlotKind(c.req.param('kind'));
    const options = plotOptions(c);
    const key = `plot:${kind}:${JSON.stringify(options)}`;
    const charts = StudyCache.memo(s, key, () => {
      try {
        const plot = computePlot(kind, s.trials, s.info.directions, options);
        if (plot.kind === 'intermediate' && plot.data.curves.length > MAX_CURVES)
          plot.data = { ...plot.data, curves: plot.data.curves.slice(-MAX_CURVES) };
        return { charts: echartsOptions(plot) };
      } catch (error) {
        // A figure that does not apply (no second measure, no stored spec) is a note, not a failure.
        if (isParsimonyError(error) && error.code === 'INVALID_ARGUMENT')
          return { charts: [], note: error.message };
        throw error;
      }
    });
    return c.json({ kind, version: s.version, ...charts });
  });

  app.get('/api/studies/:name/trials', async (c) => {
    const s = await cache.get(c.req.param('name'));
    const offset = intParam(c, 'offset', 0);
    const limit = intParam(c, 'limit', 50, MAX_PAGE);
    const sort = c.req.query('sort') || 'number';
    const order = c.req.query('order') === 'desc' ? 'desc' : 'asc';
    const states = c.req.query('state') || '';
    const filter = c.req.query('filter') || '';
    const rows = StudyCache.memo(s, `table:${sort}:${order}:${states}:${filter}`, () =>
      sortTrials(filterTrials(s.trials, states, filter), sort, order),
    );
    return c.json({
      total: rows.length,
      offset,
      limit,
      version: s.version,
      rows: rows.slice(offset, offset + limit).map((t) => tableRow(t)),
    });
  });

  app.get('/api/studies/:name/trials/:number', async (c) => {
    const s = await cache.get(c.req.param('name'));
    const raw = c.req.param('number');
    const number = Number(raw);
    const trial: FrozenTrial | undefined = Number.isInteger(number) ? s.trials[number] : undefined;
    const found = trial?.number === number ? trial : s.trials.find((t) => t.number === number);
    if (!found) return c.json({ error: `no trial number ${raw} in study "${s.info.name}"` }, 404);
    const retries = StudyCache.memo(s, 'retries', () => {
      const map = new Map<number, number[]>();
      for (const t of s.trials) {
        const from = t.systemAttrs.retriedFrom;
        if (typeof from === 'number') map.set(from, [...(map.get(from) ?? []), t.number]);
      }
      return map;
    });
    const layers = findModelSpec(found)
      ? (() => {
          try {
            return {
              charts: echartsOptions(computePlot('layers', s.trials, s.info.directions, { trial: number })),
            };
          } catch (error) {
            if (isParsimonyError(error)) return { charts: [], note: error.message };
            throw error;
          }
        })()
      : null;
    return c.json({
      trial: trialToJson(found),
      retriedFrom: typeof found.systemAttrs.retriedFrom === 'number' ? found.systemAttrs.retriedFrom : null,
      retriedBy: retries.get(found.number) ?? [],
      layers,
    });
  });

  // Live updates: one event whenever the study's version changes (checked every refresh period).
  app.get('/api/studies/:name/events', async (c) => {
    const name = c.req.param('name');
    await cache.get(name); // a missing study is a 404 before the stream starts
    return streamSSE(c, async (stream) => {
      let last = '';
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      while (open) {
        try {
          const s = await cache.get(name);
          if (s.version !== last) {
            last = s.version;
            await stream.writeSSE({
              event: 'version',
              data: JSON.stringify({ version: s.version, nTrials: s.trials.length, summary: s.summary }),
            });
          }
        } catch (error) {
          await stream.writeSSE({
            event: 'error',
            data: JSON.stringify({ error: (error as Error).message }),
          });
          break;
        }
        await stream.sleep(options.refreshMs ?? 1000);
      }
    });
  });

  return app;
}

/** Opens the storage and starts serving; resolves once listening. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`--port must be an integer in 0..65535, got ${port}`);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reader = await openStudyReader(options.storage);
  await reader.studies(); // a storage that cannot be listed fails here, in the terminal
  const app = createDashboardApp(reader, { refreshMs: options.refreshMs, log });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new InvalidArgumentError(
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use; pick another with --port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
  }).catch(async (error) => {
    await reader.close();
    throw error;
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  log(`dashboard: serving ${reader.description} read-only at ${url}`);
  return {
    url,
    description: reader.description,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await reader.close();
    },
  };
}
