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
import { buildModule, Code, type FunctionDefinition, type ValueType } from './module-builder.js';

const PARAMS: ValueType[] = [
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
];
// n, w, g, m, v, wOut, mOut, vOut (byte addresses), then beta1, 1 - beta1, beta2, 1 - beta2,
// lr / (1 - beta1^t), 1 / (1 - beta2^t), epsilon, and decay comes last.
const [N, W, G, M, V, WO, MO, VO, B1, A1, B2, A2, STEP, INV_C2, EPS] = PARAMS.keys();
const DECAY = PARAMS.length;

function adamFunction(): FunctionDefinition {
  const params: ValueType[] = [...PARAMS, 'f32'];
  const locals: ValueType[] = [];
  const local = (type: ValueType) => {
    locals.push(type);
    return params.length + locals.length - 1;
  };
  // Splatted constants, the running offset, and per-lane temporaries.
  const sB1 = local('v128');
  const sA1 = local('v128');
  const sB2 = local('v128');
  const sA2 = local('v128');
  const sStep = local('v128');
  const sInvC2 = local('v128');
  const sEps = local('v128');
  const sDecay = local('v128');
  const g = local('v128');
  const m = local('v128');
  const v = local('v128');
  const at = local('i32');
  const end4 = local('i32');
  const gs = local('f32');
  const ms = local('f32');
  const vs = local('f32');
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
  // Byte offset of the first element the vector loop does not cover.
  c.get(N).i32(-4).i32And().i32(2).i32Shl().set(end4);
  c.i32(0).set(at);
  c.block().loop();
  c.get(at).get(end4).i32GeS().brIf(1);
  const addr = (base: number) => c.get(base).get(at).i32Add();
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
  c.get(at).i32(16).i32Add().set(at);
  c.br(0).end().end();
  // The last n mod 4 elements, one at a time.
  c.block().loop();
  c.get(at).get(N).i32(2).i32Shl().i32GeS().brIf(1);
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
  c.get(at).i32(4).i32Add().set(at);
  c.br(0).end().end();
  return { name: 'adam', params, locals, body: c };
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

let compiled: WebAssembly.Module | undefined;
const byMemory = new WeakMap<WebAssembly.Memory, AdamFn>();

/** Runs one step on memory (instantiating the kernel once per memory). */
export function adamUpdate(memory: WebAssembly.Memory, buffers: AdamBuffers, step: AdamStep): void {
  let fn = byMemory.get(memory);
  if (fn === undefined) {
    compiled ??= new WebAssembly.Module(buildModule([adamFunction()]));
    fn = new WebAssembly.Instance(compiled, { env: { memory } }).exports.adam as AdamFn;
    byMemory.set(memory, fn);
  }
  const { beta1, beta2 } = step;
  fn(
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
