#!/usr/bin/env node
// Checks that every import between the folders of src/ goes in a direction scripts/layers.json
// allows. Imports are read with TypeScript's own pre-parser (static, type-only, re-exports and
// dynamic `import()` alike), so comments and strings never count. Usage: node scripts/check-layers.mjs
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The top folder of src/ a file belongs to; files directly in src/ (index.ts) are the root. */
function folderOf(srcDir, file) {
  const parts = relative(srcDir, file).split(sep);
  return parts.length === 1 ? '.' : parts[0];
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

/**
 * Every import of a folder that the rules do not allow, as readable lines, plus folders the rules
 * do not name (a new folder must be placed in the layering before it may import anything).
 * `rules.allowed[folder]` lists the folders `folder` may import; `rules.root` may import any.
 */
export function layerViolations(srcDir, rules) {
  const problems = [];
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    if (from === '.') continue; // the package's entry point re-exports every layer
    const allowed = rules.allowed[from];
    if (allowed === undefined) {
      problems.push(`${relative(srcDir, file)}: folder "${from}" is not in the layering rules`);
      continue;
    }
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages are not layers
      const target = resolve(dirname(file), fileName);
      const to = folderOf(srcDir, target);
      if (to === from) continue;
      if (to === '.' || to === '..' || !allowed.includes(to))
        problems.push(`${relative(srcDir, file)} imports ${fileName}: ${from} may not import ${to}`);
    }
  }
  return problems;
}

/** A cycle among the allowed directions (as folder names, first repeated last), or null. */
export function layerCycle(rules) {
  const state = new Map();
  const visit = (folder, path) => {
    if (state.get(folder) === 'done') return null;
    if (state.get(folder) === 'open') return [...path.slice(path.indexOf(folder)), folder];
    state.set(folder, 'open');
    for (const next of rules.allowed[folder] ?? []) {
      const cycle = visit(next, [...path, folder]);
      if (cycle) return cycle;
    }
    state.set(folder, 'done');
    return null;
  };
  for (const folder of Object.keys(rules.allowed)) {
    const cycle = visit(folder, []);
    if (cycle) return cycle;
  }
  return null;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rules = JSON.parse(readFileSync(join(root, 'scripts', 'layers.json'), 'utf8'));
  const cycle = layerCycle(rules);
  const problems = layerViolations(join(root, 'src'), rules);
  if (cycle) problems.push(`scripts/layers.json allows a cycle: ${cycle.join(' -> ')}`);
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log('imports follow scripts/layers.json');
}
