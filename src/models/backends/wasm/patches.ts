/**
 * The patch matrix of a 2-D convolution (im2col) and its transpose (col2im), generated as wasm so
 * the copies run as f32x4 moves on tfjs-backend-wasm's heap. For NHWC input x and an fh × fw filter:
 *
 *   cols[n, (i·fw + j)·C + c] = x[b, oh·sh − top + i, ow·sw − left + j, c],  n = (b·OH + oh)·OW + ow
 *
 * For one output position and filter row i, the taps j inside the input are one contiguous run in
 * both x and cols ((jEnd − jStart)·C floats), so the work is a copy (im2col) or an add (col2im,
 * summing where windows overlap) per run. Taps in the padding are skipped; im2col zeroes the rows
 * of windows that overlap the padding, so its destination needs no clearing.
 */
import { Code, type FunctionDefinition, Locals, perMemory } from './module-builder.js';
import { WINDOW_PARAMS, type WindowGeometry, windowArgs } from './window.js';

const PARAMS = [
  ...WINDOW_PARAMS, // the window's dilations must be 1
  'x', // byte address of x [batch, h, w, c]
  'cols', // byte address of cols [batch·oh·ow, fh·fw·c]
] as const;
type Param = (typeof PARAMS)[number];
const p = (name: Param) => PARAMS.indexOf(name);

/** im2col copies x runs into cols; col2im adds cols runs into x. */
function patchFunction(direction: 'im2col' | 'col2im'): FunctionDefinition {
  const L = new Locals(PARAMS.length);
  const [b, y, x, i, ih, w0, jStart, jEnd] = L.many(8, 'i32');
  const rowBytes = L.add('i32'); // bytes per cols row: fh·fw·c·4
  const colRow = L.add('i32'); // byte address of the current cols row
  const [src, dst] = L.many(2, 'i32');
  const left = L.add('i32'); // floats left in the run
  const c = new Code();
  const forRange = (counter: number, end: () => void, body: () => void) =>
    c.forRange(counter, () => c.i32(0), end, body);
  c.get(p('fh')).get(p('fw')).i32Mul().get(p('c')).i32Mul().i32(2).i32Shl().set(rowBytes);
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
              // w0 = x·sw − left; jStart = max(0, −w0); jEnd = min(fw, w − w0)
              c.get(x).get(p('sw')).i32Mul().get(p('left')).i32Sub().set(w0);
              c.i32(0).get(w0).i32Sub().tee(jStart).i32(0).get(jStart).i32(0).i32GtS().select().set(jStart);
              c.get(p('w'))
                .get(w0)
                .i32Sub()
                .tee(jEnd)
                .get(p('fw'))
                .get(jEnd)
                .get(p('fw'))
                .i32LtS()
                .select()
                .set(jEnd);
              if (direction === 'im2col') {
                // A window that overlaps the padding: zero its row first, so the taps skipped below
                // read as zeros and the destination needs no clearing beforehand.
                c.get(jStart).i32(0).i32GtS();
                c.get(jEnd).get(p('fw')).i32LtS().i32Or();
                c.get(y).get(p('sh')).i32Mul().get(p('top')).i32Sub().tee(ih).i32(0).i32LtS().i32Or();
                c.get(ih).get(p('fh')).i32Add().get(p('h')).i32GtS().i32Or();
                c.if();
                c.get(colRow).set(dst);
                c.get(p('fh')).get(p('fw')).i32Mul().get(p('c')).i32Mul().set(left);
                c.runOf4(
                  left,
                  [dst],
                  () => c.get(dst).v128Zero().v128Store(),
                  () => c.get(dst).f32(0).f32Store(),
                );
                c.end();
              }
              c.get(jEnd).get(jStart).i32GtS().if();
              forRange(
                i,
                () => c.get(p('fh')),
                () => {
                  c.get(y).get(p('sh')).i32Mul().get(p('top')).i32Sub().get(i).i32Add().set(ih);
                  // 0 <= ih < h, as one unsigned comparison
                  c.get(ih).get(p('h')).i32LtU().if();
                  // cols address: row + ((i·fw + jStart)·c)·4
                  c.get(colRow)
                    .get(i)
                    .get(p('fw'))
                    .i32Mul()
                    .get(jStart)
                    .i32Add()
                    .get(p('c'))
                    .i32Mul()
                    .i32(2)
                    .i32Shl()
                    .i32Add();
                  c.set(direction === 'im2col' ? dst : src);
                  // x address: x + (((b·h + ih)·w + w0 + jStart)·c)·4
                  c.get(p('x')).get(b).get(p('h')).i32Mul().get(ih).i32Add().get(p('w')).i32Mul();
                  c.get(w0).i32Add().get(jStart).i32Add().get(p('c')).i32Mul().i32(2).i32Shl().i32Add();
                  c.set(direction === 'im2col' ? src : dst);
                  c.get(jEnd).get(jStart).i32Sub().get(p('c')).i32Mul().set(left);
                  const add = direction === 'col2im';
                  c.runOf4(
                    left,
                    [src, dst],
                    () => {
                      c.get(dst);
                      if (add) c.get(dst).v128Load().get(src).v128Load().f32x4Add();
                      else c.get(src).v128Load();
                      c.v128Store();
                    },
                    () => {
                      c.get(dst);
                      if (add) c.get(dst).f32Load().get(src).f32Load().f32Add();
                      else c.get(src).f32Load();
                      c.f32Store();
                    },
                  );
                  c.end();
                },
              );
              c.end();
              c.get(colRow).get(rowBytes).i32Add().set(colRow);
            },
          ),
      ),
  );
  return { name: direction, params: PARAMS.map(() => 'i32'), locals: L.types, body: c };
}

type PatchFn = (...args: number[]) => void;

const functions = perMemory(
  () => [patchFunction('im2col'), patchFunction('col2im')],
  (exports) => ({ im2col: exports.im2col as PatchFn, col2im: exports.col2im as PatchFn }),
);

/** Writes the patch matrix of x (byte address) into cols (byte address), zeros for padding taps. */
export function im2col(memory: WebAssembly.Memory, g: WindowGeometry, x: number, cols: number): void {
  functions(memory).im2col(...windowArgs(g), x, cols);
}

/** Adds each patch row of cols back onto x (both byte addresses). */
export function col2im(memory: WebAssembly.Memory, g: WindowGeometry, cols: number, x: number): void {
  functions(memory).col2im(...windowArgs(g), x, cols);
}
