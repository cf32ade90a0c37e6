/** What imports report as they go: a stage, rows or objects done, and the total when known. */
export interface ProgressUpdate {
  stage: string;
  processed: number;
  total?: number;
}

export interface ProgressLine {
  update(progress: ProgressUpdate): void;
  /**
   * Bytes read (or written) so far, and the size they count toward when known. With a size and no
   * item total, the bar shows the share of the file read: a data value import never knows its row
   * count before the end, but the CLI knows the file's size.
   */
  bytes(done: number, total?: number): void;
  /** Clears the line; call it before printing the result (and on failure). */
  done(): void;
}

/** The widest bar; a narrower terminal gets a narrower one. */
const BAR_WIDTH = 30;
/** Below this the bar says too little to be worth its room; the percentage stays. */
const MIN_BAR_WIDTH = 10;
/** Redraw at most this often: a terminal repaint per batch would cost more than the batch. */
const REDRAW_MS = 150;

/** Everything one progress line shows. */
export interface ProgressState {
  stage: string;
  processed: number;
  /** Items expected; 0 when unknown. */
  total: number;
  bytes: number;
  /** Bytes expected; 0 when unknown. */
  bytesTotal: number;
  elapsedMs: number;
  /** What is counted: rows, objects, values. */
  unit: string;
}

/**
 * One progress line on stderr when it is a terminal, redrawn in place and never wider than it; silent
 * otherwise (pipes, CI logs, tests), where the command's final summary says what happened.
 */
export function createProgressLine(
  stream: NodeJS.WriteStream = process.stderr,
  unit = 'rows',
  now: () => number = Date.now,
): ProgressLine {
  if (!stream.isTTY) return { update: () => {}, bytes: () => {}, done: () => {} };
  const started = now();
  const state: ProgressState = {
    stage: '',
    processed: 0,
    total: 0,
    bytes: 0,
    bytesTotal: 0,
    elapsedMs: 0,
    unit,
  };
  let last = 0;
  const draw = (force: boolean): void => {
    const time = now();
    if (!force && time - last < REDRAW_MS) return;
    last = time;
    state.elapsedMs = time - started;
    stream.write(`\r${formatProgress(state, stream.columns || 80)}\x1b[K`);
  };
  return {
    update(progress) {
      state.stage = progress.stage;
      state.processed = progress.processed;
      if (progress.total) state.total = progress.total;
      draw(progress.stage === 'Done');
    },
    bytes(done, total) {
      state.bytes = done;
      if (total) state.bytesTotal = total;
      draw(false);
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/**
 * The text of one progress line, at most `columns - 1` characters (a line as wide as the terminal
 * wraps on some, and `\r` then redraws only the second half). When room runs short the bar narrows,
 * then the stage goes (the bar says more on 80 columns), then the bar, then the text is cut.
 */
export function formatProgress(state: ProgressState, columns: number): string {
  const { stage, processed, total, bytes, bytesTotal, elapsedMs, unit } = state;
  const rate = Math.round(processed / Math.max(0.001, elapsedMs / 1000));
  const share = total > 0 ? processed / total : bytesTotal > 0 ? bytes / bytesTotal : undefined;
  const counts = [
    `${count(processed)}${total > 0 ? `/${count(total)}` : ''} ${unit}`,
    `${count(rate)} ${unit}/s`,
  ];
  if (bytesTotal > 0) counts.push(formatByteShare(bytes, bytesTotal));
  else if (bytes > 0) counts.push(formatBytes(bytes));
  const room = columns - 1;
  const withStage = [stage, ...counts].filter(Boolean).join('  ');
  if (share === undefined) return withStage.slice(0, Math.max(0, room));
  const percent = `${String(Math.floor(Math.min(1, share) * 100)).padStart(3)}%`;
  for (const text of [`${percent}  ${withStage}`, `${percent}  ${counts.join('  ')}`]) {
    const barWidth = Math.min(BAR_WIDTH, room - text.length - 3);
    if (barWidth >= MIN_BAR_WIDTH) {
      const filled = Math.floor(Math.min(1, share) * barWidth);
      return `[${'#'.repeat(filled)}${' '.repeat(barWidth - filled)}] ${text}`;
    }
  }
  return `${percent}  ${withStage}`.slice(0, Math.max(0, room));
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

function byteUnit(bytes: number): number {
  let unit = 0;
  while (unit < BYTE_UNITS.length - 1 && bytes >= 1000 ** (unit + 1)) unit++;
  return unit;
}

function scaled(bytes: number, unit: number): string {
  return unit === 0 ? String(bytes) : (bytes / 1000 ** unit).toFixed(1);
}

/** A size in decimal units, one decimal past 1 kB: `512 B`, `2.5 kB`, `35.6 MB`. */
export function formatBytes(bytes: number): string {
  const unit = byteUnit(bytes);
  return `${scaled(bytes, unit)} ${BYTE_UNITS[unit]}`;
}

/** Bytes done of a total, both in the total's unit: `12.1/35.6 MB`. */
function formatByteShare(done: number, total: number): string {
  const unit = byteUnit(total);
  return `${scaled(done, unit)}/${scaled(total, unit)} ${BYTE_UNITS[unit]}`;
}
