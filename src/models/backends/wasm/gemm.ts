/**
 * A matrix product for the wasm backend that reads the weights where they are.
 *
 * XNNPACK (behind tfjs-backend-wasm's BatchMatMul) packs the right-hand matrix into its own layout
 * and caches the packing per weight tensor, which pays off at inference. In training the weights
 * change on every step, so every forward product packs afresh: on LeNet-300-100's first layer
 * ([128,784]·[784,300]) that product costs 1.8 ms, and the weight gradient (xᵀ·dy, with the
 * explicit transpose wasm needs) 1.65 ms. This kernel needs no packing: a register tile of 4 rows
 * × 8 columns keeps 8 f32x4 accumulators, and each step of k loads 8 consecutive values of a row of
 * B (contiguous in row-major B) and broadcasts one value of A per row. A's element (i, k) is
 * addressed through two strides, so Aᵀ·B reads A in place (no transpose). On this machine the same
 * two products take 0.9 and 1.0 ms (about 60-67 GFLOP/s against XNNPACK's 33-43).
 *
 * K is cut into blocks so what a tile reads stays in L1 across the rows of A, and within a K block
 * the rows of A into blocks of M_BLOCK, so the block of A that every column tile reads again stays
 * in L2 (a tall A, as a convolution's patch matrix, was otherwise streamed from memory once per
 * column tile). Blocks after the first accumulate onto C. Bias (added once) and ReLU (applied after
 * the last block) are fused. With relaxed SIMD each step of k is one fused multiply-add per vector
 * (relaxed-simd.ts). Edges: rows beyond a multiple of 4 use a 1 × 8 tile, columns beyond a multiple
 * of 8 a 4-wide tile, and the 1-3 last columns a 4-wide tile whose loads and stores touch only
 * those columns (load32/64_zero, lane stores), where a scalar loop used to run.
 */
import { Code, type FunctionDefinition, Locals, perMemory } from './module-builder.js';
import { useRelaxedSimd } from './relaxed-simd.js';

/** Tile parameters, in order (all i32; addresses and strides in bytes). */
const PARAMS = [
  'i0', // first row of C to compute
  'i1', // end row (exclusive)
  'j0', // first column
  'j1', // end column (exclusive)
  'K', // depth of this block
  'a', // address of A(i0 = 0, k = 0) for this block
  'sai', // bytes between A(i, k) and A(i + 1, k)
  'sak', // bytes between A(i, k) and A(i, k + 1)
  'b', // address of B(0, 0) for this block
  'ldb', // bytes between rows of B
  'c', // address of C(0, 0)
  'ldc', // bytes between rows of C
  'init', // 0: start from zero, 1: from the bias row, 2: from C (accumulate)
  'bias', // address of the bias row (read when init = 1)
  'relu', // 1: clamp at zero when storing
] as const;
type Param = (typeof PARAMS)[number];

const INIT_BIAS = 1;
const INIT_ACCUMULATE = 2;

const p = (name: Param): number => PARAMS.indexOf(name);

/**
 * An R-row × V-vector (4V columns) tile function over [i0, i1) × [j0, j1), stepping whole tiles.
 * With `tail` (1-3) it is one partial vector instead: the `tail` columns that end a row, loaded and
 * stored lane by lane so nothing outside C or B is touched.
 */
function vectorTile(rows: number, vectors: number, fused: boolean, tail = 0): FunctionDefinition {
  const L = new Locals(PARAMS.length);
  const acc = Array.from({ length: rows }, () => Array.from({ length: vectors }, () => L.add('v128')));
  const bv = Array.from({ length: vectors }, () => L.add('v128'));
  const splat = L.add('v128');
  const pa = Array.from({ length: rows }, () => L.add('i32'));
  const pb = L.add('i32');
  const kk = L.add('i32');
  const i = L.add('i32');
  const j = L.add('i32');
  const pc = L.add('i32');
  const width = tail > 0 ? tail : 4 * vectors;
  const c = new Code();
  /** Pushes the vector at `address() + offset`: all four lanes, or the tail's. */
  const load = (address: () => void, offset: number) => {
    address();
    if (tail === 0) return c.v128Load(offset);
    if (tail === 1) return c.v128Load32Zero(offset);
    c.v128Load64Zero(offset);
    if (tail === 3) {
      const loaded = splat; // free outside the k loop
      c.set(loaded);
      address();
      c.get(loaded).v128Load32Lane(2, offset + 8);
    }
    return c;
  };
  /** Stores local `value` at `pc + offset`: all four lanes, or the tail's. */
  const store = (value: number, offset: number) => {
    c.get(pc).get(value);
    if (tail === 0) return c.v128Store(offset);
    if (tail === 1) return c.v128Store32Lane(0, offset);
    c.v128Store64Lane(0, offset);
    if (tail === 3)
      c.get(pc)
        .get(value)
        .v128Store32Lane(2, offset + 8);
    return c;
  };
  // pc = c + i * ldc + 4 j, for the tile's first row
  const rowAddress = () =>
    c.get(p('c')).get(i).get(p('ldc')).i32Mul().i32Add().get(j).i32(2).i32Shl().i32Add().set(pc);

  c.get(p('j0')).set(j);
  c.block().loop(); // over column tiles
  c.get(j).i32(width).i32Add().get(p('j1')).i32GtS().brIf(1);
  c.get(p('i0')).set(i);
  c.block().loop(); // over row tiles
  c.get(i).i32(rows).i32Add().get(p('i1')).i32GtS().brIf(1);
  rowAddress();
  // Initial accumulators.
  c.get(p('init')).i32(INIT_ACCUMULATE).i32GeS().if();
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vectors; v++) load(() => c.get(pc), 16 * v).set(acc[r][v]);
    c.get(pc).get(p('ldc')).i32Add().set(pc);
  }
  c.else();
  c.get(p('init')).i32(INIT_BIAS).i32GeS().if();
  for (let v = 0; v < vectors; v++)
    load(() => c.get(p('bias')).get(j).i32(2).i32Shl().i32Add(), 16 * v).set(bv[v]);
  c.else();
  for (let v = 0; v < vectors; v++) c.v128Zero().set(bv[v]);
  c.end();
  for (let r = 0; r < rows; r++) for (let v = 0; v < vectors; v++) c.get(bv[v]).set(acc[r][v]);
  c.end();
  // Row pointers into A and the column pointer into B.
  c.get(p('a')).get(i).get(p('sai')).i32Mul().i32Add().set(pa[0]);
  for (let r = 1; r < rows; r++)
    c.get(pa[r - 1])
      .get(p('sai'))
      .i32Add()
      .set(pa[r]);
  c.get(p('b')).get(j).i32(2).i32Shl().i32Add().set(pb);
  c.get(p('K')).set(kk);
  c.block().loop(); // over k
  c.get(kk).i32Eqz().brIf(1);
  for (let v = 0; v < vectors; v++) load(() => c.get(pb), 16 * v).set(bv[v]);
  for (let r = 0; r < rows; r++) {
    c.get(pa[r]).v128Load32Splat().set(splat);
    for (let v = 0; v < vectors; v++)
      c.f32x4MulAdd(
        fused,
        () => c.get(splat),
        () => c.get(bv[v]),
        () => c.get(acc[r][v]),
      ).set(acc[r][v]);
    c.get(pa[r]).get(p('sak')).i32Add().set(pa[r]);
  }
  c.get(pb).get(p('ldb')).i32Add().set(pb);
  c.get(kk).i32(1).i32Sub().set(kk);
  c.br(0).end().end();
  // Store, clamping at zero when asked.
  rowAddress();
  c.get(p('relu')).if();
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < vectors; v++) c.get(acc[r][v]).v128Zero().f32x4Max().set(acc[r][v]);
  c.end();
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vectors; v++) store(acc[r][v], 16 * v);
    c.get(pc).get(p('ldc')).i32Add().set(pc);
  }
  c.get(i).i32(rows).i32Add().set(i);
  c.br(0).end().end();
  c.get(j).i32(width).i32Add().set(j);
  c.br(0).end().end();
  const name = tail > 0 ? `tile${rows}x${tail}tail` : `tile${rows}x${4 * vectors}`;
  return { name, params: PARAMS.map(() => 'i32'), locals: L.types, body: c };
}

type TileFn = (...args: number[]) => void;

/**
 * Depth of a K block, so that what one tile touches per block stays in L1: a 64-byte line of B per
 * k, plus A's rows (contiguous in k) or, for Aᵀ, another line of A per k. For Aᵀ the depth was
 * chosen over the filter gradients (colsᵀ·dy) of LeNet-5, ResNet and MobileNetV2 with rows in
 * blocks of M_BLOCK: 192 is within a few percent of the best on each (512 and unblocked were far
 * behind).
 */
export const K_BLOCK = { plain: 256, transposedA: 192 } as const;

/** Rows of A per block (see `run`). */
export const M_BLOCK = 128;

export interface GemmArgs {
  /** Rows of C (and of A, or of Aᵀ when `transposeA`). */
  m: number;
  /** Columns of C and of B. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** Byte address of A: row-major [m, k], or [k, m] when `transposeA`. */
  a: number;
  transposeA: boolean;
  /** Byte address of B, row-major [k, n]. */
  b: number;
  /** Byte address of C, row-major [m, n]; overwritten. */
  c: number;
  /** Byte address of a bias row of n floats added to every row, or undefined. */
  bias?: number;
  relu?: boolean;
  /** Add the product to what C holds instead of overwriting it (the bias is then not added). */
  accumulate?: boolean;
  kBlock?: number;
  mBlock?: number;
}

/** The GEMM kernels instantiated on one wasm memory (tfjs-backend-wasm's heap). */
export class WasmGemm {
  private readonly tile4x8: TileFn;
  private readonly tile1x8: TileFn;
  private readonly tile4x4: TileFn;
  private readonly tile1x4: TileFn;
  /** By the number of last columns (1-3): 4-row and 1-row tiles over them. */
  private readonly tail4: TileFn[];
  private readonly tail1: TileFn[];

  /** Wraps the exports of the generated module (see `wasmGemm`). */
  constructor(exports: Record<string, unknown>) {
    const fn = (name: string) => exports[name] as TileFn;
    this.tile4x8 = fn('tile4x8');
    this.tile1x8 = fn('tile1x8');
    this.tile4x4 = fn('tile4x4');
    this.tile1x4 = fn('tile1x4');
    this.tail4 = [0, 1, 2, 3].map((t) => fn(`tile4x${t}tail`));
    this.tail1 = [0, 1, 2, 3].map((t) => fn(`tile1x${t}tail`));
  }

  /** C = op(A)·B (+ bias) (then ReLU), where op(A) is A or Aᵀ. */
  run(args: GemmArgs): void {
    const { m, n, k, transposeA } = args;
    const sai = transposeA ? 4 : 4 * k;
    const sak = transposeA ? 4 * m : 4;
    const ldb = 4 * n;
    const ldc = 4 * n;
    const kBlock = Math.max(1, args.kBlock ?? (transposeA ? K_BLOCK.transposedA : K_BLOCK.plain));
    const mBlock = Math.max(4, args.mBlock ?? M_BLOCK);
    const bias = args.bias ?? 0;
    const firstInit = args.accumulate ? INIT_ACCUMULATE : args.bias !== undefined ? INIT_BIAS : 0;
    if (k === 0) {
      // No products: C is the bias (or zero), clamped.
      this.region(0, m, n, 0, args.a, sai, sak, args.b, ldb, args.c, ldc, firstInit, bias, args.relu ? 1 : 0);
      return;
    }
    for (let k0 = 0; k0 < k; k0 += kBlock) {
      const depth = Math.min(kBlock, k - k0);
      const a = args.a + k0 * sak;
      const b = args.b + k0 * ldb;
      const init = k0 === 0 ? firstInit : INIT_ACCUMULATE;
      const relu = args.relu && k0 + depth >= k ? 1 : 0;
      // Rows in blocks, so the block of A that every column tile reads again stays in cache.
      for (let i0 = 0; i0 < m; i0 += mBlock)
        this.region(
          i0,
          Math.min(m, i0 + mBlock),
          n,
          depth,
          a,
          sai,
          sak,
          b,
          ldb,
          args.c,
          ldc,
          init,
          bias,
          relu,
        );
    }
  }

  private region(
    i0: number,
    i1: number,
    n: number,
    depth: number,
    a: number,
    sai: number,
    sak: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    init: number,
    bias: number,
    relu: number,
  ): void {
    const rest = [depth, a, sai, sak, b, ldb, c, ldc, init, bias, relu] as const;
    const m4 = i1 - ((i1 - i0) % 4);
    const n8 = n - (n % 8);
    const n4 = n - (n % 4);
    if (n8 > 0) {
      if (m4 > i0) this.tile4x8(i0, m4, 0, n8, ...rest);
      if (i1 > m4) this.tile1x8(m4, i1, 0, n8, ...rest);
    }
    if (n4 > n8) {
      if (m4 > i0) this.tile4x4(i0, m4, n8, n4, ...rest);
      if (i1 > m4) this.tile1x4(m4, i1, n8, n4, ...rest);
    }
    if (n > n4) {
      if (m4 > i0) this.tail4[n - n4](i0, m4, n4, n, ...rest);
      if (i1 > m4) this.tail1[n - n4](m4, i1, n4, n, ...rest);
    }
  }
}

const gemmFunctions = (fused: boolean) => [
  vectorTile(4, 2, fused),
  vectorTile(1, 2, fused),
  vectorTile(4, 1, fused),
  vectorTile(1, 1, fused),
  ...[1, 2, 3].flatMap((tail) => [vectorTile(4, 1, fused, tail), vectorTile(1, 1, fused, tail)]),
];
const variants = {
  fused: perMemory(
    () => gemmFunctions(true),
    (exports) => new WasmGemm(exports),
  ),
  plain: perMemory(
    () => gemmFunctions(false),
    (exports) => new WasmGemm(exports),
  ),
};

/** The GEMM with fused multiply-add (relaxed SIMD) or with a multiply and an add, for one memory. */
export const wasmGemmVariant = (fused: boolean): ((memory: WebAssembly.Memory) => WasmGemm) =>
  fused ? variants.fused : variants.plain;

/** The kernels for a memory, instantiated once per memory; fused when relaxed SIMD is available. */
export const wasmGemm = (memory: WebAssembly.Memory): WasmGemm => wasmGemmVariant(useRelaxedSimd())(memory);
