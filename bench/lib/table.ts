/** Markdown tables and number formatting for bench reports. */

export type Align = 'left' | 'right';

/**
 * A GitHub-flavoured Markdown table. Columns are padded so the raw text lines up too; `align`
 * defaults to left for the first column and right for the others.
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  const cols = headers.length;
  for (const row of rows)
    if (row.length !== cols)
      throw new Error(`table row has ${row.length} cells, expected ${cols}: ${row.join(' | ')}`);
  const aligns = headers.map((_, i) => align?.[i] ?? (i === 0 ? 'left' : 'right'));
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const widths = headers.map((h, i) => Math.max(3, cell(h).length, ...rows.map((r) => cell(r[i]).length)));
  const pad = (s: string, i: number) =>
    aligns[i] === 'right' ? cell(s).padStart(widths[i]) : cell(s).padEnd(widths[i]);
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (aligns[i] === 'right' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * A number with `digits` significant digits, without exponent for ordinary magnitudes; "—" for
 * missing values (undefined, null, NaN).
 */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e7) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
    return x.toFixed(Math.min(decimals, 12));
  }
  return x.toExponential(digits - 1);
}

/** A fraction as a percentage with two decimals ("83.72%"); "-" when missing. */
export function pct(x: number | null | undefined): string {
  return x == null ? '-' : `${(100 * x).toFixed(2)}%`;
}

/** Milliseconds with a precision that suits their size. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}
