/**
 * Chooses and initialises the TensorFlow.js backend once per process (or worker thread).
 * Order: `@tensorflow/tfjs-node` when it is installed (optional, never required), otherwise wasm
 * with Parsimony's kernels registered on top, otherwise cpu. `PARSIMONY_BACKEND` forces a choice.
 *
 * wasm in Node (checked on Node 20, tfjs 4.22): the SIMD build is used (WASM_HAS_SIMD_SUPPORT is
 * true), the threaded one is not (WASM_HAS_MULTITHREAD_SUPPORT is false, getThreadsCount() is 1):
 * its pthreads start Web Workers from a Blob URL, which Node's worker_threads cannot run. So each
 * backend computes on one core, and parallelism comes from one trial per worker thread.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { BackendUnsupportedError, InvalidArgumentError } from '../../core/errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name in use ('tensorflow' is tfjs-node). */
  name: BackendName;
  /** Why this backend was chosen: 'forced' by PARSIMONY_BACKEND/option, or 'auto'. */
  reason: 'forced' | 'auto';
}

export interface InitBackendOptions {
  /** Force a backend; defaults to PARSIMONY_BACKEND or automatic choice. */
  backend?: BackendName | 'node';
}

let initialised: Promise<BackendInfo> | undefined;

/** Initialises the backend once; later calls return the same choice. */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  initialised ??= chooseBackend(options);
  return initialised;
}

function normalise(name: string): BackendName {
  const n = name.trim().toLowerCase();
  if (n === 'node' || n === 'tensorflow' || n === 'tfjs-node') return 'tensorflow';
  if (n === 'wasm' || n === 'cpu') return n;
  throw new InvalidArgumentError(`PARSIMONY_BACKEND: unknown backend "${name}" (expected node, wasm or cpu)`);
}

async function chooseBackend(options: InitBackendOptions): Promise<BackendInfo> {
  const forcedRaw = options.backend ?? process.env.PARSIMONY_BACKEND;
  const forced = forcedRaw ? normalise(forcedRaw) : undefined;
  const tf = await import('@tensorflow/tfjs-core');
  (await import('./chained-ops.js')).registerChainedOps(tf);
  // The Node build of tfjs-core registers no gradients (only the @tensorflow/tfjs bundle does);
  // tfjs-layers' Node bundle registers all of them, so tf.grad works before any model is built.
  await import('@tensorflow/tfjs-layers');
  (await import('./gradients.js')).registerParsimonyGradients(tf);
  if (forced === 'tensorflow' || forced === undefined) {
    if (await tryTfjsNode()) {
      await tf.setBackend('tensorflow');
      await tf.ready();
      return { name: 'tensorflow', reason: forced ? 'forced' : 'auto' };
    }
    if (forced) {
      throw new InvalidArgumentError('PARSIMONY_BACKEND=node but @tensorflow/tfjs-node is not installed');
    }
  }
  if (forced === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    await tf.ready();
    return { name: 'cpu', reason: 'forced' };
  }
  await import('@tensorflow/tfjs-backend-cpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  wasm.setWasmPaths(`${path.dirname(wasmFile)}${path.sep}`);
  const { registerParsimonyKernels } = await import('./register-kernels.js');
  registerParsimonyKernels();
  await tf.setBackend('wasm');
  await tf.ready();
  // Parsimony's generated kernels compute on the backend's heap; a tfjs-backend-wasm build that
  // hides it would fail in the first training step, so say so now, with the way out.
  const { heapMemory } = await import('./kernels/wasm-calls.js');
  if (heapMemory(tf.backend() as never) === undefined)
    throw new BackendUnsupportedError(
      `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm}: its WebAssembly memory is not reachable, which Parsimony's wasm kernels need (tested with 4.22); install that version or set PARSIMONY_BACKEND=cpu`,
    );
  return { name: 'wasm', reason: forced ? 'forced' : 'auto' };
}

async function tryTfjsNode(): Promise<boolean> {
  try {
    // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}
