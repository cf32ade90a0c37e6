/** What imports report as they go: a stage, rows or objects done, and the total when known. */
export interface ProgressUpdate {
  stage: string;
  processed: number;
  total?: number;
}

export interface ProgressLine {
  update(progress: ProgressUpdate): void;
  /** Clears the line; call it before printing the result (and on failure). */
  done(): void;
}

const BAR_WIDTH = 30;
/** Redraw at most this often: a terminal repaint per batch would cost more than the batch. */
const REDRAW_MS = 150;

/**
 * One progress line on stderr when it is a terminal, silent otherwise (pipes, CI logs, tests):
 * a bar when the total is known, the count and the rate in items per second.
 */
export function createProgressLine(
  stream: NodeJS.WriteStream = process.stderr,
  unit = 'rows',
  now: () => number = Date.now,
): ProgressLine {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const started = now();
  let total = 0;
  let last = 0;
  return {
    update(progress) {
      if (progress.total) total = progress.total;
      const time = now();
      if (time - last < REDRAW_MS && progress.stage !== 'Done') return;
      last = time;
      stream.write(
        `\r${formatProgress(progress.stage, progress.processed, total, time - started, unit)}\x1b[K`,
      );
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/** The text of one progress line (exported for tests). */
export function formatProgress(
  stage: string,
  processed: number,
  total: number,
  elapsedMs: number,
  unit: string,
): string {
  const rate = Math.round(processed / Math.max(0.001, elapsedMs / 1000)).toLocaleString('en-US');
  const count = `${processed.toLocaleString('en-US')}${total > 0 ? `/${total.toLocaleString('en-US')}` : ''} ${unit}`;
  const parts = [stage.padEnd(18), count, `${rate} ${unit}/s`];
  if (total > 0) {
    const filled = Math.round(Math.min(1, processed / total) * BAR_WIDTH);
    parts.unshift(`[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`);
  }
  return parts.join(' ');
}
