/**
 * Sums over leading axes, generated as wasm: out[j] = scale · Σᵢ x[i·cols + j]. Channels-last
 * networks reduce over batch and space for every bias, batch-norm statistic and their gradients;
 * wasm's own Sum and Mean reduce innermost axes only, so they transpose the whole tensor first.
 * Here each row is added into the output row (which stays in L1), four columns at a time.
 */
import { buildModule, Code, type ValueType } from './module-builder.js';

// rows, cols, x (bytes), out (bytes), scale (f32)
const PARAMS: ValueType[] = ['i32', 'i32', 'i32', 'i32', 'f32'];
const [ROWS, COLS, X, OUT, SCALE] = PARAMS.keys();

function columnSumModule(): Uint8Array {
  const locals: ValueType[] = [];
  const local = (type: ValueType) => {
    locals.push(type);
    return PARAMS.length + locals.length - 1;
  };
  const [row, src, dst, left] = Array.from({ length: 4 }, () => local('i32'));
  const c = new Code();
  const sweep = (vector: () => void, scalar: () => void) => {
    c.get(COLS).set(left);
    c.block().loop();
    c.get(left).i32(4).i32LtS().brIf(1);
    vector();
    c.get(src).i32(16).i32Add().set(src);
    c.get(dst).i32(16).i32Add().set(dst);
    c.get(left).i32(4).i32Sub().set(left);
    c.br(0).end().end();
    c.block().loop();
    c.get(left).i32Eqz().brIf(1);
    scalar();
    c.get(src).i32(4).i32Add().set(src);
    c.get(dst).i32(4).i32Add().set(dst);
    c.get(left).i32(1).i32Sub().set(left);
    c.br(0).end().end();
  };
  // out = first row, then out += each further row, then out *= scale.
  c.get(X).set(src);
  c.get(OUT).set(dst);
  sweep(
    () => c.get(dst).get(src).v128Load().v128Store(),
    () => c.get(dst).get(src).f32Load().f32Store(),
  );
  c.i32(1).set(row);
  c.block().loop();
  c.get(row).get(ROWS).i32GeS().brIf(1);
  c.get(OUT).set(dst);
  sweep(
    () => c.get(dst).get(dst).v128Load().get(src).v128Load().f32x4Add().v128Store(),
    () => c.get(dst).get(dst).f32Load().get(src).f32Load().f32Add().f32Store(),
  );
  c.get(row).i32(1).i32Add().set(row);
  c.br(0).end().end();
  // Scale in place (src walks the output too).
  c.get(OUT).set(src);
  c.get(OUT).set(dst);
  sweep(
    () => c.get(dst).get(src).v128Load().get(SCALE).f32x4Splat().f32x4Mul().v128Store(),
    () => c.get(dst).get(src).f32Load().get(SCALE).f32Mul().f32Store(),
  );
  return buildModule([{ name: 'columnSum', params: PARAMS, locals, body: c }]);
}

type ColumnSumFn = (rows: number, cols: number, x: number, out: number, scale: number) => void;
let compiled: WebAssembly.Module | undefined;
const byMemory = new WeakMap<WebAssembly.Memory, ColumnSumFn>();

/** out[cols] = scale · Σ over rows of x[rows, cols] (byte addresses; rows >= 1). */
export function columnSum(
  memory: WebAssembly.Memory,
  rows: number,
  cols: number,
  x: number,
  out: number,
  scale = 1,
): void {
  let fn = byMemory.get(memory);
  if (fn === undefined) {
    compiled ??= new WebAssembly.Module(columnSumModule());
    fn = new WebAssembly.Instance(compiled, { env: { memory } }).exports.columnSum as ColumnSumFn;
    byMemory.set(memory, fn);
  }
  fn(rows, cols, x, out, scale);
}
