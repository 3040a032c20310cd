/**
 * The dashboard's HTTP server: a JSON API over a study reader plus the page and its bundled assets
 * (no CDN, so it works offline). It binds 127.0.0.1 unless told otherwise, is read-only unless
 * started with `allowWrite` (then it offers study deletion and notes and tags, each write a POST or
 * DELETE that must carry the server's random token in a header, come from the page's own origin
 * and name a loopback or IP host, against cross-site requests and DNS rebinding), serves assets
 * from a fixed table (no URL reaches the file system), and never shows the storage URL: pages and
 * logs name the storage by `describeStorage` only.
 * This module is an entry point of its own: the library never imports it; the CLI loads it lazily.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { InvalidArgumentError, isParsimonyError, StudyNotFoundError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import { trialToJson } from '../storage/export.js';
import { openStudyReader, type StudyReader } from '../storage/study-reader.js';
import { compressionEcharts, readCompressionReport } from '../visualization/compression.js';
import { echartsOptions } from '../visualization/echarts.js';
import { chartsRuntimePath, echartsBundlePath } from '../visualization/html.js';
import { IMPORTANCE_METHODS, type ImportanceMethod } from '../visualization/importance.js';
import { findModelSpec } from '../visualization/layers.js';
import { checkPlotKind, computePlot, PLOT_KINDS, type PlotOptions } from '../visualization/plots.js';
import { annotationKeys, parseAnnotationBody, readAnnotations } from './annotations.js';
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
  /** Storage URL or JSON export file (see `openStudyReader`); may be left out when `reports` are given. */
  storage?: string;
  /** Output directories (or their report.json) of `parsimony compress`, shown as compression reports. */
  reports?: readonly string[];
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How often a study is read again at most, in ms (default 1000). */
  refreshMs?: number;
  /** Where log lines go (default: stderr). */
  log?: (line: string) => void;
  /** Offer deleting studies and editing notes and tags (default false: read-only). */
  allowWrite?: boolean;
}

/** The header a write must carry, holding the token `GET /api/storage` gives the page. */
export const WRITE_TOKEN_HEADER = 'X-Parsimony-Token';

/**
 * True when the request names this server by a loopback or IP address (or the address it was
 * told to bind), not by some other host name: a page on a rebound DNS name gets no token.
 */
function trustedHost(hostHeader: string | undefined, boundHost: string | undefined): boolean {
  if (!hostHeader) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  const bare = hostname.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || isIP(bare) !== 0 || (boundHost !== undefined && bare === boundHost);
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
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

function importanceMethod(raw: string | undefined): ImportanceMethod | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(IMPORTANCE_METHODS as readonly string[]).includes(raw))
    throw new InvalidArgumentError(
      `query parameter method must be one of ${IMPORTANCE_METHODS.join(', ')}, got "${raw}"`,
    );
  return raw as ImportanceMethod;
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
    importanceMethod: importanceMethod(c.req.query('method')),
  };
}

/** The app's routes over a reader (exported for tests that need no socket). */
export function createDashboardApp(
  reader: StudyReader,
  options: {
    refreshMs?: number;
    log?: (line: string) => void;
    allowWrite?: boolean;
    host?: string;
    /** Compression reports, read when the page asks (the path never reaches the page). */
    reports?: readonly string[];
  } = {},
) {
  const reports = options.reports ?? [];
  const writable = options.allowWrite === true && reader.writer !== null;
  // A fresh token per server: a page from another origin cannot read it (no CORS headers are sent).
  const token = randomBytes(24).toString('hex');
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

  // Every write is refused unless --allow-write, and then needs the token, the page's own origin
  // and a trusted Host; anything but GET/HEAD/POST/DELETE is not offered at all.
  app.use('*', async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    if (method !== 'POST' && method !== 'DELETE')
      return c.json({ error: `method ${method} is not offered` }, 405, { Allow: 'GET, HEAD, POST, DELETE' });
    if (!options.allowWrite)
      return c.json(
        {
          error:
            'the dashboard is read-only; start it with --allow-write to delete studies and edit notes and tags',
        },
        403,
      );
    if (!reader.writer) return c.json({ error: `${reader.description} cannot be written` }, 403);
    const host = c.req.header('Host');
    if (!trustedHost(host, options.host))
      return c.json({ error: 'write refused: the Host header is not this server' }, 403);
    const origin = c.req.header('Origin');
    if (origin !== `http://${host}`)
      return c.json({ error: 'write refused: the request does not come from the dashboard page' }, 403);
    const site = c.req.header('Sec-Fetch-Site');
    if (site !== undefined && site !== 'same-origin')
      return c.json({ error: 'write refused: the request does not come from the dashboard page' }, 403);
    if (!sameToken(c.req.header(WRITE_TOKEN_HEADER), token))
      return c.json({ error: `write refused: missing or wrong ${WRITE_TOKEN_HEADER} header` }, 403);
    if (method === 'POST' && !/^application\/json\b/i.test(c.req.header('Content-Type') ?? ''))
      return c.json({ error: 'write refused: the body must be application/json' }, 415);
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
    c.json({
      description: reader.description,
      readOnly: !writable,
      plotKinds: PLOT_KINDS,
      ...(writable && trustedHost(c.req.header('Host'), options.host) ? { writeToken: token } : {}),
    }),
  );

  // Compression reports: listed by index and model name, so no path reaches the page.
  app.get('/api/compression', (c) =>
    c.json({
      reports: reports.map((path, index) => {
        try {
          const d = readCompressionReport(path);
          return {
            index,
            model: d.model,
            dataset: d.dataset,
            steps: d.steps.length - 2,
            completed: d.completed,
          };
        } catch (error) {
          return {
            index,
            error: isParsimonyError(error) ? error.message.replace(path, basename(path)) : 'unreadable',
          };
        }
      }),
    }),
  );
  app.get('/api/compression/:index', (c) => {
    const index = Number(c.req.param('index'));
    if (!Number.isInteger(index) || index < 0 || index >= reports.length)
      return c.json({ error: `no compression report number ${c.req.param('index')}` }, 404);
    const data = readCompressionReport(reports[index]);
    return c.json({ index, ...data, charts: compressionEcharts(data) });
  });

  app.post('/api/studies/:name/annotations', async (c) => {
    const s = await cache.get(c.req.param('name'));
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new InvalidArgumentError('request body is not valid JSON');
    }
    const change = parseAnnotationBody(body);
    if (change.trial !== null && !s.trials.some((t) => t.number === change.trial))
      return c.json({ error: `no trial number ${change.trial} in study "${s.info.name}"` }, 404);
    const keys = annotationKeys(change.trial);
    const writer = reader.writer!;
    if (change.note !== undefined) await writer.setStudyUserAttr(s.info.studyId, keys.note, change.note);
    if (change.tags !== undefined) await writer.setStudyUserAttr(s.info.studyId, keys.tags, change.tags);
    cache.forget(s.info.name);
    const what =
      change.trial === null ? `study "${s.info.name}"` : `trial ${change.trial} of "${s.info.name}"`;
    log(
      `dashboard: ${[change.note !== undefined ? 'note' : '', change.tags !== undefined ? 'tags' : ''].filter(Boolean).join(' and ')} set on ${what}`,
    );
    const fresh = await cache.get(s.info.name);
    return c.json({ trial: change.trial, ...readAnnotations(fresh.info.userAttrs, change.trial) });
  });

  app.delete('/api/studies/:name', async (c) => {
    const info = await reader.study(c.req.param('name'));
    await reader.writer!.deleteStudy(info.studyId);
    cache.forget(info.name);
    log(`dashboard: deleted study "${info.name}" (${info.nTrials} trials)`);
    return c.json({ deleted: info.name });
  });

  app.delete('/api/studies/:name/trials/:number', async (c) => {
    const s = await cache.get(c.req.param('name'));
    const raw = c.req.param('number');
    const found = s.trials.find((t) => t.number === Number(raw));
    if (!/^\d+$/.test(raw) || !found)
      return c.json({ error: `no trial number ${raw} in study "${s.info.name}"` }, 404);
    await reader.writer!.deleteTrial(found.trialId);
    cache.forget(s.info.name);
    log(`dashboard: deleted trial ${found.number} (${found.state}) of study "${s.info.name}"`);
    return c.json({ deleted: found.number, study: s.info.name });
  });

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
      annotations: readAnnotations(s.info.userAttrs, null),
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
      annotations: readAnnotations(s.info.userAttrs, found.number),
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

/** What the dashboard reads when it shows compression reports only. */
function emptyReader(): StudyReader {
  return {
    description: 'no storage',
    writer: null,
    studies: async () => [],
    study: async (name) => {
      throw new StudyNotFoundError(`no study named "${name}": the dashboard was started without --storage`);
    },
    trials: async () => [],
    close: async () => {},
  };
}

/** Opens the storage and starts serving; resolves once listening. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`--port must be an integer in 0..65535, got ${port}`);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.storage === undefined && !options.reports?.length)
    throw new InvalidArgumentError('the dashboard needs --storage URL or --report DIR (or both)');
  for (const report of options.reports ?? []) readCompressionReport(report); // a bad report fails here
  const reader = options.storage === undefined ? emptyReader() : await openStudyReader(options.storage);
  await reader.studies(); // a storage that cannot be listed fails here, in the terminal
  const app = createDashboardApp(reader, {
    reports: options.reports,
    refreshMs: options.refreshMs,
    log,
    allowWrite: options.allowWrite,
    host,
  });
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
  const mode = !options.allowWrite
    ? 'read-only'
    : reader.writer
      ? 'with writes allowed (delete studies, notes, tags)'
      : 'read-only (this storage cannot be written)';
  log(`dashboard: serving ${reader.description} ${mode} at ${url}`);
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
