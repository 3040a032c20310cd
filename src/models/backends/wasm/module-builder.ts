/**
 * A small WebAssembly binary encoder for kernels Parsimony generates at run time. The modules it
 * builds import their memory (`env.memory`) so they compute directly on the heap of
 * tfjs-backend-wasm, where tensors already live: no copies in or out.
 *
 * Only what the generated kernels use is encoded (i32/f32/v128 locals, structured control flow,
 * loads and stores, integer address arithmetic, f32 and f32x4 arithmetic). Opcodes follow the
 * WebAssembly 2.0 specification, SIMD included, plus relaxed SIMD's fused multiply-add; the module is checked by WebAssembly.validate
 * before it is compiled.
 */

export type ValueType = 'i32' | 'f32' | 'v128';

const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsignedLeb(body.length), ...body];
}

/** Emits one function body; each method appends an instruction and returns `this` for chaining. */
export class Code {
  readonly bytes: number[] = [];

  private op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }

  private simd(opcode: number, ...rest: number[]): this {
    return this.op(0xfd, ...unsignedLeb(opcode), ...rest);
  }

  private memarg(alignLog2: number, offset: number): number[] {
    return [...unsignedLeb(alignLog2), ...unsignedLeb(offset)];
  }

  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  /** Branch to the `depth`-th enclosing block or loop (0 = innermost). */
  br(depth: number): this {
    return this.op(0x0c, ...unsignedLeb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...unsignedLeb(depth));
  }

  /** `for (counter = from; counter < end; counter++) body` (signed comparison). */
  forRange(counter: number, from: () => void, end: () => void, body: () => void): this {
    from();
    this.set(counter).block().loop();
    this.get(counter);
    end();
    this.i32GeS().brIf(1);
    body();
    this.get(counter).i32(1).i32Add().set(counter);
    return this.br(0).end().end();
  }

  /**
   * A run of `left` f32 values: `vector` four at a time, then `scalar` for the rest; each step
   * advances every byte pointer in `pointers` and counts `left` down (to zero).
   */
  runOf4(left: number, pointers: readonly number[], vector: () => void, scalar: () => void): this {
    for (const [width, step, body] of [
      [4, 16, vector],
      [1, 4, scalar],
    ] as const) {
      this.block().loop();
      if (width === 4) this.get(left).i32(4).i32LtS().brIf(1);
      else this.get(left).i32Eqz().brIf(1);
      body();
      for (const ptr of pointers) this.get(ptr).i32(step).i32Add().set(ptr);
      this.get(left).i32(width).i32Sub().set(left);
      this.br(0).end().end();
    }
    return this;
  }

  /** Pops a, b and a condition; pushes a when the condition is non-zero, else b. */
  select(): this {
    return this.op(0x1b);
  }

  get(local: number): this {
    return this.op(0x20, ...unsignedLeb(local));
  }
  set(local: number): this {
    return this.op(0x21, ...unsignedLeb(local));
  }
  tee(local: number): this {
    return this.op(0x22, ...unsignedLeb(local));
  }

  i32(value: number): this {
    return this.op(0x41, ...signedLeb(value));
  }
  f32(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return this.op(0x43, ...bytes);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  i32Shl(): this {
    return this.op(0x74);
  }

  f32Load(offset = 0): this {
    return this.op(0x2a, ...this.memarg(2, offset));
  }
  f32Store(offset = 0): this {
    return this.op(0x38, ...this.memarg(2, offset));
  }
  f32Eq(): this {
    return this.op(0x5b);
  }
  f32Gt(): this {
    return this.op(0x5e);
  }
  f32Sqrt(): this {
    return this.op(0x91);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Sub(): this {
    return this.op(0x93);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  f32Max(): this {
    return this.op(0x97);
  }

  v128Load(offset = 0): this {
    return this.simd(0x00, ...this.memarg(4, offset));
  }
  /** Loads one f32 and copies it into all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09, ...this.memarg(2, offset));
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b, ...this.memarg(4, offset));
  }
  /** Loads one f32 into lane 0, zeros in the others. */
  v128Load32Zero(offset = 0): this {
    return this.simd(0x5c, ...this.memarg(2, offset));
  }
  /** Loads two f32 into lanes 0 and 1, zeros in the others. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d, ...this.memarg(2, offset));
  }
  /** Pops an address and a vector; replaces 32-bit lane `lane` by the value loaded there. */
  v128Load32Lane(lane: number, offset = 0): this {
    return this.simd(0x56, ...this.memarg(2, offset), lane);
  }
  /** Pops an address and a vector; stores its 32-bit lane `lane`. */
  v128Store32Lane(lane: number, offset = 0): this {
    return this.simd(0x5a, ...this.memarg(2, offset), lane);
  }
  /** Pops an address and a vector; stores its 64-bit lane `lane` (two f32). */
  v128Store64Lane(lane: number, offset = 0): this {
    return this.simd(0x5b, ...this.memarg(2, offset), lane);
  }
  v128Zero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  /** A v128 constant from four i32 lanes. */
  v128ConstI32(lanes: [number, number, number, number]): this {
    return this.simd(0x0c, ...new Uint8Array(new Int32Array(lanes).buffer));
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** Pops a, b; pushes a & ~b. */
  v128AndNot(): this {
    return this.simd(0x4f);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  /** Pops a, b and a mask; takes the bits of a where the mask is set, else of b. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  i32x4ExtractLane(lane: number): this {
    return this.simd(0x1b, lane);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  i32x4LtS(): this {
    return this.simd(0x39);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }
  /** Pops a, b and c; pushes a·b + c, fused (relaxed SIMD: see relaxed-simd.ts). */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
  /**
   * a·b + c for f32x4 values pushed by the three callbacks: one relaxed_madd when `fused`, else
   * c + a·b as a multiply and an add.
   */
  f32x4MulAdd(fused: boolean, a: () => void, b: () => void, c: () => void): this {
    if (fused) {
      a();
      b();
      c();
      return this.f32x4RelaxedMadd();
    }
    c();
    a();
    b();
    return this.f32x4Mul().f32x4Add();
  }
}

/** Locals of a function being generated, numbered after its parameters. */
export class Locals {
  readonly types: ValueType[] = [];
  constructor(private readonly paramCount: number) {}

  add(type: ValueType): number {
    this.types.push(type);
    return this.paramCount + this.types.length - 1;
  }

  /** `count` locals of one type. */
  many(count: number, type: ValueType): number[] {
    return Array.from({ length: count }, () => this.add(type));
  }
}

export interface FunctionDefinition {
  name: string;
  params: ValueType[];
  /** Locals after the parameters, in order; their indices continue from the parameters'. */
  locals: ValueType[];
  body: Code;
}

/** Builds a module importing `env.memory` and exporting the given functions (no results). */
export function buildModule(functions: FunctionDefinition[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [VALUE_TYPE[t]])), 0x00]);
  const imports = vector([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]]);
  const declared = vector(functions.map((_, i) => unsignedLeb(i)));
  const exported = vector(functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)]));
  const bodies = functions.map((f) => {
    const locals = vector(f.locals.map((t) => [0x01, VALUE_TYPE[t]]));
    const body = [...locals, ...f.body.bytes, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, declared),
    ...section(7, exported),
    ...section(10, vector(bodies)),
  ];
  const module = new Uint8Array(bytes);
  if (!WebAssembly.validate(module))
    // not a user error: a bug in the kernel generator
    throw new Error('Parsimony wasm kernels: generated module does not validate');
  return module;
}

/**
 * One generated module per process and one instance per heap: `build` runs (and the module
 * compiles) on first use, and each WebAssembly.Memory gets its own instance, wrapped by `wrap`.
 */
export function perMemory<T>(
  build: () => FunctionDefinition[],
  wrap: (exports: Record<string, unknown>) => T,
): (memory: WebAssembly.Memory) => T {
  let compiled: WebAssembly.Module | undefined;
  const instances = new WeakMap<WebAssembly.Memory, T>();
  return (memory) => {
    let wrapped = instances.get(memory);
    if (wrapped === undefined) {
      compiled ??= new WebAssembly.Module(buildModule(build()));
      wrapped = wrap(new WebAssembly.Instance(compiled, { env: { memory } }).exports);
      instances.set(memory, wrapped);
    }
    return wrapped;
  };
}
