import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DataValueItem } from '../../domain/data-values/data-value-input.ts';
import { DataValueItemBatchWriter, readDataValueItemBatch } from './data-value-import-item-batch.ts';

/** The batch as it arrives on the other thread: structured-cloned, as postMessage does. */
function roundTrip(items: DataValueItem[]): DataValueItem[] {
  const writer = new DataValueItemBatchWriter();
  for (const item of items) writer.add(item);
  return readDataValueItemBatch(structuredClone(writer.take()));
}

describe('data value item batches between threads', () => {
  it('gives back values, headers and issues in order, keys and their order as they were', () => {
    const items: DataValueItem[] = [
      { kind: 'header', header: { dataSet: 'ds', idScheme: 'CODE' }, group: true },
      {
        kind: 'value',
        position: { index: 0, line: 2 },
        value: {
          dataElement: 'de',
          period: '202401',
          orgUnit: 'ou',
          categoryOptionCombo: undefined,
          value: null,
          comment: '',
          followUp: true,
          deleted: false,
        },
      },
      { kind: 'issue', position: { index: 1, line: 3, column: 4 }, message: 'line 3: bad' },
      {
        kind: 'value',
        position: { index: 2, line: 4, column: 1 },
        value: {
          orgUnit: 'ou',
          dataElement: 'de',
          categoryOptions: { SEX: 'M', AGE: 'ou' },
          attributeOptions: {},
          annotation: 'née ✓ "quoted"',
          value: 'de',
        },
      },
      { kind: 'issue', message: 'fatal', fatal: true, property: 'dataElement' },
    ];
    const back = roundTrip(items);
    assert.deepStrictEqual(back, items);
    for (let i = 0; i < items.length; i++) {
      if (items[i].kind === 'value') {
        const a = (items[i] as Extract<DataValueItem, { kind: 'value' }>).value;
        const b = (back[i] as Extract<DataValueItem, { kind: 'value' }>).value;
        assert.deepEqual(Object.keys(b), Object.keys(a));
        assert.ok('categoryOptionCombo' in b === 'categoryOptionCombo' in a);
      }
    }
  });

  it('sends a value of a shape the codes do not carry as it is', () => {
    const odd: DataValueItem[] = [
      { kind: 'value', position: { index: 0 }, value: { value: 5 as never, dataElement: 'x' } },
      { kind: 'value', position: { index: 1 }, value: { dataElement: 'x', extra: 'y' } as never },
      {
        kind: 'value',
        position: { index: 2 },
        value: {
          dataElement: 'x',
          categoryOptions: JSON.parse('{"__proto__":"p"}') as Record<string, string>,
        },
      },
      { kind: 'value', position: { index: 3, line: undefined }, value: { dataElement: 'x' } },
      { kind: 'value', position: { index: 4 }, value: { dataElement: 'after' } },
    ];
    const back = roundTrip(odd);
    assert.deepStrictEqual(back, odd);
    const proto = (back[2] as Extract<DataValueItem, { kind: 'value' }>).value.categoryOptions!;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__']);
  });

  it('round-trips any batch of values (property)', () => {
    const text = fc.oneof(fc.string(), fc.constantFrom('de', 'ou', '202401', ''));
    const scalar = fc.oneof(text, fc.constant(null), fc.boolean(), fc.constant(undefined));
    const value = fc.record(
      {
        dataElement: text,
        period: text,
        orgUnit: scalar,
        value: scalar,
        comment: scalar,
        followUp: scalar,
        categoryOptions: fc.dictionary(fc.string(), text),
      },
      { requiredKeys: [] },
    );
    const item = fc.oneof(
      fc.record({
        kind: fc.constant('value' as const),
        position: fc.record({ index: fc.nat(), line: fc.nat() }),
        value,
      }),
      fc.record({ kind: fc.constant('issue' as const), message: fc.string() }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 50 }), (generated) => {
        // Plain objects, as decoders make them (fast-check's records have no prototype).
        const items = structuredClone(generated) as DataValueItem[];
        assert.deepStrictEqual(roundTrip(items), items);
      }),
    );
  });

  it("reads the CSV decoder's values (every field, some undefined) by its fast path, keys in order", () => {
    const csv = (i: number, value: string | null): DataValueItem => ({
      kind: 'value',
      position: { index: i, line: i + 2 },
      value: {
        dataElement: 'de',
        period: '202401',
        orgUnit: 'ou',
        categoryOptionCombo: undefined,
        attributeOptionCombo: 'aoc',
        value,
        storedBy: undefined,
        created: undefined,
        lastUpdated: undefined,
        comment: i % 2 ? 'de' : undefined,
        followUp: 'true',
        deleted: undefined,
      },
    });
    const items = [csv(0, '5'), csv(1, null), csv(2, 'de'), csv(3, '5')];
    const back = roundTrip(items);
    assert.deepStrictEqual(back, items);
    type Value = Extract<DataValueItem, { kind: 'value' }>;
    for (const item of back) {
      assert.deepEqual(Object.keys((item as Value).value), Object.keys((items[0] as Value).value));
    }
  });

  it('starts each batch afresh', () => {
    const writer = new DataValueItemBatchWriter();
    writer.add({ kind: 'value', position: { index: 0 }, value: { dataElement: 'a' } });
    assert.equal(writer.values, 1);
    const first = writer.take();
    assert.ok(writer.isEmpty);
    writer.add({ kind: 'value', position: { index: 1 }, value: { dataElement: 'b' } });
    assert.deepStrictEqual(readDataValueItemBatch(writer.take()), [
      { kind: 'value', position: { index: 1 }, value: { dataElement: 'b' } },
    ]);
    assert.deepStrictEqual(readDataValueItemBatch(first), [
      { kind: 'value', position: { index: 0 }, value: { dataElement: 'a' } },
    ]);
  });
});
