/**
 * The process entry of the `parsimony` command: runs the CLI on this process's arguments and sets
 * the exit code. `bin/parsimony.js` loads the compiled copy from dist/; tests run this file through
 * tsx, so they exercise the current source.
 */
import { runCli } from './main.js';

// A closed pipe (`parsimony studies export ... | head`) ends output quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await runCli(process.argv.slice(2));
