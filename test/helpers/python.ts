/**
 * Finding a Python interpreter for tests: `python3` on PATH, else Debian's /usr/bin/python3 (where
 * apt's python3-sklearn and python3-optuna live when PATH has another Python first). A test that
 * needs Python skips when none fits, except under CI, which installs them: there it fails.
 */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

const CANDIDATES = ['python3', '/usr/bin/python3'];

export interface Python {
  /** Absolute path of the interpreter. */
  executable: string;
  /** Its directory, to put first in a trial's PATH so that `python3` there is this one. */
  binDir: string;
}

/** The first interpreter that imports every module, or null. */
export function findPython(modules: readonly string[] = []): Python | null {
  const imports = modules.map((m) => `import ${m}\n`).join('');
  for (const candidate of CANDIDATES) {
    const r = spawnSync(candidate, ['-c', `${imports}import sys\nprint(sys.executable)`], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      const executable = r.stdout.trim();
      return { executable, binDir: dirname(executable) };
    }
  }
  return null;
}

/** `false` when a Python with the modules exists; a skip reason otherwise; throws under CI. */
export function skipWithoutPython(
  modules: readonly string[],
  debianPackages: readonly string[],
): false | string {
  if (findPython(modules)) return false;
  const reason = `needs python3 with ${modules.join(', ') || 'no extra modules'} (apt-get install ${debianPackages.join(' ')})`;
  if (process.env.CI) throw new Error(`under CI no test may skip: ${reason}`);
  return reason;
}
