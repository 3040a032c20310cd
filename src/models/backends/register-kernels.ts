/**
 * The single place where Parsimony registers its own wasm kernels (fast paths and missing gradients).
 * Called once by initBackend before the wasm backend is selected.
 */
let registered = false;

export function registerParsimonyKernels(): void {
  if (registered) return;
  registered = true;
}
