/** Collects the ParsimonyWarnings (src/core/warnings.ts) emitted while `fn` runs. */
import { WARNING_TYPE, type WarningCode } from '../../src/core/warnings.js';

export interface CapturedWarning {
  code: WarningCode;
  message: string;
}

export async function captureWarnings<T>(
  fn: () => Promise<T> | T,
): Promise<{ result: T; warnings: CapturedWarning[] }> {
  // process.emitWarning delivers on a later tick; a run without I/O (memory storage) can end before
  // that, so let earlier code's warnings arrive before listening.
  await new Promise((resolve) => setImmediate(resolve));
  const warnings: CapturedWarning[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.name === WARNING_TYPE) warnings.push({ code: w.code as WarningCode, message: w.message });
  };
  process.on('warning', listener);
  try {
    const result = await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return { result, warnings };
  } finally {
    process.off('warning', listener);
  }
}
