/**
 * Parsers for numeric command-line options: a bad value is a one-line usage error (exit 2) naming
 * the flag.
 */
import { UsageError } from '../core/errors.js';

export function parseIntegerOption(flag: string, min?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || (min !== undefined && n < min))
      throw new UsageError(
        `${flag} must be an integer${min === undefined ? '' : ` >= ${min}`}, got "${value}"`,
      );
    return n;
  };
}

export function parsePositiveNumberOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0) || !Number.isFinite(n))
      throw new UsageError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}
