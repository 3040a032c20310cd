/**
 * Starts a worker thread on an entry module of Parsimony (objective workers, PBT members). When
 * TypeScript must be loaded (running from source, or a .ts module the worker imports), the worker
 * first registers tsx's loader: Node 20 does not carry `--import tsx` hooks into worker threads.
 */
import { Worker } from 'node:worker_threads';

/**
 * `entry` is the module's URL as built (`.js`) or from source (`.ts`); `alsoLoads` is a module the
 * worker will import, which needs tsx when it is TypeScript.
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

/** The sibling of the calling module named `name` (`.ts` when the caller runs from source). */
export function siblingEntry(callerUrl: string, name: string): URL {
  return new URL(callerUrl.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, callerUrl);
}

/** tsx's register API as this module resolves it, or the bare name when tsx is not installed here. */
function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}
