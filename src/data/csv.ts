/**
 * CSV loading: header or not (detected when `header: 'auto'`), target column by name or index
 * (default: the last), quoted fields, numeric features checked cell by cell. Class names: numeric
 * integer targets keep their numeric order ("0", "1", ...); other targets are sorted as strings,
 * so the mapping does not depend on row order.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError, FileNotFoundError, InvalidArgumentError } from '../core/errors.js';
import { createDataset, type Dataset } from './dataset.js';

export interface CsvOptions {
  /** true, false or 'auto' (default): a first row with a non-numeric feature cell is a header. */
  header?: boolean | 'auto';
  /** Target column: a header name or a 0-based index (negative counts from the end). Default -1. */
  target?: string | number;
  delimiter?: string;
  /** Dataset name; defaults to the file name. */
  name?: string;
}

export function loadCsv(path: string, options: CsvOptions = {}): Dataset {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(path, 'CSV file');
    throw new DataError(`${path}: cannot read (${(error as Error).message})`, { cause: error });
  }
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  return parseCsv(text, { ...options, name: options.name ?? path.split('/').pop() ?? path }, path);
}

export function parseCsv(text: string, options: CsvOptions = {}, source = 'CSV'): Dataset {
  const delimiter = options.delimiter ?? ',';
  const rows: { line: number; cells: string[] }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    rows.push({ line: i + 1, cells: splitLine(lines[i], delimiter, source, i + 1) });
  }
  if (rows.length === 0) throw new DataError(`${source}: the file has no rows`);
  const width = rows[0].cells.length;
  if (width < 2)
    throw new DataError(`${source}: line ${rows[0].line} has ${width} column; need features and a target`);
  for (const row of rows)
    if (row.cells.length !== width)
      throw new DataError(`${source}: line ${row.line} has ${row.cells.length} columns, expected ${width}`);

  const headerOption = options.header ?? 'auto';
  const hasHeader =
    headerOption === 'auto'
      ? rows[0].cells.some((c) => !isNumeric(c)) && rows.length > 1 && rows[1].cells.some((c) => isNumeric(c))
      : headerOption;
  const names = hasHeader ? rows[0].cells.map((c) => c.trim()) : rows[0].cells.map((_, i) => `column ${i}`);
  const body = hasHeader ? rows.slice(1) : rows;
  if (body.length === 0) throw new DataError(`${source}: the file has a header but no data rows`);

  const targetIndex = resolveTarget(options.target ?? -1, names, hasHeader, source);
  const featureColumns = names.map((_, i) => i).filter((i) => i !== targetIndex);
  const d = featureColumns.length;
  const data = new Float32Array(body.length * d);
  for (let r = 0; r < body.length; r++) {
    const { cells, line } = body[r];
    for (let k = 0; k < d; k++) {
      const c = featureColumns[k];
      const cell = cells[c].trim();
      const value = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(value))
        throw new DataError(
          `${source}: line ${line}, column ${c + 1} (${JSON.stringify(names[c])}): ${
            cell === '' ? 'empty cell' : `${JSON.stringify(cell)} is not a number`
          }`,
        );
      data[r * d + k] = value;
    }
  }

  const rawTargets = body.map((row) => row.cells[targetIndex].trim());
  const emptyAt = rawTargets.indexOf('');
  if (emptyAt >= 0)
    throw new DataError(`${source}: line ${body[emptyAt].line}, column ${targetIndex + 1}: empty target`);
  const distinct = [...new Set(rawTargets)];
  const allIntegers = distinct.every((t) => /^-?\d+$/.test(t));
  const classNames = allIntegers
    ? distinct.sort((a, b) => Number(a) - Number(b))
    : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(classNames.map((name, i) => [name, i]));
  const labels = Int32Array.from(rawTargets, (t) => index.get(t)!);
  return createDataset({
    name: options.name ?? source,
    data,
    numFeatures: d,
    labels,
    classNames,
    provenance: { source: `CSV file ${source}`, location: source },
  });
}

function resolveTarget(target: string | number, names: string[], hasHeader: boolean, source: string): number {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target >= names.length || target < -names.length)
      throw new InvalidArgumentError(
        `${source}: target column index ${target} is outside 0..${names.length - 1}`,
      );
    return target < 0 ? names.length + target : target;
  }
  if (/^-?\d+$/.test(target)) return resolveTarget(Number(target), names, hasHeader, source);
  if (!hasHeader)
    throw new InvalidArgumentError(`${source}: target "${target}" given by name but the file has no header`);
  const i = names.indexOf(target);
  if (i < 0)
    throw new InvalidArgumentError(`${source}: no column named "${target}" (columns: ${names.join(', ')})`);
  return i;
}

function isNumeric(cell: string): boolean {
  const t = cell.trim();
  return t !== '' && Number.isFinite(Number(t));
}

/** Splits one line, honouring double quotes ("" inside quotes is a quote). */
function splitLine(line: string, delimiter: string, source: string, lineNumber: number): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) {
      cells.push(cell);
      cell = '';
      i += delimiter.length - 1;
    } else cell += ch;
  }
  if (quoted) throw new DataError(`${source}: line ${lineNumber} has an unterminated quoted field`);
  cells.push(cell);
  return cells;
}
