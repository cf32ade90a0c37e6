import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressLine, formatProgress } from './progress-line.ts';

describe('progress line', () => {
  it('shows a bar only when the total is known, the count and the rate', () => {
    assert.equal(
      formatProgress('Validating', 500, 1000, 2000, 'objects'),
      `[${'#'.repeat(15)}${' '.repeat(15)}] Validating         500/1,000 objects 250 objects/s`,
    );
    assert.equal(
      formatProgress('Reading', 120000, 0, 1000, 'rows'),
      'Reading            120,000 rows 120,000 rows/s',
    );
  });

  it('writes nothing when stderr is not a terminal, and redraws at most every 150 ms on one', () => {
    const written: string[] = [];
    const stream = {
      isTTY: false,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const quiet = createProgressLine(stream);
    quiet.update({ stage: 'Reading', processed: 1 });
    quiet.done();
    assert.deepEqual(written, []);

    let clock = 0;
    const tty = createProgressLine({ ...stream, isTTY: true } as NodeJS.WriteStream, 'rows', () => clock);
    clock = 200;
    tty.update({ stage: 'Reading', processed: 10 });
    clock = 250;
    tty.update({ stage: 'Reading', processed: 20 });
    clock = 251;
    tty.update({ stage: 'Done', processed: 30 });
    tty.done();
    assert.equal(written.length, 3);
    assert.match(written[0], /^\rReading +10 rows 50 rows\/s/);
    assert.match(written[1], /^\rDone +30 rows/);
    assert.equal(written[2], '\r\x1b[K');
  });
});
