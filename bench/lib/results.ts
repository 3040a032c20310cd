/** Where benches keep their outputs: bench/results/<name>-<YYYY-MM-DD>.json and <name>-latest.md. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './load.js';

export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/** The local date as YYYY-MM-DD. */
export function isoDate(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Writes the raw results and the Markdown report; returns both paths. */
export function writeBenchResults(
  name: string,
  raw: unknown,
  markdown: string,
  date = new Date(),
): { json: string; markdown: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${name}-${isoDate(date)}.json`);
  const md = join(RESULTS_DIR, `${name}-latest.md`);
  writeFileSync(json, `${JSON.stringify(raw, null, 1)}\n`);
  writeFileSync(md, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return { json, markdown: md };
}
