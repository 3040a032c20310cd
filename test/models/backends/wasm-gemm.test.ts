/**
 * Parsimony's generated wasm GEMM against a float64 reference: every tile and edge path (rows not a
 * multiple of 4, columns not a multiple of 8 or 4: the 1-3 last columns loaded and stored lane by
 * lane, with guard values around C), Aᵀ read through strides, fused bias and ReLU, K split into
 * blocks that accumulate onto C, and rows split into blocks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { wasmGemm, wasmGemmVariant } from '../../../src/models/backends/wasm/gemm.js';
import { buildModule, Code } from '../../../src/models/backends/wasm/module-builder.js';
import { relaxedSimdSupported, useRelaxedSimd } from '../../../src/models/backends/wasm/relaxed-simd.js';
import { randoms } from '../../helpers/random.js';

describe('module builder', () => {
  test('a generated function runs on the imported memory', () => {
    // f(p, n): doubles n floats at byte address p, four at a time.
    const body = new Code();
    body.block().loop();
    body.get(1).i32(4).i32LtS().brIf(1);
    body.get(0).get(0).v128Load().get(0).v128Load().f32x4Add().v128Store();
    body.get(0).i32(16).i32Add().set(0);
    body.get(1).i32(4).i32Sub().set(1);
    body.br(0).end().end();
    const bytes = buildModule([{ name: 'double', params: ['i32', 'i32'], locals: [], body }]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const view = new Float32Array(memory.buffer);
    view.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
    (instance.exports.double as (p: number, n: number) => void)(16, 8);
    assert.deepEqual([...view.subarray(4, 13)], [2, 4, 6, 8, 10, 12, 14, 16, 9]);
  });
});

// Both kernels: fused multiply-add (relaxed SIMD, where the engine has it) and multiply + add.
const variants = relaxedSimdSupported() ? [true, false] : [false];
for (const fused of variants)
  describe(`WasmGemm (${fused ? 'relaxed SIMD fused multiply-add' : 'multiply and add'})`, () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const gemm = wasmGemmVariant(fused)(memory);
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [4, 8, 3],
      [5, 13, 9],
      [7, 10, 33],
      [9, 3, 1],
      [13, 31, 20],
      [10, 50, 7],
      [17, 7, 5],
      [3, 6, 0],
    ];
    for (const [m, n, k] of shapes)
      for (const transposeA of [false, true])
        for (const withBias of [false, true])
          for (const relu of [false, true])
            for (const [kBlock, mBlock] of [
              [512, 1000],
              [4, 4],
            ]) {
              const label = `${m}x${k}${transposeA ? 'ᵀ' : ''}·${k}x${n} bias=${withBias} relu=${relu} kBlock=${kBlock} mBlock=${mBlock}`;
              test(label, () => {
                const view = new Float32Array(memory.buffer);
                // Operands at unaligned float offsets, with guard values around C.
                const aAt = 3;
                const bAt = aAt + m * k + 5;
                const cAt = bAt + k * n + 7;
                const biasAt = cAt + m * n + 2;
                view.set(randoms(m * k, 1), aAt);
                view.set(randoms(k * n, 2), bAt);
                view.set(randoms(n, 3), biasAt);
                view.fill(123, cAt - 1, cAt + m * n + 1);
                view[cAt - 1] = 321;
                view[cAt + m * n] = 321;
                gemm.run({
                  m,
                  n,
                  k,
                  a: aAt * 4,
                  transposeA,
                  b: bAt * 4,
                  c: cAt * 4,
                  bias: withBias ? biasAt * 4 : undefined,
                  relu,
                  kBlock,
                  mBlock,
                });
                for (let i = 0; i < m; i++)
                  for (let j = 0; j < n; j++) {
                    let sum = withBias ? view[biasAt + j] : 0;
                    for (let q = 0; q < k; q++)
                      sum += view[aAt + (transposeA ? q * m + i : i * k + q)] * view[bAt + q * n + j];
                    if (relu) sum = Math.max(0, sum);
                    const got = view[cAt + i * n + j];
                    assert.ok(
                      Math.abs(got - sum) <= 1e-5 * Math.max(1, Math.abs(sum)),
                      `C[${i}][${j}] ${got} vs ${sum}`,
                    );
                  }
                assert.equal(view[cAt - 1], 321, 'wrote before C');
                assert.equal(view[cAt + m * n], 321, 'wrote after C');
              });
            }

    test('accumulate adds the product to what C holds (and ignores the bias)', () => {
      const view = new Float32Array(memory.buffer);
      const [m, n, k] = [5, 11, 7];
      const aAt = 0;
      const bAt = 64;
      const cAt = 256;
      view.set(randoms(m * k, 4), aAt);
      view.set(randoms(k * n, 5), bAt);
      const before = randoms(m * n, 6);
      view.set(before, cAt);
      gemm.run({ m, n, k, a: aAt * 4, transposeA: false, b: bAt * 4, c: cAt * 4, accumulate: true, bias: 4 });
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = before[i * n + j];
          for (let q = 0; q < k; q++) sum += view[aAt + i * k + q] * view[bAt + q * n + j];
          assert.ok(Math.abs(view[cAt + i * n + j] - sum) <= 1e-5, `C[${i}][${j}]`);
        }
    });
  });

test('the default GEMM is the fused one exactly when relaxed SIMD is in use', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  assert.equal(
    wasmGemm(memory),
    wasmGemmVariant(useRelaxedSimd())(memory),
    'wasmGemm picks the variant useRelaxedSimd names',
  );
});

test('Node 20 validates relaxed SIMD once its V8 flag is set at run time', () => {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 20)
    assert.ok(relaxedSimdSupported(), `relaxed SIMD should be available on Node ${process.versions.node}`);
});
