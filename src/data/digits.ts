/** The UCI handwritten digits (8x8, 1797 samples), embedded in the package as the default data. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../core/errors.js';
import { createDataset, type Dataset } from './dataset.js';

/** Resolves from src/data (tsx) and dist/data (compiled) alike: both sit two levels below the root. */
export const DIGITS_PATH = fileURLToPath(new URL('../../assets/datasets/digits.csv.gz', import.meta.url));

export const DIGITS_PROVENANCE = {
  source:
    'Optical Recognition of Handwritten Digits (UCI), test part, as shipped by scikit-learn 1.2.1 (Debian python3-sklearn)',
  citation:
    'Alpaydin, E. and Kaynak, C. (1998). UCI Machine Learning Repository. https://doi.org/10.24432/C50P49',
  license: 'CC BY 4.0',
};

export function loadDigits(): Dataset {
  const text = gunzipSync(readFileSync(DIGITS_PATH)).toString('ascii');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const data = new Float32Array(lines.length * 64);
  const labels = new Int32Array(lines.length);
  for (let r = 0; r < lines.length; r++) {
    const cells = lines[r].split(',');
    if (cells.length !== 65)
      throw new DataError(`${DIGITS_PATH}: line ${r + 1} has ${cells.length} columns, expected 65`);
    for (let c = 0; c < 64; c++) data[r * 64 + c] = Number(cells[c]);
    labels[r] = Number(cells[64]);
  }
  return createDataset({
    name: 'digits',
    data,
    numFeatures: 64,
    labels,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    featureShape: [8, 8, 1],
    provenance: { ...DIGITS_PROVENANCE, location: DIGITS_PATH },
  });
}
