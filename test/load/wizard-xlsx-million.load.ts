import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xlsxSource } from '../../src/services/wizard/sources/xlsx-source.ts';
import type { SourceRecord } from '../../src/services/wizard/sources/wizard-source.ts';
import { writeXlsx } from '../support/xlsx-writer.ts';

// The import wizard's Excel source on a 1,000,000-row sheet written with yazl (issue 17's bad
// input list): every row read, in order, with the process's resident memory flat. A load test
// (npm run test:load): writing and reading 100 MB of sheet XML takes minutes on a loaded machine.

describe('Import wizard: a 1,000,000-row sheet', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-wizard-million-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('streams a 1,000,000-row sheet with flat memory', async () => {
    const path = join(dir, 'million.xlsx');
    const ROWS = 1_000_000;
    await writeXlsx(path, [
      {
        name: 'Values',
        rows: (function* () {
          yield ['Facility', 'Period', 'Value'];
          for (let i = 0; i < ROWS; i++) yield [{ inline: `F${i % 500}` }, 202401 + (i % 12), i];
        })(),
      },
    ]);
    const config = xlsxSource.parseConfig({ file: { path, fileName: 'million.xlsx' } });
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    let count = 0;
    let last: SourceRecord | undefined;
    for await (const record of xlsxSource.open(config)) {
      count++;
      last = record;
      if (count % 50_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.equal(count, ROWS);
    assert.deepEqual(last!.values, {
      Facility: `F${(ROWS - 1) % 500}`,
      Period: String(202401 + ((ROWS - 1) % 12)),
      Value: String(ROWS - 1),
    });
    assert.equal(last!.locator.row, ROWS + 1);
    const grown = (peak - base) / 1024 ** 2;
    assert.ok(grown < 150, `memory grew ${grown.toFixed(0)} MiB reading 1,000,000 rows`);
  });
});
