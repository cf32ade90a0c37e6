import { once } from 'node:events';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AnalysisVariable } from '../../domain/analysis/analysis-variables.ts';
import { numericCell } from '../../domain/analysis/analysis-variables.ts';

/**
 * An analysis table on its way to a file: rows are spooled to a temporary file as they are read
 * (one JSON array per line), while the widths and numeric ranges the Stata and SPSS headers need
 * are counted; the encoders then read the spool once or twice. Memory holds one row at a time.
 * The spool is encrypted with a key that lives only in this process (AES-256-CTR), so the
 * plaintext of a password-protected export never reaches the disk.
 */

/** A spooled row: the org unit's ancestors' names by level, then one cell per fixed column. */
export type SpooledRow = [levels: string[], ...cells: (string | null)[]];

export interface ColumnStats {
  maxBytes: number;
  /** Cells that are not valid for the column's type (declared missing in Stata and SPSS). */
  invalid: number;
  min: number;
  max: number;
}

const emptyStats = (): ColumnStats => ({ maxBytes: 0, invalid: 0, min: Infinity, max: -Infinity });

export class AnalysisSpool {
  private readonly key = randomBytes(32);
  private readonly iv = randomBytes(16);
  private readonly out;
  private readonly file;
  rowCount = 0;
  readonly cellStats: ColumnStats[];
  readonly levelStats: ColumnStats[] = [];

  /** `cellVariables` type the cells after the levels (for the numeric checks). */
  private readonly cellVariables: readonly AnalysisVariable[];

  constructor(path: string, cellVariables: readonly AnalysisVariable[]) {
    this.cellVariables = cellVariables;
    this.file = createWriteStream(path);
    this.out = createCipheriv('aes-256-ctr', this.key, this.iv);
    this.out.pipe(this.file);
    this.cellStats = cellVariables.map(emptyStats);
    this.path = path;
  }

  private readonly path: string;

  async add(row: SpooledRow): Promise<void> {
    // Plain loops over the row in place: this runs once per row of millions.
    const levels = row[0];
    for (let i = 0; i < levels.length; i++) {
      const stats = (this.levelStats[i] ??= emptyStats());
      const bytes = Buffer.byteLength(levels[i]);
      if (bytes > stats.maxBytes) stats.maxBytes = bytes;
    }
    for (let i = 0; i < this.cellVariables.length; i++) {
      const cell = row[i + 1] as string | null | undefined;
      if (cell === null || cell === undefined) continue;
      const stats = this.cellStats[i];
      const variable = this.cellVariables[i];
      if (variable.kind !== 'string' || variable.codes) {
        const value = numericCell(variable, cell, 'stata');
        if (value === 'invalid') stats.invalid++;
        else if (value !== null) {
          if (value < stats.min) stats.min = value;
          if (value > stats.max) stats.max = value;
        }
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit: a cell that short can't be the widest.
      if (cell.length * 3 > stats.maxBytes) {
        const bytes = Buffer.byteLength(cell);
        if (bytes > stats.maxBytes) stats.maxBytes = bytes;
      }
    }
    this.rowCount++;
    // Written in batches of about 64 KB: a stream write per row cost more than the row's JSON.
    const line = JSON.stringify(row);
    this.pending.push(line);
    this.pendingLength += line.length + 1;
    if (this.pendingLength >= 65_536) await this.flush();
  }

  private pending: string[] = [];
  private pendingLength = 0;

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingLength = 0;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.file, 'close');
  }

  /** The spooled rows, in order; may be called any number of times after `close`. */
  async *rows(): AsyncIterable<SpooledRow> {
    const input = createReadStream(this.path).pipe(createDecipheriv('aes-256-ctr', this.key, this.iv));
    const lines = createInterface({ input, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line) yield JSON.parse(line) as SpooledRow;
    }
  }
}
