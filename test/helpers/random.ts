/**
 * Seeded test inputs (xorshift32): the same values on every run and backend, so a failure
 * reproduces, without pulling the library's own Random into what tests compare against.
 */
export function randoms(n: number, seed: number, low = -1, high = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = low + ((s >>> 0) / 2 ** 32) * (high - low);
  }
  return out;
}
