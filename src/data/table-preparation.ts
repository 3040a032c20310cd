/**
 * Turning a CSV table with categorical columns and missing cells into numbers, fitted on the
 * training rows only and stored as plain JSON so prediction applies exactly the same steps.
 *
 * - A cell is missing when it is empty, `NA` or `?` (after trimming).
 * - A column is numeric when every non-missing training cell is a number; otherwise categorical.
 * - Numeric: missing cells take the training median.
 * - Categorical with at most `maxOneHotLevels` levels (default 10): one-hot, one column per level
 *   (levels sorted); above that, ordinal: one column holding the level's index in sorted order.
 *   Missing cells take the most frequent training level (ties: the first in sorted order).
 * - Every column with a missing training cell gets an indicator column (1 when missing), after
 *   its own columns.
 * - At prediction time, a category not seen in training is a row of zeros in a one-hot column
 *   (no known level) and the most frequent level in an ordinal column; a non-number in a numeric
 *   column is an error naming the row and column.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataError, FileNotFoundError, InvalidArgumentError } from '../core/errors.js';
import { type CsvTable, parseNumber } from './csv.js';
import { createDataset, type Dataset } from './dataset.js';
import { type DataSplits, type SplitOptions, trainValTestSplit } from './transforms.js';

export const MISSING_TOKENS: readonly string[] = ['', 'NA', '?'];

export function isMissing(cell: string): boolean {
  return MISSING_TOKENS.includes(cell.trim());
}

export type ColumnPreparation =
  | { name: string; kind: 'numeric'; median: number; indicator: boolean }
  | {
      name: string;
      kind: 'one-hot' | 'ordinal';
      levels: string[];
      mostFrequent: string;
      indicator: boolean;
    };

/** A fitted preparation: plain data, saved as JSON beside the model. */
export interface TablePreparation {
  format: 'parsimony-table-preparation';
  version: 1;
  columns: ColumnPreparation[];
  /** Names of the output features, in order. */
  outputNames: string[];
}

export interface TablePreparationOptions {
  /** Categorical columns with more levels than this are ordinal-coded (default 10). */
  maxOneHotLevels?: number;
}

function columnName(table: Pick<CsvTable, 'featureNames'>, k: number): string {
  return table.featureNames[k] !== '' ? table.featureNames[k] : `column_${k + 1}`;
}

/** Fits the preparation on `rows` of the table (the training split's row indices; default all rows). */
export function fitTablePreparation(
  table: CsvTable,
  rows?: ArrayLike<number>,
  options: TablePreparationOptions = {},
): TablePreparation {
  const maxLevels = options.maxOneHotLevels ?? 10;
  if (!Number.isInteger(maxLevels) || maxLevels < 1)
    throw new InvalidArgumentError(`maxOneHotLevels must be a positive integer, got ${maxLevels}`);
  const indices = rows ? Array.from(rows) : table.cells.map((_, r) => r);
  if (indices.length === 0) throw new InvalidArgumentError(`${table.source}: no training rows to fit on`);
  const columns: ColumnPreparation[] = [];
  const outputNames: string[] = [];
  for (let k = 0; k < table.featureNames.length; k++) {
    const name = columnName(table, k);
    const present: string[] = [];
    let missing = 0;
    for (const r of indices) {
      const cell = table.cells[r][k];
      if (isMissing(cell)) missing++;
      else present.push(cell);
    }
    if (present.length === 0)
      throw new DataError(
        `${table.source}: ${table.featureLabels[k]} has no value in the ${indices.length} training rows; nothing to impute from`,
      );
    const indicator = missing > 0;
    const numbers = present.map(parseNumber);
    let column: ColumnPreparation;
    if (numbers.every((v) => v !== undefined)) {
      const sorted = (numbers as number[]).sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      column = { name, kind: 'numeric', median, indicator };
      outputNames.push(name);
    } else {
      const counts = new Map<string, number>();
      for (const cell of present) counts.set(cell, (counts.get(cell) ?? 0) + 1);
      const levels = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      let mostFrequent = levels[0];
      for (const level of levels)
        if ((counts.get(level) ?? 0) > (counts.get(mostFrequent) ?? 0)) mostFrequent = level;
      const kind = levels.length <= maxLevels ? 'one-hot' : 'ordinal';
      column = { name, kind, levels, mostFrequent, indicator };
      if (kind === 'one-hot') for (const level of levels) outputNames.push(`${name}=${level}`);
      else outputNames.push(name);
    }
    if (indicator) outputNames.push(`${name}_missing`);
    columns.push(column);
  }
  return { format: 'parsimony-table-preparation', version: 1, columns, outputNames };
}

function width(column: ColumnPreparation): number {
  return (column.kind === 'one-hot' ? column.levels.length : 1) + (column.indicator ? 1 : 0);
}

/**
 * Applies a fitted preparation to rows of a table with the same feature columns (default all
 * rows), giving a dataset of `preparation.outputNames.length` features.
 */
export function applyTablePreparation(
  preparation: TablePreparation,
  table: CsvTable,
  rows?: ArrayLike<number>,
  name = table.name,
): Dataset {
  checkPreparation(preparation);
  if (table.featureNames.length !== preparation.columns.length)
    throw new DataError(
      `${table.source}: ${table.featureNames.length} feature columns, but the preparation was fitted on ${preparation.columns.length}`,
    );
  const indices = rows ? Array.from(rows) : table.cells.map((_, r) => r);
  const d = preparation.outputNames.length;
  const data = new Float32Array(indices.length * d);
  const levelIndex = preparation.columns.map((c) =>
    c.kind === 'numeric' ? undefined : new Map(c.levels.map((level, i) => [level, i])),
  );
  indices.forEach((r, out) => {
    let offset = out * d;
    preparation.columns.forEach((column, k) => {
      const cell = table.cells[r][k];
      const missing = isMissing(cell);
      if (column.kind === 'numeric') {
        let value = column.median;
        if (!missing) {
          const parsed = parseNumber(cell);
          if (parsed === undefined)
            throw new DataError(
              `${table.source}: line ${table.lines[r]}, ${table.featureLabels[k]}: ${JSON.stringify(cell)} is not a number`,
            );
          value = parsed;
        }
        data[offset] = value;
      } else {
        const index = levelIndex[k] as Map<string, number>;
        const level = missing ? column.mostFrequent : cell;
        const code = index.get(level);
        if (column.kind === 'one-hot') {
          // An unseen category sets no level.
          if (code !== undefined) data[offset + code] = 1;
        } else data[offset] = code ?? (index.get(column.mostFrequent) as number);
      }
      if (column.indicator && missing) data[offset + width(column) - 1] = 1;
      offset += width(column);
    });
  });
  return createDataset({
    name,
    data,
    numFeatures: d,
    labels: Int32Array.from(indices, (r) => table.labels[r]),
    classNames: table.classNames,
    provenance: table.provenance,
  });
}

/** Checks a preparation read from JSON (a one-line error naming the field). */
export function checkPreparation(value: unknown): asserts value is TablePreparation {
  const p = value as Partial<TablePreparation> | null;
  if (p?.format !== 'parsimony-table-preparation' || p.version !== 1)
    throw new DataError('table preparation: format must be "parsimony-table-preparation", version 1');
  if (!Array.isArray(p.columns) || !Array.isArray(p.outputNames))
    throw new DataError('table preparation: columns and outputNames must be arrays');
  let total = 0;
  p.columns.forEach((c: ColumnPreparation, k: number) => {
    if (c.kind === 'numeric') {
      if (typeof c.median !== 'number' || !Number.isFinite(c.median))
        throw new DataError(`table preparation: column ${k + 1} "${c.name}": median must be a finite number`);
    } else if (c.kind === 'one-hot' || c.kind === 'ordinal') {
      if (!Array.isArray(c.levels) || c.levels.length === 0 || !c.levels.includes(c.mostFrequent))
        throw new DataError(
          `table preparation: column ${k + 1} "${c.name}": levels must be a non-empty list holding mostFrequent`,
        );
    } else
      throw new DataError(
        `table preparation: column ${k + 1}: kind must be numeric, one-hot or ordinal, got ${JSON.stringify((c as { kind?: unknown }).kind)}`,
      );
    total += width(c);
  });
  if (total !== p.outputNames.length)
    throw new DataError(
      `table preparation: the columns make ${total} features, but outputNames lists ${p.outputNames.length}`,
    );
}

/** The JSON text of a preparation (saved beside the model, e.g. as preparation.json). */
export function serializePreparation(preparation: TablePreparation): string {
  return `${JSON.stringify(preparation, null, 2)}\n`;
}

/** Reads a preparation from its JSON text, checking its fields. */
export function parsePreparation(text: string, source = 'preparation.json'): TablePreparation {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${source}: not JSON (${(error as Error).message})`, { cause: error });
  }
  checkPreparation(value);
  return value;
}

export const PREPARATION_FILE = 'preparation.json';

/** Writes the preparation into a model directory (beside the spec and weights). */
export function writePreparation(directory: string, preparation: TablePreparation): string {
  checkPreparation(preparation);
  const file = path.join(directory, PREPARATION_FILE);
  writeFileSync(file, serializePreparation(preparation));
  return file;
}

/** Reads the preparation saved in a model directory. */
export function readPreparation(directory: string): TablePreparation {
  const file = path.join(directory, PREPARATION_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'table preparation', { cause: error });
    throw new DataError(`${file}: cannot read (${(error as Error).message})`, { cause: error });
  }
  return parsePreparation(text, file);
}

/**
 * Splits a table into train, validation and test parts (stratified, seeded, as
 * `trainValTestSplit`), fits the preparation on the training rows only and applies it to each part.
 */
export function prepareTableSplits(
  table: CsvTable,
  options: SplitOptions & TablePreparationOptions = {},
): DataSplits & { preparation: TablePreparation } {
  // The split depends only on the labels: split a stand-in dataset of one zero feature per row.
  const standIn = createDataset({
    name: table.name,
    data: new Float32Array(table.labels.length),
    numFeatures: 1,
    labels: table.labels,
    classNames: table.classNames,
    provenance: table.provenance,
  });
  const { indices } = trainValTestSplit(standIn, options);
  const preparation = fitTablePreparation(table, indices.train, options);
  return {
    train: applyTablePreparation(preparation, table, indices.train, `${table.name} (train)`),
    validation: applyTablePreparation(preparation, table, indices.validation, `${table.name} (validation)`),
    test: applyTablePreparation(preparation, table, indices.test, `${table.name} (test)`),
    indices,
    preparation,
  };
}
