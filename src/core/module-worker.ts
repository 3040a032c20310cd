/**
 * Starting a worker thread on a module of this package, from source (.ts under tsx) or from the
 * build (.js). Node 20 does not carry `--import tsx` hooks into worker threads, so when TypeScript
 * must be loaded the worker first registers tsx's loader, then imports the entry.
 */
import { Worker } from 'node:worker_threads';

/**
 * A worker on `entry` (a sibling of `from`, named without extension: `./thread-worker`), given
 * `workerData`. `typescript` forces tsx also from the build (a .ts module the worker will import).
 * A failure to load the entry is posted as `{ type: 'load-error', message }`.
 */
export function startModuleWorker(
  from: string,
  entry: string,
  workerData: unknown,
  options: { typescript?: boolean } = {},
): Worker {
  const fromSource = from.endsWith('.ts');
  const url = new URL(`${entry}${fromSource ? '.ts' : '.js'}`, from);
  if (!fromSource && !options.typescript) return new Worker(url, { workerData });
  // Resolved here: the eval'd boot code would resolve a bare 'tsx' from the working directory.
  const boot = `import(${JSON.stringify(tsxApi())}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })
    .catch((error) => { require('node:worker_threads').parentPort.postMessage({ type: 'load-error', message: String(error && error.message || error) }); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** tsx's register API as this module resolves it, or the bare name when tsx is not installed here. */
function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}
