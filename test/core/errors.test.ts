/**
 * Every user error is the ParsimonyError subclass of its code, and the source keeps it so: no
 * `new ParsimonyError(...)` at a call site, and no plain Error thrown without a comment on the line
 * above saying why it is not a user error.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import {
  ERROR_CLASSES,
  type ErrorCode,
  errorFromRecord,
  InvalidArgumentError,
  isParsimonyError,
  ParsimonyError,
  TrialFinishedError,
} from '../../src/core/errors.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : /\.ts$/.test(name) ? [path] : [];
    });
}

/** `path:line: text` for each throw of a built-in error class not explained on the line above. */
export function unexplainedPlainErrors(files: readonly string[], root: string): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!/\bnew (Error|TypeError|RangeError|SyntaxError)\(/.test(line)) return;
      if (/not a user error: \S/.test(lines[i - 1] ?? '')) return;
      found.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

describe('errors', () => {
  it('has one class per code, each carrying its own code', () => {
    const codes = Object.keys(ERROR_CLASSES) as ErrorCode[];
    const classes = new Set(Object.values(ERROR_CLASSES));
    assert.equal(classes.size, codes.length, 'two codes share a class');
    for (const code of codes) {
      const ErrorClass = ERROR_CLASSES[code] as unknown as new (message: string) => ParsimonyError;
      const error = new ErrorClass('x');
      assert.equal(error.code, code, `${ErrorClass.name} carries ${error.code}, not ${code}`);
      assert.ok(error instanceof ParsimonyError, `${ErrorClass.name} is a ParsimonyError`);
      assert.equal(error.name, ErrorClass.name);
    }
  });

  it('rebuilds an error sent across a thread under its class, or as a plain Error without a code', () => {
    const rebuilt = errorFromRecord({
      name: 'TrialFinishedError',
      message: 'trial 3 is FAIL',
      code: 'TRIAL_FINISHED',
    });
    assert.ok(rebuilt instanceof TrialFinishedError, 'rebuilt under its class');
    assert.equal(rebuilt.message, 'trial 3 is FAIL');
    const plain = errorFromRecord({ name: 'RangeError', message: 'diverged' });
    assert.equal(isParsimonyError(plain), false);
    assert.deepEqual([plain.name, plain.message], ['RangeError', 'diverged']);
  });

  it('no call site constructs ParsimonyError itself', () => {
    const offenders = sourceFiles(SRC).filter((f) => /new ParsimonyError\(/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(
      offenders.map((f) => relative(SRC, f)),
      [],
    );
  });

  it('every plain Error in src/ says on the line above why it is not a user error', () => {
    assert.deepEqual(unexplainedPlainErrors(sourceFiles(SRC), SRC), []);
  });

  it('the scan catches a plain Error and accepts an explained one', () => {
    const error = new InvalidArgumentError('x');
    assert.ok(isParsimonyError(error), 'subclasses are ParsimonyErrors');
    const dir = import.meta.dirname;
    const probe = join(dir, '..', 'fixtures', 'errors-probe.ts.txt');
    // The probe is read as text, so it lives beside the fixtures without being compiled.
    assert.deepEqual(
      unexplainedPlainErrors([probe], dir).map((l) => l.replace(/^.*?:(\d+):.*$/, '$1')),
      ['2', '7'],
    );
  });
});
