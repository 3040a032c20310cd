/**
 * MaxPoolGrad generated as wasm: for each pooling window and channel, find the first maximum of x
 * (as tfjs' cpu backend does) and add dy there. Four channels are compared at once (f32x4, the
 * maxima and their addresses kept with bitselect), the last c mod 4 one at a time. The JavaScript
 * version of the same loop took 10.6 ms per LeNet-5 step (two calls).
 */
import { Code, type FunctionDefinition, Locals, perMemory } from './module-builder.js';
import { WINDOW_PARAMS, type WindowGeometry, windowArgs } from './window.js';

const PARAMS = [
  ...WINDOW_PARAMS, // dilations are ignored (pooling has none)
  'x', // byte address of the pooled input [batch, h, w, c]
  'dy', // byte address of [batch, oh, ow, c]
  'dx', // byte address of the zeroed result [batch, h, w, c]
] as const;
type Param = (typeof PARAMS)[number];
const p = (name: Param) => PARAMS.indexOf(name);

function maxPoolGradFunction(): FunctionDefinition {
  const L = new Locals(PARAMS.length);
  const [b, y, x, ch, ih, iw, h0, w0, hStart, hEnd, wStart, wEnd] = L.many(12, 'i32');
  const [where, at, dyAt, take, c4, pixel] = L.many(6, 'i32');
  const [best, v] = L.many(2, 'f32');
  const [bestV, whereV, vV, mask, dyV] = L.many(5, 'v128');
  const c = new Code();
  const zero = () => c.i32(0);
  const param = (name: Param) => () => c.get(p(name));
  const max0 = (value: number, into: number) =>
    c.get(value).i32(0).get(value).i32(0).i32GtS().select().set(into);
  // into = min(value + extent, limit)
  const minEnd = (value: number, extent: Param, limit: Param, into: number) => {
    c.get(value).get(p(extent)).i32Add().tee(into);
    c.get(p(limit)).get(into).get(p(limit)).i32LtS().select().set(into);
  };
  /** Visits the window's taps with `at` = byte offset of channel ch at (ih, iw). */
  const forEachTap = (body: () => void) =>
    c.forRange(
      ih,
      () => c.get(hStart),
      () => c.get(hEnd),
      () =>
        c.forRange(
          iw,
          () => c.get(wStart),
          () => c.get(wEnd),
          () => {
            c.get(b).get(p('h')).i32Mul().get(ih).i32Add().get(p('w')).i32Mul().get(iw).i32Add();
            c.get(p('c')).i32Mul().i32(2).i32Shl().set(pixel);
            c.get(pixel).get(ch).i32(2).i32Shl().i32Add().set(at);
            body();
          },
        ),
    );
  /** dx[where] += value on the stack (f32), when a maximum was found. */
  const route = (value: () => void) => {
    c.get(where).i32(0).i32GeS().if();
    c.get(p('dx')).get(where).i32Add().tee(at);
    c.get(at).f32Load();
    value();
    c.f32Add().f32Store();
    c.end();
  };
  // Comparisons are data-dependent, so maxima are kept with selects, not branches.
  const vectorChannels = () => {
    c.f32(Number.NEGATIVE_INFINITY).f32x4Splat().set(bestV);
    c.i32(-1).i32x4Splat().set(whereV);
    forEachTap(() => {
      c.get(p('x')).get(at).i32Add().v128Load().set(vV);
      c.get(vV).get(bestV).f32x4Gt().get(whereV).v128Zero().i32x4LtS().v128Or().set(mask);
      c.get(vV).get(bestV).get(mask).v128Bitselect().set(bestV);
      c.get(at).i32x4Splat().v128ConstI32([0, 4, 8, 12]).i32x4Add();
      c.get(whereV).get(mask).v128Bitselect().set(whereV);
    });
    c.get(p('dy')).get(dyAt).i32Add().v128Load().set(dyV);
    for (let lane = 0; lane < 4; lane++) {
      c.get(whereV).i32x4ExtractLane(lane).set(where);
      route(() => c.get(dyV).f32x4ExtractLane(lane));
    }
    c.get(dyAt).i32(16).i32Add().set(dyAt);
  };
  const scalarChannel = () => {
    c.f32(Number.NEGATIVE_INFINITY).set(best);
    c.i32(-1).set(where);
    forEachTap(() => {
      c.get(p('x')).get(at).i32Add().f32Load().set(v);
      c.get(v).get(best).f32Gt().get(where).i32(0).i32LtS().i32Or().set(take);
      c.get(v).get(best).get(take).select().set(best);
      c.get(at).get(where).get(take).select().set(where);
    });
    route(() => c.get(p('dy')).get(dyAt).i32Add().f32Load());
    c.get(dyAt).i32(4).i32Add().set(dyAt);
  };
  const window = () => {
    c.i32(0).set(ch);
    c.block().loop();
    c.get(ch).get(c4).i32GeS().brIf(1);
    vectorChannels();
    c.get(ch).i32(4).i32Add().set(ch);
    c.br(0).end().end();
    c.block().loop();
    c.get(ch).get(p('c')).i32GeS().brIf(1);
    scalarChannel();
    c.get(ch).i32(1).i32Add().set(ch);
    c.br(0).end().end();
  };
  c.get(p('c')).i32(-4).i32And().set(c4);
  c.i32(0).set(dyAt);
  c.forRange(b, zero, param('batch'), () =>
    c.forRange(y, zero, param('oh'), () => {
      c.get(y).get(p('sh')).i32Mul().get(p('top')).i32Sub().set(h0);
      max0(h0, hStart);
      minEnd(h0, 'fh', 'h', hEnd);
      c.forRange(x, zero, param('ow'), () => {
        c.get(x).get(p('sw')).i32Mul().get(p('left')).i32Sub().set(w0);
        max0(w0, wStart);
        minEnd(w0, 'fw', 'w', wEnd);
        window();
      });
    }),
  );
  return { name: 'maxPoolGrad', params: PARAMS.map(() => 'i32'), locals: L.types, body: c };
}

const TILED_PARAMS = [
  ...WINDOW_PARAMS, // strides equal to the window, no padding
  'x', // byte address of the pooled input [batch, h, w, c]
  'y', // byte address of the pooling's output [batch, oh, ow, c]: each window's maximum
  'dy', // byte address of [batch, oh, ow, c]
  'dx', // byte address of the result [batch, h, w, c]
] as const;

/**
 * Windows that tile the input (strides equal to the window, no padding) never overlap, so each tap
 * is written once, without zeroing or adding: dx = dy at the first tap equal to the window's
 * maximum (the forward output y, which max pooling computes exactly), 0 elsewhere.
 */
function tiledMaxPoolGradFunction(): FunctionDefinition {
  const q = (name: (typeof TILED_PARAMS)[number]) => TILED_PARAMS.indexOf(name);
  const L = new Locals(TILED_PARAMS.length);
  const [b, y, x, ch, i, j, c4, window, out, at, free, take] = L.many(12, 'i32');
  const [dyS] = L.many(1, 'f32');
  const [maxV, dyV, freeV, eqV] = L.many(4, 'v128');
  const c = new Code();
  const zero = () => c.i32(0);
  const param = (name: (typeof TILED_PARAMS)[number]) => () => c.get(q(name));
  /** Visits the window's taps with `at` = byte offset of channel ch. */
  const forEachTap = (body: () => void) =>
    c.forRange(i, zero, param('fh'), () =>
      c.forRange(j, zero, param('fw'), () => {
        c.get(i).get(q('w')).i32Mul().get(j).i32Add().get(q('c')).i32Mul().get(ch).i32Add();
        c.i32(2).i32Shl().get(window).i32Add().set(at);
        body();
      }),
    );
  c.get(q('c')).i32(-4).i32And().set(c4);
  c.i32(0).set(out); // byte offset of (b, y, x, 0) in y and dy
  c.forRange(b, zero, param('batch'), () =>
    c.forRange(y, zero, param('oh'), () =>
      c.forRange(x, zero, param('ow'), () => {
        // window = byte offset of the window's first tap: ((b·h + y·fh)·w + x·fw)·c·4
        c.get(b).get(q('h')).i32Mul().get(y).get(q('fh')).i32Mul().i32Add().get(q('w')).i32Mul();
        c.get(x).get(q('fw')).i32Mul().i32Add().get(q('c')).i32Mul().i32(2).i32Shl().set(window);
        c.i32(0).set(ch);
        c.block().loop();
        c.get(ch).get(c4).i32GeS().brIf(1);
        c.get(q('y')).get(out).i32Add().get(ch).i32(2).i32Shl().i32Add().v128Load().set(maxV);
        c.get(q('dy')).get(out).i32Add().get(ch).i32(2).i32Shl().i32Add().v128Load().set(dyV);
        c.v128ConstI32([-1, -1, -1, -1]).set(freeV);
        forEachTap(() => {
          c.get(q('x')).get(at).i32Add().v128Load().get(maxV).f32x4Eq().get(freeV).v128And().set(eqV);
          c.get(q('dx')).get(at).i32Add().get(dyV).get(eqV).v128And().v128Store();
          c.get(freeV).get(eqV).v128AndNot().set(freeV);
        });
        c.get(ch).i32(4).i32Add().set(ch);
        c.br(0).end().end();
        c.block().loop();
        c.get(ch).get(q('c')).i32GeS().brIf(1);
        c.get(q('dy')).get(out).i32Add().get(ch).i32(2).i32Shl().i32Add().f32Load().set(dyS);
        c.i32(1).set(free);
        forEachTap(() => {
          c.get(q('dx')).get(at).i32Add();
          c.get(dyS).f32(0);
          c.get(q('x')).get(at).i32Add().f32Load();
          c.get(q('y')).get(out).i32Add().get(ch).i32(2).i32Shl().i32Add().f32Load();
          c.f32Eq().get(free).i32And().tee(take).select().f32Store();
          c.get(free).get(take).i32Eqz().i32And().set(free);
        });
        c.get(ch).i32(1).i32Add().set(ch);
        c.br(0).end().end();
        c.get(out).get(q('c')).i32(2).i32Shl().i32Add().set(out);
      }),
    ),
  );
  return { name: 'tiledMaxPoolGrad', params: TILED_PARAMS.map(() => 'i32'), locals: L.types, body: c };
}

/**
 * The same for 2x2 windows (the common case), unrolled: the four taps' offsets are computed once,
 * and each group of four channels reads and writes through one pointer plus those offsets.
 */
function tiled2x2MaxPoolGradFunction(): FunctionDefinition {
  const q = (name: (typeof TILED_PARAMS)[number]) => TILED_PARAMS.indexOf(name);
  const L = new Locals(TILED_PARAMS.length);
  const [b, y, x, ch, c4, window, out, free, take, cBytes, rowBytes, px, pdx, pyOut, pdyOut] = L.many(
    15,
    'i32',
  );
  const [dyS, maxS] = L.many(2, 'f32');
  const [maxV, dyV, freeV, eqV] = L.many(4, 'v128');
  const c = new Code();
  const zero = () => c.i32(0);
  const param = (name: (typeof TILED_PARAMS)[number]) => () => c.get(q(name));
  /** Pushes the byte offset of tap t (0-3: row-major in the window) from the group's pointers. */
  const tap = (t: number) => {
    if (t === 0) c.i32(0);
    else if (t === 1) c.get(cBytes);
    else if (t === 2) c.get(rowBytes);
    else c.get(rowBytes).get(cBytes).i32Add();
  };
  c.get(q('c')).i32(2).i32Shl().set(cBytes);
  c.get(q('w')).get(cBytes).i32Mul().set(rowBytes);
  c.get(q('c')).i32(-4).i32And().set(c4);
  c.i32(0).set(out);
  c.forRange(b, zero, param('batch'), () =>
    c.forRange(y, zero, param('oh'), () =>
      c.forRange(x, zero, param('ow'), () => {
        c.get(b).get(q('h')).i32Mul().get(y).i32(2).i32Mul().i32Add().get(rowBytes).i32Mul();
        c.get(x).i32(2).i32Mul().get(cBytes).i32Mul().i32Add().set(window);
        c.get(q('x')).get(window).i32Add().set(px);
        c.get(q('dx')).get(window).i32Add().set(pdx);
        c.get(q('y')).get(out).i32Add().set(pyOut);
        c.get(q('dy')).get(out).i32Add().set(pdyOut);
        c.i32(0).set(ch);
        c.block().loop();
        c.get(ch).get(c4).i32GeS().brIf(1);
        c.get(pyOut).v128Load().set(maxV);
        c.get(pdyOut).v128Load().set(dyV);
        c.v128ConstI32([-1, -1, -1, -1]).set(freeV);
        for (let t = 0; t < 4; t++) {
          c.get(px);
          tap(t);
          c.i32Add().v128Load().get(maxV).f32x4Eq().get(freeV).v128And().set(eqV);
          c.get(pdx);
          tap(t);
          c.i32Add().get(dyV).get(eqV).v128And().v128Store();
          if (t < 3) c.get(freeV).get(eqV).v128AndNot().set(freeV);
        }
        for (const ptr of [px, pdx, pyOut, pdyOut]) c.get(ptr).i32(16).i32Add().set(ptr);
        c.get(ch).i32(4).i32Add().set(ch);
        c.br(0).end().end();
        c.block().loop();
        c.get(ch).get(q('c')).i32GeS().brIf(1);
        c.get(pyOut).f32Load().set(maxS);
        c.get(pdyOut).f32Load().set(dyS);
        c.i32(1).set(free);
        for (let t = 0; t < 4; t++) {
          c.get(pdx);
          tap(t);
          c.i32Add();
          c.get(dyS).f32(0);
          c.get(px);
          tap(t);
          c.i32Add().f32Load().get(maxS).f32Eq().get(free).i32And().tee(take).select().f32Store();
          c.get(free).get(take).i32Eqz().i32And().set(free);
        }
        for (const ptr of [px, pdx, pyOut, pdyOut]) c.get(ptr).i32(4).i32Add().set(ptr);
        c.get(ch).i32(1).i32Add().set(ch);
        c.br(0).end().end();
        c.get(out).get(cBytes).i32Add().set(out);
      }),
    ),
  );
  return { name: 'tiled2x2MaxPoolGrad', params: TILED_PARAMS.map(() => 'i32'), locals: L.types, body: c };
}

type PoolFn = (...args: number[]) => void;
const functions = perMemory(
  () => [maxPoolGradFunction(), tiledMaxPoolGradFunction(), tiled2x2MaxPoolGradFunction()],
  (exports) => ({
    general: exports.maxPoolGrad as PoolFn,
    tiled: exports.tiledMaxPoolGrad as PoolFn,
    tiled2x2: exports.tiled2x2MaxPoolGrad as PoolFn,
  }),
);

/** Whether the windows tile the input: strides equal to the window, none reaching into padding. */
export function windowsTile(g: WindowGeometry): boolean {
  return (
    g.sh === g.fh && g.sw === g.fw && g.top === 0 && g.left === 0 && g.oh * g.fh <= g.h && g.ow * g.fw <= g.w
  );
}

/**
 * dx (byte address) = dy routed to each window's first maximum, for windows that tile the input;
 * taps in no window (the last rows or columns when the windows do not reach them) are left alone.
 */
export function tiledMaxPoolGrad(
  memory: WebAssembly.Memory,
  g: WindowGeometry,
  addresses: { x: number; y: number; dy: number; dx: number },
): void {
  const fns = functions(memory);
  const run = g.fh === 2 && g.fw === 2 ? fns.tiled2x2 : fns.tiled;
  run(...windowArgs(g), addresses.x, addresses.y, addresses.dy, addresses.dx);
}

/** dx (byte address, zero-filled by the caller) += dy routed to each window's first maximum of x. */
export function maxPoolGrad(
  memory: WebAssembly.Memory,
  g: WindowGeometry,
  x: number,
  dy: number,
  dx: number,
): void {
  functions(memory).general(...windowArgs(g), x, dy, dx);
}
