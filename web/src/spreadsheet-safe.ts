// The server's own rule, shared rather than copied: one place decides what a spreadsheet would run.
import { neutraliseFormula } from '../../src/codecs/csv/spreadsheet-safe.ts';

/** One CSV line for a file meant for a spreadsheet: formulas neutralised, then quoted when needed. */
export function csvLine(cells: string[]): string {
  return cells
    .map((cell) => {
      const safe = neutraliseFormula(cell);
      return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
    })
    .join(',');
}
