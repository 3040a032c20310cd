/**
 * Starting a worker thread on a module of this package (objective workers, PBT members,
 * data-parallel replicas), from source (.ts under tsx) or from the build (.js). Node 20 does not
 * carry `--import tsx` hooks into worker threads, so when TypeScript must be loaded the worker
 * first registers tsx's loader, then imports the entry.
 */
import { Worker } from 'node:worker_threads';

/** The sibling of the calling module named `name` (`.ts` when the caller runs from source). */
export function siblingEntry(callerUrl: string, name: string): URL {
  return new URL(callerUrl.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, callerUrl);
}

/**
 * A worker on `entry` (its URL as built, `.js`, or from source, `.ts`), given `workerData`.
 * `alsoLoads` is a module the worker will import: when it is TypeScript, tsx is registered even
 * from the build. A failure to load the entry is posted as `{ type: 'load-error', message }`.
 */
export function startThread(entry: URL, workerData: unknown, alsoLoads?: string): Worker {
  const fromSource = entry.pathname.endsWith('.ts');
  if (!fromSource && !(alsoLoads && /\.[mc]?ts$/.test(new URL(alsoLoads).pathname)))
    return new Worker(entry, { workerData });
  // Resolved here: the eval'd boot code would resolve a bare 'tsx' from the working directory.
  const boot = `import(${JSON.stringify(tsxApi())}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })
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
