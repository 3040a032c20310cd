/**
 * Runs storage code in separate Node processes, to test what threads cannot show: several
 * processes sharing one database file or server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** URL of a source module, for `import` in a generated child script. */
export function sourceUrl(relative: string): string {
  return pathToFileURL(join(ROOT, relative)).href;
}

const scriptDirs: string[] = [];
process.on('exit', () => {
  for (const dir of scriptDirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes an ES module script (TypeScript) to a temporary file (removed at exit) and returns its path. */
export function writeScript(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-child-'));
  scriptDirs.push(dir);
  const path = join(dir, 'child.mts');
  writeFileSync(path, source);
  return path;
}

export interface Child {
  /** Resolves with the stdout lines once the process exits (rejects on a non-zero exit). */
  done: Promise<string[]>;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves when the child has printed `count` lines. */
  waitForLines(count: number): Promise<void>;
  write(text: string): void;
  kill(signal: NodeJS.Signals): void;
}

export function startChild(script: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { count: number; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of [...waiters])
      if (lines.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<string[]>((resolveDone, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolveDone(lines);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
      for (const w of waiters) w.resolve();
    });
  });
  return {
    done,
    lines,
    waitForLines: (count) =>
      lines.length >= count ? Promise.resolve() : new Promise((r) => waiters.push({ count, resolve: r })),
    write: (text) => child.stdin.write(text),
    kill: (signal) => child.kill(signal),
  };
}

/**
 * Starts `n` processes on one storage URL that, released together, each create `perWorker` trials
 * (claiming a WAITING trial after each) and then claim WAITING trials until none is left.
 * Returns, per process, the numbers it created and the trial ids it claimed.
 */
export async function raceWorkers(
  url: string,
  studyName: string,
  n: number,
  perWorker: number,
): Promise<{ created: number[]; claimed: number[] }[]> {
  const script = writeScript(`
    import { createStorage } from ${JSON.stringify(sourceUrl('src/storage/factory.ts'))};
    const [url, studyName, count] = process.argv.slice(2);
    const storage = await createStorage(url);
    const studyId = await storage.getStudyIdFromName(studyName);
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const created = [];
    const claimed = [];
    for (let i = 0; i < Number(count); i++) {
      created.push((await storage.createTrial(studyId)).number);
      const trial = await storage.claimWaitingTrial(studyId);
      if (trial) claimed.push(trial.trialId);
    }
    for (;;) {
      const trial = await storage.claimWaitingTrial(studyId);
      if (!trial) break;
      claimed.push(trial.trialId);
    }
    process.stdout.write(JSON.stringify({ created, claimed }) + '\\n');
    await storage.close();
    process.stdin.destroy();
  `);
  const children = Array.from({ length: n }, () => startChild(script, [url, studyName, String(perWorker)]));
  await Promise.all(children.map((c) => c.waitForLines(1)));
  for (const c of children) c.write('go\n');
  const outputs = await Promise.all(children.map((c) => c.done));
  return outputs.map((lines) => JSON.parse(lines[1]));
}
