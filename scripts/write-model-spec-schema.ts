/** Rewrites assets/model-spec.schema.json from the layer tables: `npx tsx scripts/write-model-spec-schema.ts`. */
import { writeFileSync } from 'node:fs';
import { modelSpecSchemaText } from '../src/models/spec/schema.js';

const file = new URL('../assets/model-spec.schema.json', import.meta.url);
writeFileSync(file, modelSpecSchemaText());
process.stdout.write(`wrote ${file.pathname}\n`);
