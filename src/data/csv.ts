/**
 * CSV files as classification datasets.
 *
 * - Fields may be double-quoted (RFC 4180: `""` inside quotes is a quote, quoted fields may hold
 *   delimiters and line breaks). Blank lines are skipped. Files may be gzipped (detected by magic
 *   bytes) and may start with a UTF-8 byte-order mark.
 * - Header: `true`, `false` or `'auto'` (default). Auto-detection calls the first row a header
 *   when one of its cells is not a number while the rows below hold numbers in that column
 *   (missing cells, empty, `NA` or `?`, aside).
 *   A header made only of numbers cannot be detected: pass `header: true`.
 * - Target: a header name or a 0-based column index (negative counts from the end); default the
 *   last column. Every other column is a feature and must hold a number in every row.
 * - Classes: if every target value is an integer, the classes are those integers in ascending
 *   numeric order, named by their decimal form ("0", "1", "10"); class index i is the i-th
 *   smallest value. Otherwise the target is categorical and the classes are its distinct
 *   values, sorted by UTF-16 code units (default, so the mapping does not depend on row order)
 *   or in order of first appearance (`classOrder: 'first-seen'`). Non-integer numeric targets
 *   are rejected: datasets here are for classification.
 * - Errors name the file, the 1-based line number in the file and the column: its 1-based
 *   position, its header name when there is one, and its 0-based index (as `target` counts),
 *   e.g. `data.csv: line 3, column 2 "width" (index 1): "n/a" is not a number`.
 */

import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { DataError, FileNotFoundError, InvalidArgumentError } from '../core/errors.js';
import { createDataset, type Dataset, type Provenance } from './dataset.js';
import { isGzip } from './idx.js';

export interface CsvOptions {
  /** true, false or 'auto' (default): see the module notes for the detection rule. */
  header?: boolean | 'auto';
  /** Target column: a header name or a 0-based index (negative counts from the end). Default: the last. */
  target?: string | number;
  /** Field separator (one or more characters). Default ',' or, for .tsv files, a tab. */
  delimiter?: string;
  /** Dataset name; defaults to the file name without its extensions. */
  name?: string;
  /** Order of categorical classes: 'sorted' (default) or 'first-seen'. Integer targets are always numeric order. */
  classOrder?: 'sorted' | 'first-seen';
}

interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  cells: string[];
}

/** Reads a CSV file (optionally gzipped) into a dataset. */
export function loadCsv(path: string, options: CsvOptions = {}): Dataset {
  return strictDataset(loadCsvTable(path, options));
}

/**
 * Reads a CSV file (optionally gzipped) into a table of raw feature cells and class labels,
 * for `fitTablePreparation` (categorical columns and missing cells).
 */
export function loadCsvTable(path: string, options: CsvOptions = {}): CsvTable {
  const text = readCsvText(path);
  const file = basename(path);
  const defaultDelimiter = /\.tsv(\.gz)?$/i.test(file) ? '\t' : ',';
  return buildTable(
    text,
    {
      ...options,
      delimiter: options.delimiter ?? defaultDelimiter,
      name: options.name ?? file.replace(/(\.(csv|tsv|txt|data))?(\.gz)?$/i, ''),
    },
    path,
    { source: `CSV file ${file}`, location: resolve(path) },
  );
}

/** The raw rows of a CSV file (no header detection, no target): for applying a saved pipeline. */
export interface CsvRows {
  /** Names the file in error messages. */
  source: string;
  rows: { line: number; cells: string[] }[];
}

/** Reads a CSV file's rows as written (fields unquoted, every row as wide as the first). */
export function loadCsvRows(path: string, options: Pick<CsvOptions, 'delimiter'> = {}): CsvRows {
  const text = readCsvText(path);
  const source = basename(path);
  const delimiter = options.delimiter ?? (/\.tsv(\.gz)?$/i.test(source) ? '\t' : ',');
  const rows = splitRecords(text, delimiter, source);
  if (rows.length === 0) throw new DataError(`${source}: the file is empty (no rows)`);
  const width = rows[0].cells.length;
  for (const row of rows)
    if (row.cells.length !== width)
      throw new DataError(
        `${source}: line ${row.line} has ${row.cells.length} fields, expected ${width} (as on line ${rows[0].line})`,
      );
  return { source, rows };
}

/** The text of a CSV file, gunzipped when it is gzipped. */
function readCsvText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(path, 'CSV file');
    if (code === 'EISDIR') throw new DataError(`${path}: is a directory, not a CSV file`);
    throw new DataError(`${path}: cannot read (${(error as Error).message})`, { cause: error });
  }
  try {
    return (isGzip(bytes) ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw new DataError(`${path}: truncated or corrupt gzip data (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/** Parses CSV text into a dataset; `source` names the text in error messages (usually its file). */
export function parseCsv(text: string, options: CsvOptions = {}, source = 'CSV data'): Dataset {
  return strictDataset(parseCsvTable(text, options, source));
}

/** Parses CSV text into a table of raw feature cells and class labels (see `loadCsvTable`). */
export function parseCsvTable(text: string, options: CsvOptions = {}, source = 'CSV data'): CsvTable {
  return buildTable(text, options, source, { source: 'CSV data', location: source });
}

/**
 * The rows of a CSV file before its features become numbers: the feature cells as written
 * (trimmed), the target already mapped to classes.
 */
export interface CsvTable {
  name: string;
  /** Names the file in error messages. */
  source: string;
  provenance: Provenance;
  /** Header name of each feature column ('' without a header). */
  featureNames: string[];
  /** How each feature column is named in errors: its 1-based position, header name and 0-based index. */
  featureLabels: string[];
  /** cells[row][feature], trimmed. */
  cells: string[][];
  /** 1-based line in the file where each row starts. */
  lines: number[];
  labels: Int32Array;
  classNames: string[];
}

/** Every feature cell must be a number: the loader's behaviour without a preparation. */
function strictDataset(table: CsvTable): Dataset {
  const d = table.featureNames.length;
  const data = new Float32Array(table.cells.length * d);
  for (let r = 0; r < table.cells.length; r++) {
    const cells = table.cells[r];
    for (let k = 0; k < d; k++) {
      const cell = cells[k];
      const value = parseNumber(cell);
      if (value === undefined)
        throw new DataError(
          `${table.source}: line ${table.lines[r]}, ${table.featureLabels[k]}: ${
            cell === '' ? 'empty cell' : `${JSON.stringify(cell)} is not a number`
          }`,
        );
      data[r * d + k] = value;
    }
  }
  return createDataset({
    name: table.name,
    data,
    numFeatures: d,
    labels: table.labels,
    classNames: table.classNames,
    provenance: table.provenance,
  });
}

function buildTable(text: string, options: CsvOptions, source: string, provenance: Provenance): CsvTable {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length === 0 || /["\r\n]/.test(delimiter))
    throw new InvalidArgumentError(`CSV delimiter ${JSON.stringify(delimiter)} is not usable`);
  const records = splitRecords(text, delimiter, source);
  if (records.length === 0) throw new DataError(`${source}: the file is empty (no rows)`);
  const width = records[0].cells.length;
  if (width < 2)
    throw new DataError(
      `${source}: line ${records[0].line} has ${width} field; need at least one feature and a target`,
    );
  for (const record of records)
    if (record.cells.length !== width)
      throw new DataError(
        `${source}: line ${record.line} has ${record.cells.length} fields, expected ${width} ` +
          `(as on line ${records[0].line})`,
      );

  const headerOption = options.header ?? 'auto';
  if (headerOption !== true && headerOption !== false && headerOption !== 'auto')
    throw new InvalidArgumentError(
      `CSV header option must be true, false or 'auto', got ${String(headerOption)}`,
    );
  const hasHeader = headerOption === 'auto' ? looksLikeHeader(records) : headerOption;
  const names = hasHeader ? records[0].cells.map((c) => c.trim()) : undefined;
  const body = hasHeader ? records.slice(1) : records;
  if (body.length === 0)
    throw new DataError(`${source}: the file has a header (line ${records[0].line}) but no data rows`);
  const describeColumn = (c: number) =>
    names && names[c] !== ''
      ? `column ${c + 1} ${JSON.stringify(names[c])} (index ${c})`
      : `column ${c + 1} (index ${c})`;

  const targetIndex = resolveTarget(options.target ?? -1, width, names, source);
  const featureColumns: number[] = [];
  for (let c = 0; c < width; c++) if (c !== targetIndex) featureColumns.push(c);
  const raw = body.map((record) => record.cells[targetIndex].trim());
  const { classNames, labels } = mapTargets(raw, options.classOrder ?? 'sorted', (r, message) => {
    return new DataError(
      `${source}: line ${body[r].line}, target ${describeColumn(targetIndex)}: ${message}`,
    );
  });
  return {
    name: options.name ?? source,
    source,
    provenance,
    featureNames: featureColumns.map((c) => names?.[c] ?? ''),
    featureLabels: featureColumns.map(describeColumn),
    cells: body.map((record) => featureColumns.map((c) => record.cells[c].trim())),
    lines: body.map((record) => record.line),
    labels,
    classNames,
  };
}

function mapTargets(
  raw: string[],
  classOrder: 'sorted' | 'first-seen',
  error: (row: number, message: string) => DataError,
): { classNames: string[]; labels: Int32Array } {
  if (classOrder !== 'sorted' && classOrder !== 'first-seen')
    throw new InvalidArgumentError(
      `CSV classOrder must be 'sorted' or 'first-seen', got ${String(classOrder)}`,
    );
  const empty = raw.indexOf('');
  if (empty >= 0) throw error(empty, 'empty target');
  const numbers = raw.map(parseNumber);
  if (numbers.every((v) => v !== undefined)) {
    const fractional = numbers.findIndex((v) => !Number.isInteger(v));
    if (fractional >= 0)
      throw error(
        fractional,
        `${JSON.stringify(raw[fractional])} is not an integer; a numeric target must hold class numbers`,
      );
    const values = [...new Set(numbers as number[])].sort((a, b) => a - b);
    const index = new Map(values.map((v, i) => [v, i]));
    return {
      classNames: values.map(String),
      labels: Int32Array.from(numbers as number[], (v) => index.get(v)!),
    };
  }
  const distinct = [...new Set(raw)];
  if (classOrder === 'sorted') distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(distinct.map((name, i) => [name, i]));
  return { classNames: distinct, labels: Int32Array.from(raw, (t) => index.get(t)!) };
}

function resolveTarget(
  target: string | number,
  width: number,
  names: string[] | undefined,
  source: string,
): number {
  if (typeof target === 'string') {
    const wanted = target.trim();
    if (names) {
      const first = names.indexOf(wanted);
      if (first >= 0) {
        if (names.indexOf(wanted, first + 1) >= 0)
          throw new InvalidArgumentError(`${source}: more than one column is named "${wanted}"`);
        return first;
      }
    }
    if (/^-?\d+$/.test(wanted)) return resolveTarget(Number(wanted), width, names, source);
    if (!names)
      throw new InvalidArgumentError(
        `${source}: target column "${wanted}" given by name, but the file has no header (give an index, or header: true)`,
      );
    throw new InvalidArgumentError(`${source}: no column named "${wanted}" (columns: ${names.join(', ')})`);
  }
  if (!Number.isInteger(target) || target >= width || target < -width)
    throw new InvalidArgumentError(
      `${source}: target column index ${target} is outside 0..${width - 1} (or -${width}..-1 from the end)`,
    );
  return target < 0 ? width + target : target;
}

/** Cells that mean "no value" (empty, `NA`, `?`): imputed by a table preparation, never a header clue. */
const MISSING_CELLS = new Set(['', 'NA', '?']);

/**
 * Header when a first-row cell is neither a number nor a missing-cell token while the next rows
 * hold numbers in its column (missing cells aside, at least one number).
 */
function looksLikeHeader(records: CsvRecord[]): boolean {
  if (records.length < 2) return false;
  const sample = records.slice(1, 21);
  return records[0].cells.some((cell, c) => {
    if (parseNumber(cell.trim()) !== undefined || MISSING_CELLS.has(cell.trim())) return false;
    const below = sample.map((record) => record.cells[c].trim()).filter((v) => !MISSING_CELLS.has(v));
    return below.length > 0 && below.every((v) => parseNumber(v) !== undefined);
  });
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number (no hex, no Infinity, no empty string), or undefined. */
export function parseNumber(cell: string): number | undefined {
  if (!NUMBER.test(cell)) return undefined;
  const value = Number(cell);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Splits text into records with csv-parse (quoted fields, embedded line breaks, a BOM, blank lines
 * skipped), keeping the line each record starts on for error messages.
 */
function splitRecords(input: string, delimiter: string, source: string): CsvRecord[] {
  // One line-end convention before parsing: csv-parse fixes the record delimiter from the first
  // line end it sees, and files that mix CRLF and LF (or use classic Mac CR) exist.
  const text = input.replace(/\r\n?/g, '\n');
  let lastLine = 0;
  const records: CsvRecord[] = [];
  try {
    parse(text, {
      bom: true,
      delimiter,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      on_record: (cells, context) => {
        lastLine = context.lines;
        if (cells.length === 1 && cells[0].trim() === '') return null; // a line of spaces only
        // context.lines is where the record ends; a quoted field may span several lines.
        let inside = 0;
        for (const cell of cells)
          for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) inside++;
        records.push({ line: context.lines - inside, cells });
        return null; // kept in `records`, not in parse's own result
      },
    });
  } catch (error) {
    const csvError = error as { code?: string; column?: number; message?: string };
    const line = firstContentLineAfter(text, lastLine);
    if (csvError.code === 'CSV_QUOTE_NOT_CLOSED')
      throw new DataError(
        `${source}: line ${line}, column ${(csvError.column ?? 0) + 1}: a quoted field is never closed`,
      );
    throw new DataError(`${source}: line ${line}: ${csvError.message ?? String(error)}`, { cause: error });
  }
  return records;
}

/** 1-based number of the first non-blank line after line `after`. */
function firstContentLineAfter(text: string, after: number): number {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) if (lines[i].trim() !== '') return i + 1;
  return after + 1;
}
