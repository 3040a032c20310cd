#!/usr/bin/env node
// Entry point of the `parsimony` command. Runs the compiled CLI from dist/ (built by `npm install`).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('error: parsimony is not built; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
// A closed pipe (`parsimony studies export ... | head`) ends output quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { runCli } = await import(compiled.href);
process.exitCode = await runCli(process.argv.slice(2));
