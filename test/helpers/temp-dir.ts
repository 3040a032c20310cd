/**
 * Temporary directories for tests, removed when the test process exits (each test file runs in its
 * own process), whether its tests passed or failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];
let hooked = false;

/** A fresh directory under the system's temporary directory, named `parsimony-<label>-XXXXXX`. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parsimony-${label}-`));
  created.push(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeTempDirs);
  }
  return dir;
}

/** Removes every directory tempDir made so far (also called on exit). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}
