/**
 * The UCI handwritten digits (8x8 images, grey levels 0..16, 1797 samples, classes 0..9),
 * embedded in the package as assets/datasets/digits.csv.gz: 64 pixel values then the class on
 * each line, no header. See assets/datasets/README.md for its provenance.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataError, FileNotFoundError } from '../core/errors.js';
import { createDataset, type Dataset, type Provenance } from './dataset.js';

/** Resolves from src/data (tsx) and dist/data (compiled) alike: both sit two levels below the package root. */
export const DIGITS_PATH = fileURLToPath(new URL('../../assets/datasets/digits.csv.gz', import.meta.url));

export const DIGITS_CLASSES: readonly string[] = Object.freeze([
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);

export const DIGITS_PROVENANCE: Omit<Provenance, 'location'> = Object.freeze({
  source:
    'Optical Recognition of Handwritten Digits (UCI Machine Learning Repository), test part, ' +
    'as shipped by scikit-learn 1.2.1 (Debian package python3-sklearn)',
  citation:
    'Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits. ' +
    'UCI Machine Learning Repository. https://doi.org/10.24432/C50P49',
  license: 'CC BY 4.0',
});

const PIXELS = 64;

/** Loads the embedded digits: 1797 samples of 64 values 0..16, feature shape [8, 8, 1]. */
export function loadDigits(): Dataset {
  let compressed: Buffer;
  try {
    compressed = readFileSync(DIGITS_PATH);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(DIGITS_PATH, 'embedded digits data (is the assets directory installed?)');
    throw error;
  }
  const text = gunzipSync(compressed).toString('latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const data = new Float32Array(lines.length * PIXELS);
  const labels = new Int32Array(lines.length);
  for (let r = 0; r < lines.length; r++) {
    const cells = lines[r].split(',');
    if (cells.length !== PIXELS + 1)
      throw new DataError(`${DIGITS_PATH}: line ${r + 1} has ${cells.length} fields, expected ${PIXELS + 1}`);
    for (let c = 0; c <= PIXELS; c++) {
      const value = cells[c] === '' ? Number.NaN : Number(cells[c]);
      if (!Number.isInteger(value) || value < 0 || value > (c < PIXELS ? 16 : 9))
        throw new DataError(
          `${DIGITS_PATH}: line ${r + 1}, column index ${c}: unexpected value "${cells[c]}"`,
        );
      if (c < PIXELS) data[r * PIXELS + c] = value;
      else labels[r] = value;
    }
  }
  return createDataset({
    name: 'digits',
    data,
    numFeatures: PIXELS,
    labels,
    classNames: DIGITS_CLASSES,
    featureShape: [8, 8, 1],
    provenance: { ...DIGITS_PROVENANCE, location: DIGITS_PATH },
  });
}
