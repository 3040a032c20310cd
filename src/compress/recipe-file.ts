/**
 * Recipe files for `parsimony compress --recipe`: YAML (or JSON, which is YAML) with a list of
 * steps, each a method name and its options side by side:
 *
 *   steps:
 *     - method: global
 *       sparsity: 0.92
 *       schedule: agp
 *     - method: cluster
 *       convBits: 5
 *       denseBits: 4
 *     - method: huffman
 *
 * The file's shape is checked here (one line naming the file and step); the options of each step
 * are checked by its method when the whole recipe is validated, before any training.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { FileNotFoundError, RecipeError } from '../core/errors.js';
import type { Recipe } from './pipeline.js';

export function parseRecipe(text: string, file: string): Recipe {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const first = String((error as Error).message).split('\n')[0];
    throw new RecipeError(`${file}: not valid YAML (${first})`, { cause: error });
  }
  const steps = Array.isArray(document)
    ? document
    : typeof document === 'object' && document !== null
      ? (document as Record<string, unknown>).steps
      : undefined;
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    const extra = Object.keys(document).filter((k) => k !== 'steps');
    if (extra.length > 0)
      throw new RecipeError(`${file}: unknown field "${extra[0]}" (a recipe has "steps")`);
  }
  if (!Array.isArray(steps) || steps.length === 0)
    throw new RecipeError(`${file}: "steps" must be a non-empty list of steps`);
  return steps.map((step, i) => {
    if (typeof step !== 'object' || step === null || Array.isArray(step))
      throw new RecipeError(`${file}: step ${i + 1} must be a mapping with a "method"`);
    const { method, ...options } = step as Record<string, unknown>;
    if (typeof method !== 'string' || method === '')
      throw new RecipeError(`${file}: step ${i + 1} has no "method"`);
    return { method, options };
  });
}

export async function readRecipe(file: string): Promise<Recipe> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(file, 'recipe', { cause: error });
    throw error;
  }
  return parseRecipe(text, file);
}
