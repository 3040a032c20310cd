/**
 * One Adam (or AdamW) step for one variable in a single pass over memory, generated as wasm SIMD.
 * tfjs' Adam runs 14 kernels per variable (each a pass over the tensor and an allocation); this
 * reads w, g, m and v once and writes w', m' and v' once:
 *
 *   m' = β1·m + (1 − β1)·g
 *   v' = β2·v + (1 − β2)·g²
 *   w' = decay·w − (lr / (1 − β1ᵗ))·m' / (sqrt(v' / (1 − β2ᵗ)) + ε)
 *
 * which is tfjs' formula (ε added after the square root of the bias-corrected v), with `decay`
 * = 1 − lr·weightDecay for AdamW's decoupled decay and 1 for Adam.
 */
import { Code, type FunctionDefinition, Locals, perMemory, type ValueType } from './module-builder.js';

// n, w, g, m, v, wOut, mOut, vOut (byte addresses), then beta1, 1 - beta1, beta2, 1 - beta2,
// lr / (1 - beta1^t), 1 / (1 - beta2^t), epsilon and decay.
const PARAMS: ValueType[] = [...new Array<ValueType>(8).fill('i32'), ...new Array<ValueType>(8).fill('f32')];
const [N, W, G, M, V, WO, MO, VO, B1, A1, B2, A2, STEP, INV_C2, EPS, DECAY] = PARAMS.keys();

function adamFunction(): FunctionDefinition {
  const L = new Locals(PARAMS.length);
  // Splatted constants, per-lane temporaries, the running byte offset and the count left.
  const [sB1, sA1, sB2, sA2, sStep, sInvC2, sEps, sDecay, g, m, v] = L.many(11, 'v128');
  const [at, left] = L.many(2, 'i32');
  const [gs, ms, vs] = L.many(3, 'f32');
  const c = new Code();
  for (const [from, to] of [
    [B1, sB1],
    [A1, sA1],
    [B2, sB2],
    [A2, sA2],
    [STEP, sStep],
    [INV_C2, sInvC2],
    [EPS, sEps],
    [DECAY, sDecay],
  ])
    c.get(from).f32x4Splat().set(to);
  const addr = (base: number) => c.get(base).get(at).i32Add();
  c.i32(0).set(at);
  c.get(N).set(left);
  c.runOf4(
    left,
    [at],
    () => {
      addr(G).v128Load().set(g);
      // m' and v'
      addr(M).v128Load().get(sB1).f32x4Mul().get(g).get(sA1).f32x4Mul().f32x4Add().set(m);
      addr(V).v128Load().get(sB2).f32x4Mul().get(g).get(g).f32x4Mul().get(sA2).f32x4Mul().f32x4Add().set(v);
      addr(MO).get(m).v128Store();
      addr(VO).get(v).v128Store();
      // w' = decay·w − step·m' / (sqrt(v'·invC2) + ε)
      addr(WO);
      addr(W).v128Load().get(sDecay).f32x4Mul();
      c.get(m).get(sStep).f32x4Mul();
      c.get(v).get(sInvC2).f32x4Mul().f32x4Sqrt().get(sEps).f32x4Add();
      c.f32x4Div().f32x4Sub().v128Store();
    },
    () => {
      addr(G).f32Load().set(gs);
      addr(M).f32Load().get(B1).f32Mul().get(gs).get(A1).f32Mul().f32Add().set(ms);
      addr(V).f32Load().get(B2).f32Mul().get(gs).get(gs).f32Mul().get(A2).f32Mul().f32Add().set(vs);
      addr(MO).get(ms).f32Store();
      addr(VO).get(vs).f32Store();
      addr(WO);
      addr(W).f32Load().get(DECAY).f32Mul();
      c.get(ms).get(STEP).f32Mul();
      c.get(vs).get(INV_C2).f32Mul().f32Sqrt().get(EPS).f32Add();
      c.f32Div().f32Sub().f32Store();
    },
  );
  return { name: 'adam', params: PARAMS, locals: L.types, body: c };
}

export interface AdamStep {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  /** 1-based step count, for the bias corrections. */
  step: number;
  /** Multiplies w before the step (AdamW's 1 − lr·weightDecay); 1 for Adam. */
  decay: number;
}

/** Byte addresses of the inputs (w, g, m, v) and outputs (w', m', v'), each of n float32 values. */
export interface AdamBuffers {
  n: number;
  w: number;
  g: number;
  m: number;
  v: number;
  wOut: number;
  mOut: number;
  vOut: number;
}

type AdamFn = (...args: number[]) => void;

const adamOn = perMemory(
  () => [adamFunction()],
  (exports) => exports.adam as AdamFn,
);

/** Runs one step on memory (instantiating the kernel once per memory). */
export function adamUpdate(memory: WebAssembly.Memory, buffers: AdamBuffers, step: AdamStep): void {
  const { beta1, beta2 } = step;
  adamOn(memory)(
    buffers.n,
    buffers.w,
    buffers.g,
    buffers.m,
    buffers.v,
    buffers.wOut,
    buffers.mOut,
    buffers.vOut,
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    step.learningRate / (1 - beta1 ** step.step),
    1 / (1 - beta2 ** step.step),
    step.epsilon,
    step.decay,
  );
}
