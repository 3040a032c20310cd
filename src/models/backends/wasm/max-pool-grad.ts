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

type PoolFn = (...args: number[]) => void;
const maxPoolGradOn = perMemory(
  () => [maxPoolGradFunction()],
  (exports) => exports.maxPoolGrad as PoolFn,
);

/** dx (byte address, zero-filled by the caller) += dy routed to each window's first maximum of x. */
export function maxPoolGrad(
  memory: WebAssembly.Memory,
  g: WindowGeometry,
  x: number,
  dy: number,
  dx: number,
): void {
  maxPoolGradOn(memory)(...windowArgs(g), x, dy, dx);
}
