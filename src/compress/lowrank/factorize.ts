/**
 * Low-rank factorisation of weight tensors, framework-free (Float32Arrays in TensorFlow.js's
 * layouts): a dense kernel [in, out] and a convolution kernel [kh, kw, in, out], both row-major.
 *
 * - Dense: W ~ U_r S_r V_r^T, stored as two kernels A = U_r sqrt(S_r) [in, r] and
 *   B = sqrt(S_r) V_r^T [r, out] (the square root splits the scale evenly, which keeps the two
 *   factors' gradients balanced during fine-tuning).
 * - Convolution, spatial SVD: the kernel viewed as a matrix [kh*kw*in, out] is factorised the same
 *   way; A becomes a kh x kw convolution with r filters and B a 1x1 convolution r -> out.
 * - Convolution, Tucker-2 (Kim et al. 2016): a higher-order SVD on the input- and output-channel
 *   modes gives a 1x1 convolution in -> r_in, a kh x kw core r_in -> r_out and a 1x1 convolution
 *   r_out -> out.
 * All three equal the original at full rank.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { InvalidArgumentError } from '../../core/errors.js';

/** Singular values and the two factors of a [rows, cols] row-major matrix. */
export interface TruncatedSvd {
  /** All singular values, descending (for choosing the rank). */
  singularValues: Float64Array;
  /** [rows, rank], row-major: U_r sqrt(S_r). */
  left: Float32Array;
  /** [rank, cols], row-major: sqrt(S_r) V_r^T. */
  right: Float32Array;
  rank: number;
}

function toMatrix(values: Float32Array, rows: number, cols: number): Matrix {
  if (values.length !== rows * cols)
    throw new InvalidArgumentError(`factorise: ${values.length} values do not make a ${rows}x${cols} matrix`);
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, values[i * cols + j]);
  return m;
}

function svd(m: Matrix): SingularValueDecomposition {
  return new SingularValueDecomposition(m, { autoTranspose: true });
}

/** Full SVD of `values` as a [rows, cols] matrix, truncated to `rank`. */
export function truncatedSvd(values: Float32Array, rows: number, cols: number, rank: number): TruncatedSvd {
  const full = Math.min(rows, cols);
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= full))
    throw new InvalidArgumentError(`factorise: rank must be an integer in [1, ${full}], got ${rank}`);
  const d = svd(toMatrix(values, rows, cols));
  const u = d.leftSingularVectors;
  const v = d.rightSingularVectors;
  const s = Float64Array.from(d.diagonal.slice(0, full));
  const left = new Float32Array(rows * rank);
  const right = new Float32Array(rank * cols);
  for (let k = 0; k < rank; k++) {
    const root = Math.sqrt(s[k]);
    for (let i = 0; i < rows; i++) left[i * rank + k] = u.get(i, k) * root;
    for (let j = 0; j < cols; j++) right[k * cols + j] = v.get(j, k) * root;
  }
  return { singularValues: s, left, right, rank };
}

/** Singular values of a [rows, cols] matrix, descending. */
export function singularValues(values: Float32Array, rows: number, cols: number): Float64Array {
  const d = svd(toMatrix(values, rows, cols));
  return Float64Array.from(d.diagonal.slice(0, Math.min(rows, cols)));
}

/** The smallest rank whose singular values keep at least `energy` of the squared sum. */
export function rankForEnergy(values: ArrayLike<number>, energy: number): number {
  if (!(energy > 0 && energy <= 1))
    throw new InvalidArgumentError(`factorise: energy must be in (0, 1], got ${energy}`);
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] * values[i];
  if (total === 0) return 1;
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    kept += values[i] * values[i];
    // The tolerance keeps energy 1 from asking past the last non-zero value through rounding.
    if (kept >= energy * total * (1 - 1e-12)) return i + 1;
  }
  return values.length;
}

/** Kernel of a convolution [kh, kw, in, out] as a matrix [kh*kw*in, out]: the same memory. */
export function spatialSvd(
  kernel: Float32Array,
  shape: readonly [number, number, number, number],
  rank: number,
): TruncatedSvd {
  const [kh, kw, cin, cout] = shape;
  return truncatedSvd(kernel, kh * kw * cin, cout, rank);
}

export interface Tucker2 {
  /** [in, rIn] (a 1x1 kernel [1, 1, in, rIn]). */
  first: Float32Array;
  /** [kh, kw, rIn, rOut]. */
  core: Float32Array;
  /** [rOut, out] (a 1x1 kernel [1, 1, rOut, out]). */
  last: Float32Array;
  ranks: [number, number];
  /** Singular values of the input- and output-channel unfoldings, descending. */
  inputValues: Float64Array;
  outputValues: Float64Array;
}

/** Leading `rank` left singular vectors of a [rows, cols] matrix, as a Matrix [rows, rank]. */
function leadingVectors(m: Matrix, rank: number): { vectors: Matrix; values: Float64Array } {
  const d = svd(m);
  const u = d.leftSingularVectors;
  return {
    vectors: u.subMatrix(0, m.rows - 1, 0, rank - 1),
    values: Float64Array.from(d.diagonal.slice(0, Math.min(m.rows, m.columns))),
  };
}

/** Tucker-2 decomposition of a convolution kernel [kh, kw, in, out] with ranks [rIn, rOut]. */
export function tucker2(
  kernel: Float32Array,
  shape: readonly [number, number, number, number],
  ranks: readonly [number, number],
): Tucker2 {
  const [kh, kw, cin, cout] = shape;
  const [rIn, rOut] = ranks;
  if (kernel.length !== kh * kw * cin * cout)
    throw new InvalidArgumentError(
      `tucker2: ${kernel.length} values do not make a kernel [${shape.join(',')}]`,
    );
  if (!(Number.isInteger(rIn) && rIn >= 1 && rIn <= cin))
    throw new InvalidArgumentError(`tucker2: input rank must be an integer in [1, ${cin}], got ${rIn}`);
  if (!(Number.isInteger(rOut) && rOut >= 1 && rOut <= cout))
    throw new InvalidArgumentError(`tucker2: output rank must be an integer in [1, ${cout}], got ${rOut}`);
  const spatial = kh * kw;
  const at = (p: number, i: number, o: number) => kernel[(p * cin + i) * cout + o];
  // Mode unfoldings: input channels x (position, output), output channels x (position, input).
  const byInput = new Matrix(cin, spatial * cout);
  const byOutput = new Matrix(cout, spatial * cin);
  for (let p = 0; p < spatial; p++)
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < cout; o++) {
        byInput.set(i, p * cout + o, at(p, i, o));
        byOutput.set(o, p * cin + i, at(p, i, o));
      }
  const input = leadingVectors(byInput, rIn);
  const output = leadingVectors(byOutput, rOut);
  const uIn = input.vectors; // [cin, rIn]
  const uOut = output.vectors; // [cout, rOut]
  // core[p, a, b] = sum_i sum_o K[p, i, o] uIn[i, a] uOut[o, b]
  const core = new Float32Array(spatial * rIn * rOut);
  for (let p = 0; p < spatial; p++) {
    const slice = new Matrix(cin, cout);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) slice.set(i, o, at(p, i, o));
    const projected = uIn.transpose().mmul(slice).mmul(uOut); // [rIn, rOut]
    for (let a = 0; a < rIn; a++)
      for (let b = 0; b < rOut; b++) core[(p * rIn + a) * rOut + b] = projected.get(a, b);
  }
  const first = new Float32Array(cin * rIn);
  for (let i = 0; i < cin; i++) for (let a = 0; a < rIn; a++) first[i * rIn + a] = uIn.get(i, a);
  const last = new Float32Array(rOut * cout);
  for (let b = 0; b < rOut; b++) for (let o = 0; o < cout; o++) last[b * cout + o] = uOut.get(o, b);
  return {
    first,
    core,
    last,
    ranks: [rIn, rOut],
    inputValues: input.values,
    outputValues: output.values,
  };
}
