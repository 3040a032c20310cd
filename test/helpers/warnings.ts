/** Collects the ParsimonyWarnings (src/core/warnings.ts) emitted while `fn` runs. */
import { WARNING_TYPE, type WarningCode } from '../../src/core/warnings.js';

export interface CapturedWarning {
  code: WarningCode;
  message: string;
}

export async function captureWarnings<T>(
  fn: () => Promise<T> | T,
): Promise<{ result: T; warnings: CapturedWarning[] }> {
  const warnings: CapturedWarning[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.name === WARNING_TYPE) warnings.push({ code: w.code as WarningCode, message: w.message });
  };
  process.on('warning', listener);
  try {
    const result = await fn();
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return { result, warnings };
  } finally {
    process.off('warning', listener);
  }
}
