// Runs the CLI in-process, capturing what it prints; returns the exit code runCli gives.
import { runCli } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/output.js';

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
