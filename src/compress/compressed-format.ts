/**
 * The compressed model file (Deep Compression's storage, Han et al. 2016): `<name>.json` (the spec
 * and, per tensor, how it is coded and where its bytes are) and `<name>.bin` (the bytes). A weight
 * tensor is stored as symbols into a value table:
 * - codebook: k shared float32 values (weight sharing, or the distinct values of a quantized tensor);
 * - uniform: integer codes with a float32 scale (and int32 zero point) per tensor or channel;
 * - ternary / binary: codes with their per-channel scales.
 * Zeros are left out when that is smaller: the non-zero entries keep relative offsets of
 * `indexBits` bits, with padding zeros where a gap is longer (sparse-index.ts). Symbols and
 * offsets are Huffman-coded (one code length per symbol is stored) or packed at fixed width.
 * Other tensors (biases, normalisation) are raw float32.
 *
 * `storedBits` of a tensor counts every bit of its section: tables, codebook or scales, Huffman
 * code lengths, symbols, offsets. The JSON header (spec and offsets) is not counted, as Han et al.
 * count only the weights' storage; the report gives the file's bytes beside it.
 */
import { DataError, FileNotFoundError } from '../core/errors.js';
import type { ModelSpec } from '../models/spec/types.js';
import { BitReader, BitWriter } from './bit-stream.js';
import { HuffmanCode } from './huffman.js';
import type { LayerWeights, ModelWeights } from './model-weights.js';
import { codeRange, type QuantizedTensor } from './quantizers.js';
import { decodeRelativeIndices, encodeRelativeIndices } from './sparse-index.js';

export const COMPRESSED_FORMAT = 'parsimony-compressed';

/** Maps a symbol (and the element's output channel) to its value. */
export type ValueTable =
  | { kind: 'codebook'; values: Float32Array }
  /** No sharing: each stored entry is its own float32 (symbols are positions, only used in memory). */
  | { kind: 'float'; values: Float32Array }
  | { kind: 'uniform'; bits: number; qmin: number; scales: Float32Array; zeroPoints: Int32Array | null }
  | { kind: 'ternary'; positiveScales: Float32Array; negativeScales: Float32Array }
  | { kind: 'binary'; scales: Float32Array };

/** A weight tensor to store: one symbol per element and the table they index. */
export interface CodedTensor {
  table: ValueTable;
  symbols: Int32Array;
  /** Size of the symbol alphabet (codebook size, 2^bits, 3 or 2). */
  alphabet: number;
}

export interface EncodeOptions {
  /** Entropy-code symbols and offsets (default true). */
  huffman?: boolean;
  /** Relative index bits for sparse tensors (default 5 for dense layers, 8 for the rest, as Han et al.). */
  indexBits?: (layer: LayerWeights) => number;
  /** Store sparse tensors sparsely when that is smaller (default true). */
  sparse?: boolean;
}

/** A value table's settings without its arrays (the arrays are in the .bin). */
export type TableMeta =
  | { kind: 'codebook' | 'float' | 'ternary' | 'binary' }
  | { kind: 'uniform'; bits: number; qmin: number; scheme: 'symmetric' | 'asymmetric' };

function tableMeta(table: ValueTable): TableMeta {
  if (table.kind !== 'uniform') return { kind: table.kind };
  return {
    kind: 'uniform',
    bits: table.bits,
    qmin: table.qmin,
    scheme: table.zeroPoints ? 'asymmetric' : 'symmetric',
  };
}

/** The coded form of a quantized tensor: symbols are codes shifted to start at 0. */
export function codedFromQuantized(q: QuantizedTensor): CodedTensor {
  if (q.kind === 'uniform') {
    const { qmin } = codeRange(q.bits, q.scheme);
    return {
      table: {
        kind: 'uniform',
        bits: q.bits,
        qmin,
        scales: q.scales,
        zeroPoints: q.scheme === 'asymmetric' ? q.zeroPoints : null,
      },
      symbols: Int32Array.from(q.codes, (c) => c - qmin),
      alphabet: 2 ** q.bits,
    };
  }
  if (q.kind === 'ternary')
    return {
      table: { kind: 'ternary', positiveScales: q.positiveScales, negativeScales: q.negativeScales },
      symbols: Int32Array.from(q.codes, (c) => c + 1),
      alphabet: 3,
    };
  return {
    table: { kind: 'binary', scales: q.scales },
    symbols: Int32Array.from(q.codes, (c) => (c + 1) / 2),
    alphabet: 2,
  };
}

interface TensorEntry {
  layer: string;
  tensor: string;
  shape: number[];
  byteOffset: number;
  byteLength: number;
  storedBits: number;
  coding:
    | { kind: 'float32' }
    | {
        kind: 'coded';
        table: TableMeta;
        /** Entries in the table (codebook size or channels). */
        tableEntries: number;
        alphabet: number;
        huffman: boolean;
        /** Stored entries (non-zeros plus padding when sparse, every element when dense). */
        entries: number;
        sparse: { indexBits: number; padding: number } | null;
        /** Bits per part, for the report. */
        bits: { table: number; codeLengths: number; values: number; indices: number };
      };
}

export interface CompressedHeader {
  format: typeof COMPRESSED_FORMAT;
  version: 1;
  spec: ModelSpec;
  tensors: TensorEntry[];
  /** Sum of storedBits. */
  storedBits: number;
  /** Extra facts (activation ranges for full-integer inference). */
  extra?: Record<string, unknown>;
}

function valueAt(table: ValueTable, symbol: number, channel: number): number {
  switch (table.kind) {
    case 'codebook':
    case 'float':
      return table.values[symbol];
    case 'uniform':
      return (
        table.scales[channel] * (symbol + table.qmin - (table.zeroPoints ? table.zeroPoints[channel] : 0))
      );
    case 'ternary':
      return symbol === 2 ? table.positiveScales[channel] : symbol === 0 ? -table.negativeScales[channel] : 0;
    case 'binary':
      return symbol === 1 ? table.scales[channel] : -table.scales[channel];
  }
}

function tableArrays(table: ValueTable): Float32Array[] | Int32Array[] {
  switch (table.kind) {
    case 'float':
      return [];
    case 'codebook':
      return [table.values];
    case 'uniform':
      return table.zeroPoints ? ([table.scales, table.zeroPoints] as never) : [table.scales];
    case 'ternary':
      return [table.positiveScales, table.negativeScales];
    case 'binary':
      return [table.scales];
  }
}

function channelsOf(table: ValueTable): number {
  return table.kind === 'codebook' || table.kind === 'float' ? 1 : tableArrays(table)[0].length;
}

/** The float values a coded tensor decodes to (channel of element i is i % channels). */
export function decodeSymbols(coded: CodedTensor): Float32Array {
  const channels = channelsOf(coded.table);
  return Float32Array.from(coded.symbols, (s, i) => valueAt(coded.table, s, i % channels));
}

function fixedBits(alphabet: number): number {
  return Math.max(1, Math.ceil(Math.log2(alphabet)));
}

/** Symbols (and offsets) as bits: Huffman with its code lengths, or fixed width. */
function writeSymbols(
  symbols: Int32Array,
  alphabet: number,
  huffman: boolean,
  out: BitWriter,
): { codeLengths: number; payload: number } {
  if (!huffman) {
    const width = fixedBits(alphabet);
    for (const s of symbols) out.write(s, width);
    return { codeLengths: 0, payload: symbols.length * width };
  }
  const code = HuffmanCode.fromSymbols(symbols, alphabet);
  // One 5-bit length per symbol (lengths are at most 24).
  for (const length of code.lengths) out.write(length, 5);
  const before = out.length;
  code.encode(symbols, out);
  return { codeLengths: 5 * alphabet, payload: out.length - before };
}

function writeFloats(values: Float32Array, out: BitWriter): { codeLengths: number; payload: number } {
  for (const v of values) out.write(floatBits(v), 32);
  return { codeLengths: 0, payload: 32 * values.length };
}

function readFloats(input: BitReader, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => bitsFloat(input.read(32)));
}

function readSymbols(input: BitReader, count: number, alphabet: number, huffman: boolean): Int32Array {
  if (!huffman) {
    const width = fixedBits(alphabet);
    return Int32Array.from({ length: count }, () => input.read(width));
  }
  const lengths = Uint8Array.from({ length: alphabet }, () => input.read(5));
  return new HuffmanCode(lengths).decode(input, count);
}

function encodeCoded(
  values: Float32Array,
  coded: CodedTensor,
  indexBits: number,
  options: { huffman: boolean; sparse: boolean },
): { bytes: Uint8Array; coding: Extract<TensorEntry['coding'], { kind: 'coded' }> } {
  const channels = channelsOf(coded.table);
  const decoded = decodeSymbols(coded);
  for (let i = 0; i < values.length; i++)
    if (decoded[i] !== values[i])
      // not a user error: a self-check that the encoder round-trips
      throw new Error(`unreachable: coded tensor does not decode to its weights at ${i}`);
  const nonZero: number[] = [];
  for (let i = 0; i < decoded.length; i++) if (decoded[i] !== 0) nonZero.push(i);
  const paddingSymbol = coded.alphabet; // decodes to 0
  const trial = (sparse: boolean) => {
    const out = new BitWriter();
    const arrays = tableArrays(coded.table);
    for (const array of arrays)
      for (const v of array) out.write(array instanceof Int32Array ? v >>> 0 : floatBits(v), 32);
    const table = out.length;
    const raw = coded.table.kind === 'float';
    if (!sparse) {
      const parts = raw
        ? writeFloats(values, out)
        : writeSymbols(coded.symbols, coded.alphabet, options.huffman, out);
      return {
        out,
        entries: coded.symbols.length,
        sparseInfo: null,
        bits: { table, codeLengths: parts.codeLengths, values: parts.payload, indices: 0 },
      };
    }
    const relative = encodeRelativeIndices(nonZero, indexBits);
    const symbols = Int32Array.from(relative.positions, (p, i) =>
      relative.padding[i] ? paddingSymbol : coded.symbols[p],
    );
    const valueParts = raw
      ? writeFloats(
          Float32Array.from(relative.positions, (p, i) => (relative.padding[i] ? 0 : values[p])),
          out,
        )
      : writeSymbols(symbols, coded.alphabet + 1, options.huffman, out);
    const indexParts = writeSymbols(relative.offsets, 2 ** indexBits, options.huffman, out);
    return {
      out,
      entries: symbols.length,
      sparseInfo: { indexBits, padding: relative.padding.reduce((a, b) => a + b, 0) },
      bits: {
        table,
        codeLengths: valueParts.codeLengths + indexParts.codeLengths,
        values: valueParts.payload,
        indices: indexParts.payload,
      },
    };
  };
  const dense = trial(false);
  const sparse = options.sparse && nonZero.length < values.length ? trial(true) : null;
  const best = sparse && sparse.out.length < dense.out.length ? sparse : dense;
  return {
    bytes: best.out.finish(),
    coding: {
      kind: 'coded',
      table: tableMeta(coded.table),
      tableEntries: coded.table.kind === 'codebook' ? coded.table.values.length : channels,
      alphabet: coded.alphabet,
      huffman: options.huffman,
      entries: best.entries,
      sparse: best.sparseInfo,
      bits: best.bits,
    },
  };
}

const floatView = new DataView(new ArrayBuffer(4));
function floatBits(v: number): number {
  floatView.setFloat32(0, v);
  return floatView.getUint32(0);
}
function bitsFloat(u: number): number {
  floatView.setUint32(0, u);
  return floatView.getFloat32(0);
}

export interface EncodedModel {
  header: CompressedHeader;
  bin: Uint8Array;
}

/**
 * Encodes weights; `coded` gives, per "layer/tensor", the symbols and table of each coded weight
 * tensor (they must decode exactly to the weights' values). Every other tensor is stored as float32.
 */
export function encodeCompressed(
  weights: ModelWeights,
  coded: ReadonlyMap<string, CodedTensor>,
  options: EncodeOptions = {},
  extra?: Record<string, unknown>,
): EncodedModel {
  const huffman = options.huffman ?? true;
  const sparse = options.sparse ?? true;
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const layer of weights.layers) {
    const indexBits = options.indexBits?.(layer) ?? (layer.type === 'dense' ? 5 : 8);
    for (const tensor of layer.tensors) {
      const c = coded.get(`${layer.layer}/${tensor.name}`);
      let bytes: Uint8Array;
      let coding: TensorEntry['coding'];
      let storedBits: number;
      if (c) {
        const encoded = encodeCoded(tensor.values, c, indexBits, { huffman, sparse });
        bytes = encoded.bytes;
        coding = encoded.coding;
        const b = encoded.coding.bits;
        storedBits = b.table + b.codeLengths + b.values + b.indices;
      } else {
        bytes = new Uint8Array(Float32Array.from(tensor.values).buffer);
        coding = { kind: 'float32' };
        storedBits = 32 * tensor.values.length;
      }
      tensors.push({
        layer: layer.layer,
        tensor: tensor.name,
        shape: [...tensor.shape],
        byteOffset: offset,
        byteLength: bytes.length,
        storedBits,
        coding,
      });
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  const bin = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    bin.set(chunk, at);
    at += chunk.length;
  }
  const header: CompressedHeader = {
    format: COMPRESSED_FORMAT,
    version: 1,
    spec: weights.spec,
    tensors,
    storedBits: tensors.reduce((a, t) => a + t.storedBits, 0),
    ...(extra ? { extra } : {}),
  };
  return { header, bin };
}

function readTable(input: BitReader, meta: TableMeta, entries: number): ValueTable {
  const floats = () => Float32Array.from({ length: entries }, () => bitsFloat(input.read(32)));
  switch (meta.kind) {
    case 'codebook':
      return { kind: 'codebook', values: floats() };
    case 'float':
      return { kind: 'float', values: new Float32Array(0) };
    case 'uniform': {
      const scales = floats();
      const zeroPoints =
        meta.scheme === 'asymmetric' ? Int32Array.from({ length: entries }, () => input.read(32) | 0) : null;
      return { kind: 'uniform', bits: meta.bits, qmin: meta.qmin, scales, zeroPoints };
    }
    case 'ternary': {
      const positiveScales = floats();
      return { kind: 'ternary', positiveScales, negativeScales: floats() };
    }
    case 'binary':
      return { kind: 'binary', scales: floats() };
    default:
      throw new DataError(
        `compressed file: unknown value table "${String((meta as { kind: unknown }).kind)}"`,
      );
  }
}

/** Restores the weights from a compressed file's header and bytes. */
export function decodeCompressed(header: CompressedHeader, bin: Uint8Array): ModelWeights {
  if (header?.format !== COMPRESSED_FORMAT || header.version !== 1)
    throw new DataError(`not a ${COMPRESSED_FORMAT} version 1 header`);
  const layers = new Map<string, LayerWeights>();
  const types = new Map(header.spec.layers.map((l) => [l.name, l.type]));
  for (const t of header.tensors) {
    const where = `compressed file: layer "${t.layer}" tensor "${t.tensor}"`;
    if (t.byteOffset + t.byteLength > bin.length)
      throw new DataError(`${where}: bytes past the end of the .bin`);
    const bytes = bin.subarray(t.byteOffset, t.byteOffset + t.byteLength);
    const size = t.shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (t.coding.kind === 'float32') {
      if (bytes.length !== 4 * size)
        throw new DataError(`${where}: ${bytes.length} bytes for ${size} floats`);
      values = new Float32Array(bytes.slice().buffer);
    } else {
      const c = t.coding;
      const input = new BitReader(bytes, where);
      const table = readTable(input, c.table, c.tableEntries);
      const channels = channelsOf(table);
      values = new Float32Array(size);
      if (table.kind === 'float') {
        const stored = readFloats(input, c.entries);
        if (!c.sparse) values.set(stored.subarray(0, size));
        else {
          const positions = decodeRelativeIndices(
            readSymbols(input, c.entries, 2 ** c.sparse.indexBits, c.huffman),
          );
          for (let j = 0; j < c.entries; j++) {
            if (positions[j] >= size)
              throw new DataError(`${where}: sparse index ${positions[j]} past ${size} weights`);
            values[positions[j]] = stored[j];
          }
        }
      } else if (!c.sparse) {
        const symbols = readSymbols(input, c.entries, c.alphabet, c.huffman);
        for (let i = 0; i < size; i++) values[i] = valueAt(table, symbols[i], i % channels);
      } else {
        const symbols = readSymbols(input, c.entries, c.alphabet + 1, c.huffman);
        const offsets = readSymbols(input, c.entries, 2 ** c.sparse.indexBits, c.huffman);
        const positions = decodeRelativeIndices(offsets);
        for (let j = 0; j < c.entries; j++) {
          const p = positions[j];
          if (p >= size) throw new DataError(`${where}: sparse index ${p} past ${size} weights`);
          if (symbols[j] !== c.alphabet) values[p] = valueAt(table, symbols[j], p % channels);
        }
      }
    }
    const type = types.get(t.layer);
    if (!type) throw new DataError(`${where}: the spec has no such layer`);
    let layer = layers.get(t.layer);
    if (!layer) {
      layer = { layer: t.layer, type, tensors: [] };
      layers.set(t.layer, layer);
    }
    layer.tensors.push({ name: t.tensor, shape: [...t.shape], values });
  }
  return { spec: structuredClone(header.spec), layers: [...layers.values()] };
}

/** Per layer, the stored bits of its coded (weight) tensors. */
export function codedBitsByLayer(header: CompressedHeader): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of header.tensors)
    if (t.coding.kind === 'coded') out.set(t.layer, (out.get(t.layer) ?? 0) + t.storedBits);
  return out;
}

/** File names of the compressed model in an output directory (the last coding step's). */
export const COMPRESSED_MODEL_FILES = { header: 'compressed.json', bytes: 'compressed.bin' } as const;

/** The two files of a compressed model, as a step hands them to the output directory. */
export function compressedFiles(encoded: EncodedModel): Record<string, Uint8Array | string> {
  return {
    [COMPRESSED_MODEL_FILES.header]: `${JSON.stringify(encoded.header)}\n`,
    [COMPRESSED_MODEL_FILES.bytes]: encoded.bin,
  };
}

/** Reads compressed.json and compressed.bin from a directory and restores the weights. */
export async function loadCompressed(
  dir: string,
): Promise<{ weights: ModelWeights; header: CompressedHeader }> {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.join(dir, COMPRESSED_MODEL_FILES.header);
  let header: CompressedHeader;
  try {
    header = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'compressed model', { cause: error });
    if (error instanceof SyntaxError) throw new DataError(`${file}: not JSON (${error.message})`);
    throw error;
  }
  const bin = new Uint8Array(await readFile(path.join(dir, COMPRESSED_MODEL_FILES.bytes)));
  return { weights: decodeCompressed(header, bin), header };
}

/** Raw float32 entries (no sharing), still stored sparsely with coded offsets. */
export function floatCoding(values: Float32Array): CodedTensor {
  return {
    table: { kind: 'float', values },
    symbols: Int32Array.from({ length: values.length }, (_, i) => i),
    alphabet: 1,
  };
}

/** A codebook of a tensor's distinct values: lossless coding of any tensor with few distinct values. */
export function distinctValueCoding(values: Float32Array, maxEntries = 1 << 16): CodedTensor | null {
  const distinct = new Set<number>();
  for (const v of values) {
    if (v === 0) continue;
    distinct.add(v);
    if (distinct.size > maxEntries) return null;
  }
  // Zero gets an entry too when present in a dense tensor (sparse coding skips it anyway).
  const hasZero = values.some((v) => v === 0);
  const codebook = Float32Array.from([...distinct, ...(hasZero ? [0] : [])]).sort();
  const index = new Map<number, number>();
  for (const [i, v] of codebook.entries()) index.set(v, i);
  const symbols = Int32Array.from(values, (v) => index.get(v) as number);
  return { table: { kind: 'codebook', values: codebook }, symbols, alphabet: codebook.length };
}
