/**
 * The patch matrix of a 2-D convolution (im2col) and its transpose (col2im), generated as wasm so
 * the copies run as f32x4 moves on tfjs-backend-wasm's heap. For NHWC input x and a kh × kw filter:
 *
 *   cols[n, (i·kw + j)·ci + c] = x[b, oh·sh − top + i, ow·sw − left + j, c],  n = (b·OH + oh)·OW + ow
 *
 * For one output position and filter row i, the taps j inside the input are one contiguous run in
 * both x and cols ((jEnd − jStart)·ci floats), so the work is a copy (im2col) or an add (col2im,
 * summing where windows overlap) per run. Taps in the padding are skipped; im2col zeroes the rows
 * of windows that overlap the padding, so its destination needs no clearing.
 */
import { buildModule, Code, type FunctionDefinition, type ValueType } from './module-builder.js';

const PARAMS = [
  'batch',
  'h',
  'w',
  'ci',
  'kh',
  'kw',
  'oh',
  'ow',
  'sh',
  'sw',
  'top',
  'left',
  'x', // byte address of x [batch, h, w, ci]
  'cols', // byte address of cols [batch·oh·ow, kh·kw·ci]
] as const;
type Param = (typeof PARAMS)[number];
const p = (name: Param) => PARAMS.indexOf(name);

/** im2col copies x runs into cols; col2im adds cols runs into x. */
function patchFunction(direction: 'im2col' | 'col2im'): FunctionDefinition {
  const locals: ValueType[] = [];
  const local = (type: ValueType) => {
    locals.push(type);
    return PARAMS.length + locals.length - 1;
  };
  const b = local('i32');
  const y = local('i32');
  const x = local('i32');
  const i = local('i32');
  const ih = local('i32');
  const w0 = local('i32');
  const jStart = local('i32');
  const jEnd = local('i32');
  const rowBytes = local('i32'); // bytes per cols row: kh·kw·ci·4
  const colRow = local('i32'); // byte address of the current cols row
  const src = local('i32');
  const dst = local('i32');
  const left = local('i32'); // floats left in the run
  const c = new Code();
  const forRange = (counter: number, end: () => void, body: () => void) => {
    c.i32(0).set(counter);
    c.block().loop();
    c.get(counter);
    end();
    c.i32GeS().brIf(1);
    body();
    c.get(counter).i32(1).i32Add().set(counter);
    c.br(0).end().end();
  };
  c.get(p('kh')).get(p('kw')).i32Mul().get(p('ci')).i32Mul().i32(2).i32Shl().set(rowBytes);
  c.get(p('cols')).set(colRow);
  forRange(
    b,
    () => c.get(p('batch')),
    () =>
      forRange(
        y,
        () => c.get(p('oh')),
        () =>
          forRange(
            x,
            () => c.get(p('ow')),
            () => {
              // w0 = x·sw − left; jStart = max(0, −w0); jEnd = min(kw, w − w0)
              c.get(x).get(p('sw')).i32Mul().get(p('left')).i32Sub().set(w0);
              c.i32(0).get(w0).i32Sub().tee(jStart).i32(0).get(jStart).i32(0).i32GtS().select().set(jStart);
              c.get(p('w'))
                .get(w0)
                .i32Sub()
                .tee(jEnd)
                .get(p('kw'))
                .get(jEnd)
                .get(p('kw'))
                .i32LtS()
                .select()
                .set(jEnd);
              if (direction === 'im2col') {
                // A window that overlaps the padding: zero its row first, so the taps skipped below
                // read as zeros and the destination needs no clearing beforehand.
                c.get(jStart).i32(0).i32GtS();
                c.get(jEnd).get(p('kw')).i32LtS().i32Or();
                c.get(y).get(p('sh')).i32Mul().get(p('top')).i32Sub().tee(ih).i32(0).i32LtS().i32Or();
                c.get(ih).get(p('kh')).i32Add().get(p('h')).i32GtS().i32Or();
                c.if();
                c.get(colRow).set(dst);
                c.get(p('kh')).get(p('kw')).i32Mul().get(p('ci')).i32Mul().set(left);
                c.block().loop();
                c.get(left).i32(4).i32LtS().brIf(1);
                c.get(dst).v128Zero().v128Store();
                c.get(dst).i32(16).i32Add().set(dst);
                c.get(left).i32(4).i32Sub().set(left);
                c.br(0).end().end();
                c.block().loop();
                c.get(left).i32Eqz().brIf(1);
                c.get(dst).f32(0).f32Store();
                c.get(dst).i32(4).i32Add().set(dst);
                c.get(left).i32(1).i32Sub().set(left);
                c.br(0).end().end();
                c.end();
              }
              c.get(jEnd).get(jStart).i32GtS().if();
              forRange(
                i,
                () => c.get(p('kh')),
                () => {
                  c.get(y).get(p('sh')).i32Mul().get(p('top')).i32Sub().get(i).i32Add().set(ih);
                  // 0 <= ih < h, as one unsigned comparison
                  c.get(ih).get(p('h')).i32LtU().if();
                  // cols address: row + ((i·kw + jStart)·ci)·4
                  c.get(colRow)
                    .get(i)
                    .get(p('kw'))
                    .i32Mul()
                    .get(jStart)
                    .i32Add()
                    .get(p('ci'))
                    .i32Mul()
                    .i32(2)
                    .i32Shl()
                    .i32Add();
                  c.set(direction === 'im2col' ? dst : src);
                  // x address: x + (((b·h + ih)·w + w0 + jStart)·ci)·4
                  c.get(p('x')).get(b).get(p('h')).i32Mul().get(ih).i32Add().get(p('w')).i32Mul();
                  c.get(w0).i32Add().get(jStart).i32Add().get(p('ci')).i32Mul().i32(2).i32Shl().i32Add();
                  c.set(direction === 'im2col' ? src : dst);
                  c.get(jEnd).get(jStart).i32Sub().get(p('ci')).i32Mul().set(left);
                  // Four floats at a time, then one at a time.
                  c.block().loop();
                  c.get(left).i32(4).i32LtS().brIf(1);
                  c.get(dst);
                  if (direction === 'col2im') c.get(dst).v128Load().get(src).v128Load().f32x4Add();
                  else c.get(src).v128Load();
                  c.v128Store();
                  c.get(src).i32(16).i32Add().set(src);
                  c.get(dst).i32(16).i32Add().set(dst);
                  c.get(left).i32(4).i32Sub().set(left);
                  c.br(0).end().end();
                  c.block().loop();
                  c.get(left).i32Eqz().brIf(1);
                  c.get(dst);
                  if (direction === 'col2im') c.get(dst).f32Load().get(src).f32Load().f32Add();
                  else c.get(src).f32Load();
                  c.f32Store();
                  c.get(src).i32(4).i32Add().set(src);
                  c.get(dst).i32(4).i32Add().set(dst);
                  c.get(left).i32(1).i32Sub().set(left);
                  c.br(0).end().end();
                  c.end();
                },
              );
              c.end();
              c.get(colRow).get(rowBytes).i32Add().set(colRow);
            },
          ),
      ),
  );
  return { name: direction, params: PARAMS.map(() => 'i32'), locals, body: c };
}

export interface PatchGeometry {
  batch: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

type PatchFn = (...args: number[]) => void;

let compiled: WebAssembly.Module | undefined;
const byMemory = new WeakMap<WebAssembly.Memory, { im2col: PatchFn; col2im: PatchFn }>();

function functions(memory: WebAssembly.Memory) {
  let fns = byMemory.get(memory);
  if (fns === undefined) {
    compiled ??= new WebAssembly.Module(buildModule([patchFunction('im2col'), patchFunction('col2im')]));
    const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports;
    fns = { im2col: exports.im2col as PatchFn, col2im: exports.col2im as PatchFn };
    byMemory.set(memory, fns);
  }
  return fns;
}

const args = (g: PatchGeometry, x: number, cols: number) => [
  g.batch,
  g.h,
  g.w,
  g.ci,
  g.kh,
  g.kw,
  g.oh,
  g.ow,
  g.sh,
  g.sw,
  g.top,
  g.left,
  x,
  cols,
];

/** Writes the patch matrix of x (byte address) into cols (byte address), zeros for padding taps. */
export function im2col(memory: WebAssembly.Memory, g: PatchGeometry, x: number, cols: number): void {
  functions(memory).im2col(...args(g, x, cols));
}

/** Adds each patch row of cols back onto x (both byte addresses). */
export function col2im(memory: WebAssembly.Memory, g: PatchGeometry, cols: number, x: number): void {
  functions(memory).col2im(...args(g, x, cols));
}
