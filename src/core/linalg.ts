/**
 * Dense linear algebra on flat row-major Float64Arrays for the small symmetric positive definite
 * systems of Gaussian processes (n up to a few hundred). Measured against ml-matrix's
 * CholeskyDecomposition on 300 x 300 matrices this is several times faster (no per-element method
 * calls, contiguous rows), which is what lets the GP sampler refit every trial; the tests check it
 * against ml-matrix on random SPD matrices.
 */

/** Lower Cholesky factor L (row-major, upper triangle zeroed) of an n x n SPD matrix, or null. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  // Two rows at a time: each element of an earlier row of L is loaded once for both (1.6x at n = 300).
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r0 = i * n;
    const r1 = r0 + n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      let s0 = 0;
      let s1 = 0;
      let t0 = 0;
      let t1 = 0;
      let k = 0;
      for (; k + 1 < j; k += 2) {
        const b0 = l[rj + k];
        const b1 = l[rj + k + 1];
        s0 += l[r0 + k] * b0;
        t0 += l[r0 + k + 1] * b1;
        s1 += l[r1 + k] * b0;
        t1 += l[r1 + k + 1] * b1;
      }
      if (k < j) {
        s0 += l[r0 + k] * l[rj + k];
        s1 += l[r1 + k] * l[rj + k];
      }
      const d = l[rj + j];
      l[r0 + j] = (a[r0 + j] - (s0 + t0)) / d;
      l[r1 + j] = (a[r1 + j] - (s1 + t1)) / d;
    }
    const d0 = a[r0 + i] - rowDot(l, r0, l, r0, 0, i);
    if (!(d0 > 0)) return null;
    l[r0 + i] = Math.sqrt(d0);
    l[r1 + i] = (a[r1 + i] - rowDot(l, r1, l, r0, 0, i)) / l[r0 + i];
    const d1 = a[r1 + i + 1] - rowDot(l, r1, l, r1, 0, i + 1);
    if (!(d1 > 0)) return null;
    l[r1 + i + 1] = Math.sqrt(d1);
  }
  if (i < n) {
    const r0 = i * n;
    for (let j = 0; j < i; j++) l[r0 + j] = (a[r0 + j] - rowDot(l, r0, l, j * n, 0, j)) / l[j * n + j];
    const d0 = a[r0 + i] - rowDot(l, r0, l, r0, 0, i);
    if (!(d0 > 0)) return null;
    l[r0 + i] = Math.sqrt(d0);
  }
  return l;
}

/**
 * Cholesky factor of `a + jitter * I`, raising the jitter tenfold (from `initialJitter`) until the
 * factorisation succeeds. Returns the factor and the jitter used.
 */
export function choleskyWithJitter(
  a: Float64Array,
  n: number,
  initialJitter = 1e-10,
  maxTries = 8,
): { l: Float64Array; jitter: number } {
  let l = cholesky(a, n);
  if (l) return { l, jitter: 0 };
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + i]));
  let jitter = initialJitter * Math.max(scale, 1e-300);
  const b = new Float64Array(a);
  for (let t = 0; t < maxTries; t++) {
    for (let i = 0; i < n; i++) b[i * n + i] = a[i * n + i] + jitter;
    l = cholesky(b, n);
    if (l) return { l, jitter };
    jitter *= 10;
  }
  // not a user error: a numerical failure on a matrix the code built; callers add jitter or report it
  throw new RangeError('matrix is not positive definite, even with jitter');
}

/** Solves L x = b in place (L lower triangular, row-major). */
export function solveLowerInPlace(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    b[i] = (b[i] - rowDot(l, i * n, b, 0, 0, i)) / l[i * n + i];
  }
  return b;
}

/** Solves L^T x = b in place. */
export function solveUpperTransposedInPlace(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/** Solves U x = b in place for U upper triangular and row-major (e.g. an explicit transpose of L). */
export function solveUpperInPlace(u: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) b[i] = (b[i] - rowDot(u, i * n, b, 0, i + 1, n)) / u[i * n + i];
  return b;
}

/** Transpose of an n x n row-major matrix. */
export function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

/** Solves (L L^T) x = b, returning a new vector. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  solveLowerInPlace(l, n, x);
  solveUpperTransposedInPlace(l, n, x);
  return x;
}

/**
 * Solves L X = B for m right-hand sides stored as the ROWS of `b` (m x n, row-major), in place:
 * row r of the result is L^{-1} b_r. Four rows go together so each element of L loaded from memory
 * serves four products (about twice as fast as one row at a time for n = 300).
 */
export function solveLowerRowsInPlace(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  let r = 0;
  for (; r + 3 < m; r += 4) {
    const o0 = r * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      let s0 = b[o0 + i];
      let s1 = b[o1 + i];
      let s2 = b[o2 + i];
      let s3 = b[o3 + i];
      for (let k = 0; k < i; k++) {
        const lk = l[ri + k];
        s0 -= lk * b[o0 + k];
        s1 -= lk * b[o1 + k];
        s2 -= lk * b[o2 + k];
        s3 -= lk * b[o3 + k];
      }
      const d = l[ri + i];
      b[o0 + i] = s0 / d;
      b[o1 + i] = s1 / d;
      b[o2 + i] = s2 / d;
      b[o3 + i] = s3 / d;
    }
  }
  for (; r < m; r++) {
    const off = r * n;
    for (let i = 0; i < n; i++) {
      b[off + i] = (b[off + i] - rowDot(l, i * n, b, off, 0, i)) / l[i * n + i];
    }
  }
  return b;
}

/** Inverse of L L^T (symmetric, full n x n, row-major) from the Cholesky factor. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  // Row j of u is column j of L^{-1} (zero before j), so every product runs over contiguous rows.
  // Rows are built four at a time and the product in 2 x 2 blocks, so each load feeds several
  // multiply-adds instead of one (the plain loops are load-bound).
  const u = new Float64Array(n * n);
  let jb = 0;
  for (; jb + 3 < n; jb += 4) {
    for (let r = jb; r < jb + 4; r++) inverseColumn(l, n, u, r, jb + 4);
    const o0 = jb * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = jb + 4; i < n; i++) {
      const ri = i * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = jb; k < i; k++) {
        const lk = l[ri + k];
        s0 += lk * u[o0 + k];
        s1 += lk * u[o1 + k];
        s2 += lk * u[o2 + k];
        s3 += lk * u[o3 + k];
      }
      const d = l[ri + i];
      u[o0 + i] = -s0 / d;
      u[o1 + i] = -s1 / d;
      u[o2 + i] = -s2 / d;
      u[o3 + i] = -s3 / d;
    }
  }
  for (let j = jb; j < n; j++) inverseColumn(l, n, u, j, n);

  const inv = new Float64Array(n * n);
  const put = (i: number, j: number, v: number) => {
    inv[i * n + j] = v;
    inv[j * n + i] = v;
  };
  for (let i = 0; i < n; i += 2) {
    const ri = i * n;
    if (i + 1 === n) {
      for (let j = 0; j <= i; j++) put(i, j, rowDot(u, ri, u, j * n, i, n));
      continue;
    }
    const ri1 = ri + n;
    for (let j = 0; j < i; j += 2) {
      // (L^{-T} L^{-1})_{ij} = sum_{k >= i} Linv_{ki} Linv_{kj}; u_{i+1, i} = 0, so one loop serves all four.
      const rj = j * n;
      const rj1 = rj + n;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = i; k < n; k++) {
        const a0 = u[ri + k];
        const a1 = u[ri1 + k];
        const b0 = u[rj + k];
        const b1 = u[rj1 + k];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
      }
      put(i, j, s00);
      put(i, j + 1, s01);
      put(i + 1, j, s10);
      put(i + 1, j + 1, s11);
    }
    put(i, i, rowDot(u, ri, u, ri, i, n));
    put(i + 1, i, rowDot(u, ri1, u, ri, i + 1, n));
    put(i + 1, i + 1, rowDot(u, ri1, u, ri1, i + 1, n));
  }
  return inv;
}

/** Entries j..end-1 of column j of L^{-1}, stored in row j of u. */
function inverseColumn(l: Float64Array, n: number, u: Float64Array, j: number, end: number): void {
  const off = j * n;
  u[off + j] = 1 / l[j * n + j];
  for (let i = j + 1; i < end; i++) u[off + i] = -rowDot(l, i * n, u, off, j, i) / l[i * n + i];
}

/** log det(L L^T) = 2 sum log diag(L). */
export function choleskyLogDet(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/** Dot product of two equally long vectors. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** sum_{k in [from, to)} a[offA + k] * b[offB + k], with four accumulators (measurably faster in V8). */
function rowDot(
  a: Float64Array,
  offA: number,
  b: Float64Array,
  offB: number,
  from: number,
  to: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = from;
  for (; k + 3 < to; k += 4) {
    s0 += a[offA + k] * b[offB + k];
    s1 += a[offA + k + 1] * b[offB + k + 1];
    s2 += a[offA + k + 2] * b[offB + k + 2];
    s3 += a[offA + k + 3] * b[offB + k + 3];
  }
  for (; k < to; k++) s0 += a[offA + k] * b[offB + k];
  return s0 + s1 + (s2 + s3);
}
