#!/usr/bin/env node
// Entry point of the `parsimony` command. Runs the compiled CLI from dist/ (built by `npm install`).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('error: parsimony is not built; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
await import(compiled.href);
