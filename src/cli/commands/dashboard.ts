/**
 * `parsimony dashboard --storage URL [--port 8080] [--host 127.0.0.1] [--allow-write]`: a web UI over
 * a storage, read-only unless --allow-write. The server module is loaded only when the command runs; the library never imports it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { CommandIO } from '../output.js';

export function registerDashboardCommand(program: Command, io: CommandIO): void {
  program
    .command('dashboard')
    .description(
      'serve a web dashboard of the studies in a storage (read-only and bound to 127.0.0.1 by default)',
    )
    .option(
      '--storage <url>',
      'sqlite:FILE, postgres://user@host/db, or a JSON export (json:FILE or FILE.json)',
    )
    .option(
      '--report <dir>',
      'an output directory of `parsimony compress` (or its report.json) to show; repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'address to bind; other machines can reach anything but 127.0.0.1', '127.0.0.1')
    .option(
      '--allow-write',
      'allow deleting studies and editing study and trial notes and tags from the page',
    )
    .action(
      async (opts: {
        storage?: string;
        report?: string[];
        port: string;
        host: string;
        allowWrite?: boolean;
      }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new InvalidArgumentError(`--port must be an integer in 0..65535, got "${opts.port}"`);
        const { startDashboard } = await import('../../dashboard/server.js');
        const dashboard = await startDashboard({
          storage: opts.storage,
          reports: opts.report,
          port,
          host: opts.host,
          log: io.stderr,
          allowWrite: opts.allowWrite === true,
        });
        io.stdout(`Parsimony dashboard: ${dashboard.url} (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            dashboard.close().then(resolve, resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    );
}
