/**
 * Sums over leading axes, generated as wasm: out[j] = scale · Σᵢ x[i·cols + j]. Channels-last
 * networks reduce over batch and space for every bias, batch-norm statistic and their gradients;
 * wasm's own Sum and Mean reduce innermost axes only, so they transpose the whole tensor first.
 * Here each row is added into the output row (which stays in L1), four columns at a time.
 */
import { Code, type FunctionDefinition, Locals, perMemory, type ValueType } from './module-builder.js';

// rows, cols, x (bytes), out (bytes), scale (f32)
const PARAMS: ValueType[] = ['i32', 'i32', 'i32', 'i32', 'f32'];
const [ROWS, COLS, X, OUT, SCALE] = PARAMS.keys();

function columnSumFunction(): FunctionDefinition {
  const L = new Locals(PARAMS.length);
  const [src, dst, left] = L.many(3, 'i32');
  const row = L.add('i32');
  const c = new Code();
  const sweep = (vector: () => void, scalar: () => void) => {
    c.get(COLS).set(left);
    c.runOf4(left, [src, dst], vector, scalar);
  };
  // out = first row, then out += each further row, then out *= scale.
  c.get(X).set(src);
  c.get(OUT).set(dst);
  sweep(
    () => c.get(dst).get(src).v128Load().v128Store(),
    () => c.get(dst).get(src).f32Load().f32Store(),
  );
  c.forRange(
    row,
    () => c.i32(1),
    () => c.get(ROWS),
    () => {
      c.get(OUT).set(dst);
      sweep(
        () => c.get(dst).get(dst).v128Load().get(src).v128Load().f32x4Add().v128Store(),
        () => c.get(dst).get(dst).f32Load().get(src).f32Load().f32Add().f32Store(),
      );
    },
  );
  // Scale in place (src walks the output too).
  c.get(OUT).set(src);
  c.get(OUT).set(dst);
  sweep(
    () => c.get(dst).get(src).v128Load().get(SCALE).f32x4Splat().f32x4Mul().v128Store(),
    () => c.get(dst).get(src).f32Load().get(SCALE).f32Mul().f32Store(),
  );
  return { name: 'columnSum', params: PARAMS, locals: L.types, body: c };
}

type ColumnSumFn = (rows: number, cols: number, x: number, out: number, scale: number) => void;
const columnSumOn = perMemory(
  () => [columnSumFunction()],
  (exports) => exports.columnSum as ColumnSumFn,
);

/** out[cols] = scale · Σ over rows of x[rows, cols] (byte addresses; rows >= 1). */
export function columnSum(
  memory: WebAssembly.Memory,
  rows: number,
  cols: number,
  x: number,
  out: number,
  scale = 1,
): void {
  columnSumOn(memory)(rows, cols, x, out, scale);
}
