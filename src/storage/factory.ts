/** Builds a storage from a URL, so the CLI, YAML files and the API name storages the same way. */
import { InvalidArgumentError } from '../core/errors.js';
import { InMemoryStorage } from './memory.js';
import type { Storage } from './storage.js';

export type StorageInput = Storage | string | undefined;

export async function createStorage(url: string): Promise<Storage> {
  const trimmed = url.trim();
  if (trimmed === 'memory:' || trimmed === 'memory') return new InMemoryStorage();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  throw new InvalidArgumentError(
    scheme
      ? `unsupported storage URL scheme "${scheme}:" in ${JSON.stringify(url)} (supported: memory:)`
      : `not a storage URL: ${JSON.stringify(url)} (expected e.g. memory:)`,
  );
}

export async function resolveStorage(input: StorageInput): Promise<Storage> {
  if (input === undefined) return new InMemoryStorage();
  if (typeof input === 'string') return createStorage(input);
  return input;
}
