import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressLine, formatBytes, formatProgress, type ProgressState } from './progress-line.ts';

function state(fields: Partial<ProgressState>): ProgressState {
  return {
    stage: 'Importing data values',
    processed: 0,
    total: 0,
    bytes: 0,
    bytesTotal: 0,
    elapsedMs: 1000,
    unit: 'rows',
    ...fields,
  };
}

/** A terminal `columns` wide that keeps what is written to it. */
function fakeTerminal(columns: number | undefined, isTTY = true) {
  const written: string[] = [];
  const stream = { isTTY, columns, write: (text: string) => written.push(text) };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

describe('progress line', () => {
  it('draws the bar from the bytes read against the file size when the row total is unknown', () => {
    const line = formatProgress(
      state({ processed: 120_000, bytes: 12_100_000, bytesTotal: 48_400_000, elapsedMs: 2000 }),
      120,
    );
    assert.equal(
      line,
      `[${'#'.repeat(7)}${' '.repeat(23)}]  25%  Importing data values  120,000 rows  60,000 rows/s  12.1/48.4 MB`,
    );
    assert.ok(line.length <= 119);
  });

  it('prefers the item total to the bytes, and shows no bar when neither is known', () => {
    assert.equal(
      formatProgress(
        state({ stage: 'Validating', processed: 500, total: 1000, elapsedMs: 2000, unit: 'objects' }),
        120,
      ),
      `[${'#'.repeat(15)}${' '.repeat(15)}]  50%  Validating  500/1,000 objects  250 objects/s`,
    );
    assert.equal(
      formatProgress(state({ stage: 'Exporting', processed: 120_000, bytes: 3_456_789, unit: 'values' }), 80),
      'Exporting  120,000 values  120,000 values/s  3.5 MB',
    );
  });

  it('never draws wider than the terminal: the bar narrows, then the stage goes, then the bar', () => {
    const at = (columns: number) =>
      formatProgress(state({ processed: 2700, bytes: 35_000, bytesTotal: 70_000 }), columns);
    const text = ' 50%  Importing data values  2,700 rows  2,700 rows/s  35.0/70.0 kB';
    const short = ' 50%  2,700 rows  2,700 rows/s  35.0/70.0 kB';
    assert.equal(at(120), `[${'#'.repeat(15)}${' '.repeat(15)}] ${text}`);
    const narrow = at(text.length + 3 + 12 + 1);
    assert.equal(narrow, `[${'#'.repeat(6)}${' '.repeat(6)}] ${text}`);
    assert.equal(narrow.length, text.length + 3 + 12);
    // 80 columns: a full bar without the stage rather than the stage without a bar.
    assert.equal(at(80), `[${'#'.repeat(15)}${' '.repeat(15)}] ${short}`);
    assert.equal(at(short.length + 3 + 10 + 1), `[${'#'.repeat(5)}${' '.repeat(5)}] ${short}`);
    assert.equal(at(short.length + 3 + 9 + 1), text.slice(0, short.length + 12), 'no bar under 10');
    assert.equal(at(30), text.slice(0, 29));
  });

  it('formats sizes in decimal units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(2549), '2.5 kB');
    assert.equal(formatBytes(35_600_000), '35.6 MB');
    assert.equal(formatBytes(1_200_000_000), '1.2 GB');
  });

  it('writes nothing when stderr is not a terminal', () => {
    const { stream, written } = fakeTerminal(undefined, false);
    const quiet = createProgressLine(stream);
    quiet.update({ stage: 'Reading', processed: 1 });
    quiet.bytes(10, 100);
    quiet.done();
    assert.deepEqual(written, []);
  });

  it('on a terminal, redraws in place at most every 150 ms with the bar, the rows/s and the bytes', () => {
    const { stream, written } = fakeTerminal(100);
    let clock = 0;
    const tty = createProgressLine(stream, 'rows', () => clock);
    clock = 200;
    tty.update({ stage: 'Importing data values', processed: 10 });
    tty.bytes(64 * 1024, 10_000_000);
    clock = 250;
    tty.update({ stage: 'Importing data values', processed: 20 });
    tty.bytes(128 * 1024, 10_000_000);
    clock = 400;
    tty.bytes(5_000_000, 10_000_000);
    clock = 401;
    tty.update({ stage: 'Done', processed: 30 });
    tty.done();
    assert.deepEqual(written, [
      '\rImporting data values  10 rows  50 rows/s\x1b[K',
      `\r[${'#'.repeat(15)}${' '.repeat(15)}]  50%  Importing data values  20 rows  50 rows/s  5.0/10.0 MB\x1b[K`,
      `\r[${'#'.repeat(15)}${' '.repeat(15)}]  50%  Done  30 rows  75 rows/s  5.0/10.0 MB\x1b[K`,
      '\r\x1b[K',
    ]);
    for (const line of written) assert.ok(line.replace(/^\r|\x1b\[K$/g, '').length < 100, line);
  });

  it('fits the width of the terminal it writes to', () => {
    const { stream, written } = fakeTerminal(40);
    const tty = createProgressLine(stream, 'rows', () => 1000);
    tty.bytes(1_000_000, 4_000_000);
    tty.update({ stage: 'Done', processed: 2700 });
    assert.ok(written.length > 0);
    for (const line of written) assert.ok(line.replace(/^\r|\x1b\[K$/g, '').length <= 39, line);
  });
});
