/**
 * Reads a dataset in scikit-learn's bundled CSV layout (first line: samples, features, class
 * names; then one row of features and the class index per sample), as the shared wine and
 * breast-cancer files are written.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDataset, type Dataset } from '../../src/data/dataset.js';
import { REPO_ROOT } from './load.js';

export function loadSklearnCsv(relativePath: string, name: string): Dataset {
  const file = fileURLToPath(new URL(relativePath, `file://${REPO_ROOT}`));
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const [samplesText, featuresText, ...classNames] = lines[0].split(',');
  const samples = Number(samplesText);
  const features = Number(featuresText);
  if (lines.length - 1 !== samples)
    throw new Error(`${relativePath}: ${lines.length - 1} rows, header says ${samples}`);
  const data = new Float32Array(samples * features);
  const labels = new Int32Array(samples);
  for (let i = 0; i < samples; i++) {
    const cells = lines[i + 1].split(',').map(Number);
    if (cells.length !== features + 1)
      throw new Error(`${relativePath}: row ${i + 2} has ${cells.length} cells`);
    data.set(cells.slice(0, features), i * features);
    labels[i] = cells[features];
  }
  return createDataset({
    name,
    data,
    numFeatures: features,
    labels,
    classNames,
    provenance: { source: `scikit-learn's ${name} data`, location: relativePath },
  });
}
