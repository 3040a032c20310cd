/**
 * Running the Python anchors (`../shared/anchors/*.py` from the repository root) from a bench:
 * locate the interpreter, check a module imports, and stream a script's JSON-lines output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Debian's interpreter, where apt-installed python3-optuna / python3-torch live (another Python
 * may come first on PATH); PARSIMONY_PYTHON names another.
 */
export const SYSTEM_PYTHON = process.env.PARSIMONY_PYTHON || '/usr/bin/python3';
/** The shared anchors sit next to the repository: `<repository>/../shared/anchors`. */
export const ANCHORS_DIR = fileURLToPath(new URL('../../../shared/anchors', import.meta.url));

/**
 * Stops a bench whose Python side cannot run, with one line naming the Debian packages to install,
 * instead of a Python traceback halfway through. `modules` maps a module to its Debian package.
 */
export function requirePythonModules(bench: string, modules: Record<string, string>): void {
  const missing = Object.entries(modules).filter(([module]) => pythonModuleVersion(module) === null);
  if (missing.length === 0) return;
  process.stderr.write(
    `${bench}: ${SYSTEM_PYTHON} cannot import ${missing.map(([m]) => m).join(', ')}: apt-get install ${missing.map(([, p]) => p).join(' ')} (or set PARSIMONY_PYTHON to a Python that has them)\n`,
  );
  process.exit(1);
}

/** The version of `module` importable by `python`, or null when Python or the module is absent. */
export function pythonModuleVersion(module: string, python = SYSTEM_PYTHON): string | null {
  if (!existsSync(python)) return null;
  const r = spawnSync(python, ['-c', `import ${module}; print(getattr(${module}, '__version__', '?'))`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface JsonLinesOptions {
  python?: string;
  cwd?: string;
  /** Called with each parsed record as it arrives (progress reports). */
  onRecord?: (record: Record<string, unknown>) => void;
  /** Lines that are not JSON objects go here (default: ignored). */
  onOtherLine?: (line: string) => void;
}

/**
 * Runs `python script args...`, parsing every stdout line that is a JSON object. Resolves with the
 * records when the process exits 0; rejects with its stderr otherwise.
 */
export function runPythonJsonLines(
  script: string,
  args: readonly string[],
  options: JsonLinesOptions = {},
): Promise<Record<string, unknown>[]> {
  const python = options.python ?? SYSTEM_PYTHON;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const records: Record<string, unknown>[] = [];
    let pending = '';
    let stderr = '';
    const handle = (line: string) => {
      const text = line.trim();
      if (text.length === 0) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        options.onOtherLine?.(text);
        return;
      }
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const record = parsed as Record<string, unknown>;
        records.push(record);
        options.onRecord?.(record);
      } else options.onOtherLine?.(text);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        handle(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      handle(pending);
      if (code === 0) resolve(records);
      else
        reject(
          new Error(
            `${python} ${script} ${args.join(' ')} exited with ${code ?? signal}\n${stderr.trim().split('\n').slice(-20).join('\n')}`,
          ),
        );
    });
  });
}
