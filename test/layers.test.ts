/** The import directions between the folders of src/ (scripts/layers.json) hold, and the check bites. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { layerCycle, layerViolations } from '../scripts/check-layers.mjs';

type Rules = { allowed: Record<string, string[]> };
const root = join(import.meta.dirname, '..');
const rules: Rules = JSON.parse(readFileSync(join(root, 'scripts', 'layers.json'), 'utf8'));

describe('layering of src/', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'parsimony-layers-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('every import between folders goes in an allowed direction', () => {
    assert.deepEqual(layerViolations(join(root, 'src'), rules), []);
  });

  it('the allowed directions have no cycle, and the core imports no other folder', () => {
    assert.equal(layerCycle(rules), null);
    assert.deepEqual(rules.allowed.core, []);
    assert.deepEqual(layerCycle({ allowed: { a: ['b'], b: ['c'], c: ['a'] } }), ['a', 'b', 'c', 'a']);
  });

  it('reports a forbidden import of any form, a folder missing from the rules, and ignores comments', () => {
    const src = join(scratch, 'src');
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), text);
    };
    write('index.ts', "export * from './cli/main.js';\n");
    write('core/a.ts', "// import { x } from '../cli/main.js';\nexport const a = 1;\n");
    write('core/nested/b.ts', "import type { M } from '../../cli/main.js';\nexport type B = M;\n");
    write('core/c.ts', "export const c = () => import('../samplers/s.js');\n");
    write('core/d.ts', "export { s } from '../samplers/s.js';\nimport '../samplers/s.js';\n");
    write('samplers/s.ts', "import { a } from '../core/a.js';\nexport const s = a;\n");
    write('cli/main.ts', "import { s } from '../samplers/s.js';\nexport type M = typeof s;\n");
    write('extra/e.ts', "import { a } from '../core/a.js';\n");
    const problems: string[] = layerViolations(src, {
      allowed: { core: [], samplers: ['core'], cli: ['samplers'] },
    });
    assert.deepEqual(problems.sort(), [
      'core/c.ts imports ../samplers/s.js: core may not import samplers',
      'core/d.ts imports ../samplers/s.js: core may not import samplers',
      'core/d.ts imports ../samplers/s.js: core may not import samplers',
      'core/nested/b.ts imports ../../cli/main.js: core may not import cli',
      'extra/e.ts: folder "extra" is not in the layering rules',
    ]);
  });
});
