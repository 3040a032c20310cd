// Runs the CLI in-process, capturing what it prints, or as a real child process on the current
// source (src/cli/bin.ts through tsx, never a possibly stale dist/).
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/output.js';

export const CLI_ENTRY = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function runCliCaptured(
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    stdout: (s) => (out += s.endsWith('\n') ? s : `${s}\n`),
    stderr: (s) => (err += s.endsWith('\n') ? s : `${s}\n`),
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

/** The arguments that start the CLI in a child node process. */
export function cliArgs(args: readonly string[]): string[] {
  // tsx by URL, so the child finds it from any working directory.
  return ['--import', TSX_LOADER, CLI_ENTRY, ...args];
}

/** Runs `parsimony ARGS` as a child process and waits for it. */
export function runCliProcess(
  args: readonly string[],
  options: SpawnSyncOptions = {},
): { code: number | null; signal: NodeJS.Signals | null; out: string; err: string } {
  const result = spawnSync(process.execPath, cliArgs(args), { encoding: 'utf8', ...options });
  return {
    code: result.status,
    signal: result.signal,
    out: String(result.stdout ?? ''),
    err: String(result.stderr ?? ''),
  };
}

/** Starts `parsimony ARGS` as a child process, for tests that signal it. */
export function spawnCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawn(process.execPath, cliArgs(args), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** How bad input must fail: a non-zero exit, one line on stderr matching `pattern`, nothing at `out`. */
export function assertRejected(r: { code: number; err: string }, pattern: RegExp, out: string): void {
  assert.notEqual(r.code, 0);
  assert.match(r.err, pattern);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.equal(existsSync(out), false, 'nothing written');
}
