/**
 * Loading a class from a module that may not be written yet (benches and contract suites that
 * cover implementations landing in parallel). Only a module FILE that does not exist counts as
 * missing; a module that exists but fails to load, or lacks the export, is an error.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Loaded<T> = { status: 'ok'; value: T; path: string } | { status: 'missing'; path: string };

/** The repository root (this file is bench/lib/load.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Imports `exportName` from `modulePath`, relative to the repository root and written with the
 * `.js` extension as in source imports (`src/samplers/tpe/tpe-sampler.js`); the `.ts` file is
 * loaded (benches and tests run through tsx).
 */
export async function loadOptionalExport<T>(modulePath: string, exportName: string): Promise<Loaded<T>> {
  const tsPath = modulePath.replace(/\.js$/, '.ts');
  const file = fileURLToPath(new URL(tsPath, pathToFileURL(REPO_ROOT)));
  if (!existsSync(file)) return { status: 'missing', path: tsPath };
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  if (!(exportName in mod)) throw new Error(`${tsPath} does not export ${exportName}`);
  return { status: 'ok', value: mod[exportName] as T, path: tsPath };
}

/** True when a missing implementation must fail rather than be skipped (continuous integration). */
export function missingIsFatal(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
