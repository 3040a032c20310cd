/**
 * Notes and tags the dashboard writes with `--allow-write`. Finished trials never change in a
 * storage, so a trial's note and tags are kept, like the study's own, as user attributes of the
 * study, under keys that name the trial: `dashboard:note`, `dashboard:tags`,
 * `dashboard:trial:<number>:note`, `dashboard:trial:<number>:tags`. An empty note or tag list
 * clears them (storages cannot delete an attribute).
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface Annotations {
  note: string;
  tags: string[];
}

export const MAX_NOTE_LENGTH = 10_000;
export const MAX_TAGS = 32;
const TAG = /^[\p{L}\p{N}_.:+-]{1,64}$/u;

export function annotationKeys(trial: number | null): { note: string; tags: string } {
  const prefix = trial === null ? 'dashboard:' : `dashboard:trial:${trial}:`;
  return { note: `${prefix}note`, tags: `${prefix}tags` };
}

/** The note and tags of the study (trial null) or one of its trials, from the study's user attributes. */
export function readAnnotations(userAttrs: Record<string, unknown>, trial: number | null): Annotations {
  const keys = annotationKeys(trial);
  const note = userAttrs[keys.note];
  const tags = userAttrs[keys.tags];
  return {
    note: typeof note === 'string' ? note : '',
    tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
  };
}

/** Checks a request body `{ trial?, note?, tags? }`; what is absent is left as it is. */
export function parseAnnotationBody(body: unknown): {
  trial: number | null;
  note?: string;
  tags?: string[];
} {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidArgumentError('request body must be a JSON object { trial?, note?, tags? }');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b))
    if (key !== 'trial' && key !== 'note' && key !== 'tags')
      throw new InvalidArgumentError(`unknown field "${key}" (expected trial, note, tags)`);
  const trial = b.trial ?? null;
  if (trial !== null && (!Number.isInteger(trial) || (trial as number) < 0))
    throw new InvalidArgumentError('field "trial" must be a trial number (a non-negative integer) or null');
  const out: { trial: number | null; note?: string; tags?: string[] } = { trial: trial as number | null };
  if (b.note !== undefined) {
    if (typeof b.note !== 'string') throw new InvalidArgumentError('field "note" must be a string');
    if (b.note.length > MAX_NOTE_LENGTH)
      throw new InvalidArgumentError(`field "note" is longer than ${MAX_NOTE_LENGTH} characters`);
    out.note = b.note;
  }
  if (b.tags !== undefined) {
    if (!Array.isArray(b.tags)) throw new InvalidArgumentError('field "tags" must be an array of strings');
    if (b.tags.length > MAX_TAGS)
      throw new InvalidArgumentError(`field "tags" holds more than ${MAX_TAGS} tags`);
    const tags: string[] = [];
    for (const [i, tag] of b.tags.entries()) {
      if (typeof tag !== 'string' || !TAG.test(tag))
        throw new InvalidArgumentError(
          `tags[${i}] must be 1-64 letters, digits or _ . : + - (no spaces), got ${JSON.stringify(tag)}`,
        );
      if (!tags.includes(tag)) tags.push(tag);
    }
    out.tags = tags;
  }
  if (out.note === undefined && out.tags === undefined)
    throw new InvalidArgumentError('request body sets neither "note" nor "tags"');
  return out;
}
