/**
 * Rewrites assets/model-spec.schema.json from the layer tables, formatted as Biome formats JSON:
 * `npx tsx scripts/write-model-spec-schema.ts`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modelSpecSchemaText } from '../src/models/spec/schema.js';

const file = fileURLToPath(new URL('../assets/model-spec.schema.json', import.meta.url));
writeFileSync(file, modelSpecSchemaText());
const format = spawnSync('npx', ['biome', 'format', '--write', file], { stdio: 'inherit' });
if (format.status !== 0) process.exit(format.status ?? 1);
process.stdout.write(`wrote ${file}\n`);
