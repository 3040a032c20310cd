import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('./temp-dir.ts', import.meta.url));

describe('tempDir', () => {
  it('removes its directories when the process exits, also after a failure', () => {
    for (const exit of ['process.exitCode = 0', 'throw new Error("boom")']) {
      const script = `import { tempDir } from ${JSON.stringify(HELPER)};
        const { writeFileSync } = await import('node:fs');
        const dir = tempDir('self-test');
        writeFileSync(dir + '/file.txt', 'x');
        console.log(dir);
        ${exit};`;
      const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      const dir = result.stdout.trim();
      assert.ok(dir.includes('parsimony-self-test-'), `the child printed its directory: ${result.stderr}`);
      assert.equal(existsSync(dir), false, `${dir} is left behind (${exit})`);
    }
  });
});
