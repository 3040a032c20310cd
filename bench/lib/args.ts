/**
 * Command-line options for bench scripts: `--name value`, `--name=value` and bare `--flag`.
 * Unknown options are an error, so a typo does not silently run the default configuration.
 */

export class BenchArgs {
  private readonly values = new Map<string, string | true>();

  /** `known` lists every accepted option name (without dashes); `flags` those that take no value. */
  constructor(known: readonly string[], flags: readonly string[] = [], argv = process.argv.slice(2)) {
    const accepted = new Set([...known, ...flags]);
    const isFlag = new Set(flags);
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!accepted.has(name))
        throw new Error(
          `unknown option --${name}; accepted: ${[...accepted].map((n) => `--${n}`).join(' ')}`,
        );
      if (isFlag.has(name)) {
        if (eq >= 0) throw new Error(`--${name} takes no value`);
        this.values.set(name, true);
      } else if (eq >= 0) this.values.set(name, arg.slice(eq + 1));
      else {
        if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
        this.values.set(name, argv[++i]);
      }
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  string(name: string, fallback: string): string {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : fallback;
  }

  number(name: string, fallback: number): number {
    const v = this.values.get(name);
    if (typeof v !== 'string') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
    return n;
  }

  /** A positive integer option. */
  count(name: string, fallback: number): number {
    const n = this.number(name, fallback);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${n}`);
    return n;
  }

  /** A comma-separated list; empty items are dropped. */
  list(name: string, fallback: readonly string[]): string[] {
    const v = this.values.get(name);
    if (typeof v !== 'string') return [...fallback];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  /** Integers as `A-B` (inclusive), `a,b,c` or a single `n`. */
  integers(name: string, fallback: readonly number[]): number[] {
    const v = this.values.get(name);
    if (typeof v !== 'string') return [...fallback];
    return parseIntegers(v, `--${name}`);
  }
}

/** Parses `A-B` (inclusive range), `a,b,c` or `n`, or a mix such as `0-3,7`. */
export function parseIntegers(text: string, what = 'value'): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`${what}: expected A-B, a,b,c or n, got "${text}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`${what}: empty range "${part.trim()}"`);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** The compact `A-B` form of consecutive integers (what optuna_suite.py's --seeds takes), else null. */
export function formatRange(values: readonly number[]): string | null {
  if (values.length === 0) return null;
  for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1] + 1) return null;
  return `${values[0]}-${values[values.length - 1]}`;
}
