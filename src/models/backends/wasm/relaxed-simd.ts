/**
 * WebAssembly relaxed SIMD (here only f32x4.relaxed_madd, a fused multiply-add) for the generated
 * kernels. Node 20's V8 implements it behind `--experimental-wasm-relaxed-simd`; the flag is read
 * when a module is validated or compiled, so setting it at run time (before the kernels compile)
 * is enough. Later Node versions ship it on, and the probe then passes without the flag.
 *
 * Opt-in: `PARSIMONY_RELAXED_SIMD=1` turns it on; otherwise, and when the engine rejects the probe,
 * the kernels keep the plain multiply and add (a first end-to-end run was slower with it). With FMA each product is added without rounding it first, so results
 * differ from the plain kernels in the last bits of each sum, not more.
 */
import v8 from 'node:v8';

/** A module whose one function returns relaxed_madd of its three v128 arguments. */
const PROBE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b], // type (v128 v128 v128) -> v128
  ...[0x03, 0x02, 0x01, 0x00],
  ...[0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b],
]);

let decided: boolean | undefined;

/** Whether the engine validates relaxed SIMD, turning V8's flag on once if it must. */
export function relaxedSimdSupported(): boolean {
  if (WebAssembly.validate(PROBE)) return true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(PROBE);
}

/** Whether the generated kernels use fused multiply-add (decided once per thread). */
export function useRelaxedSimd(): boolean {
  decided ??= process.env.PARSIMONY_RELAXED_SIMD === '1' && relaxedSimdSupported();
  return decided;
}
