/** Parsers for numeric command-line options: a bad value is a one-line error naming the flag. */
import { InvalidArgumentError } from '../core/errors.js';

export function parseIntegerOption(flag: string, min?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || (min !== undefined && n < min))
      throw new InvalidArgumentError(
        `${flag} must be an integer${min === undefined ? '' : ` >= ${min}`}, got "${value}"`,
      );
    return n;
  };
}

export function parsePositiveNumberOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0) || !Number.isFinite(n))
      throw new InvalidArgumentError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}
