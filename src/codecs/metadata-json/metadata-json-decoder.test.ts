import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMetadataJson, type MetadataItem } from './metadata-json-decoder.ts';

async function* chunked(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function decode(text: string, size: number): Promise<MetadataItem[]> {
  const out: MetadataItem[] = [];
  for await (const item of decodeMetadataJson(chunked(text, size), 'test.json')) out.push(item);
  return out;
}

describe('decodeMetadataJson', () => {
  it('yields the same items as JSON.parse for any payload, whatever the chunk size', async () => {
    const object = fc.dictionary(
      fc
        .string({ minLength: 1, maxLength: 8 })
        .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 5 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('dataElements', 'options', 'system'),
          fc.array(object, { maxLength: 4 }),
        ),
        fc.integer({ min: 1, max: 40 }),
        async (payload, size) => {
          const text = JSON.stringify(payload, null, size % 3);
          fc.pre(!/"(__proto__|constructor|prototype)"/.test(text));
          const items = await decode(text, size);
          const expected = Object.entries(JSON.parse(text) as Record<string, unknown[]>).flatMap(
            ([collection, list]) => list.map((object, index) => ({ collection, index, object })),
          );
          assert.deepEqual(
            items.map(({ collection, index, object }) => ({ collection, index, object })),
            expected,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('skips non-array values such as system and date', async () => {
    const items = await decode(
      '{"system": {"version": "2.40"}, "date": "2024-01-01", "options": [{"id": "a"}]}',
      7,
    );
    assert.deepEqual(
      items.map((i) => i.object),
      [{ id: 'a' }],
    );
  });

  it('refuses duplicate keys, prototype keys, deep nesting and truncation with line and column', async () => {
    await assert.rejects(decode('{"a": [\n{"x": 1, "x": 2}]}', 3), /line 2, column 10\): duplicate key "x"/);
    await assert.rejects(decode('{"a": [{"constructor": 1}]}', 5), /"constructor" is not allowed/);
    await assert.rejects(
      decode(`{"a": [${'['.repeat(100)}${']'.repeat(100)}]}`, 50),
      /nesting is deeper than 64/,
    );
    await assert.rejects(decode('{"a": [{"x": 1}', 4), /ends before the JSON document is complete/);
    await assert.rejects(decode('[1, 2]', 4), /must be a JSON object/);
  });
});
