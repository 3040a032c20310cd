/**
 * The part of the WebAssembly JavaScript API that Parsimony's generated kernels use. Node has the
 * API at run time, but neither lib ES2023 nor @types/node 20 declares it (lib.dom does, and this
 * package does not compile against the DOM).
 */
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: Uint8Array): boolean;
}
