import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseJsonText,
  readJsonCollections,
  readJsonDocument,
  type JsonCollectionEvent,
  type JsonReadOptions,
} from './safe-json-reader.ts';
import { InputError } from '../input/input-error.ts';

async function* chunked(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect(text: string, size = 7, options: Partial<JsonReadOptions> = {}) {
  const events: JsonCollectionEvent[] = [];
  for await (const event of readJsonCollections(chunked(text, size), { fileName: 'in.json', ...options })) {
    events.push(event);
  }
  return events;
}

async function refusal(text: string, size = 5, options: Partial<JsonReadOptions> = {}): Promise<InputError> {
  try {
    await collect(text, size, options);
  } catch (error) {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the input to be refused');
}

const DATA_VALUE_SET = `{
  "dataSet": "pBOMPrpg1QX",
  "completeDate": "2024-02-01",
  "dataValues": [
    {"dataElement": "f7n9E0hX8qk", "period": "202401", "orgUnit": "DiszpKrYNg8", "value": "12"},
    {"dataElement": "f7n9E0hX8qk", "period": "202402", "orgUnit": "DiszpKrYNg8", "value": 13, "followup": true},
    {"dataElement": "f7n9E0hX8qk", "period": "202403", "orgUnit": "DiszpKrYNg8", "comment": "a \\"quoted\\" \\u00e9 \\ud83d\\ude00"}
  ],
  "orgUnit": null
}`;

test('yields top-level properties and collection items in order, whatever the chunk size', async () => {
  for (const size of [1, 3, 7, 64, 100_000]) {
    const events = await collect(DATA_VALUE_SET, size);
    assert.deepEqual(
      events.map((e) =>
        e.kind === 'item' ? `${e.collection}[${e.index}]@${e.line}` : `${e.property}@${e.line}`,
      ),
      ['dataSet@2', 'completeDate@3', 'dataValues[0]@5', 'dataValues[1]@6', 'dataValues[2]@7', 'orgUnit@9'],
      `chunk size ${size}`,
    );
    const items = events.filter((e) => e.kind === 'item').map((e) => e.value);
    assert.deepEqual(items, (JSON.parse(DATA_VALUE_SET) as { dataValues: unknown[] }).dataValues);
  }
});

test('a root array yields items of the collection ""', async () => {
  const events = await collect('[1, {"a": [true, false, null]}, "x"]');
  assert.deepEqual(
    events.map((e) => (e.kind === 'item' ? [e.collection, e.index, e.value] : e)),
    [
      ['', 0, 1],
      ['', 1, { a: [true, false, null] }],
      ['', 2, 'x'],
    ],
  );
});

test('empty collections and empty objects', async () => {
  assert.deepEqual(await collect('{}'), []);
  const events = await collect('{"dataElements": [], "system": {}}');
  assert.deepEqual(events, [{ kind: 'property', property: 'system', line: 1, value: {} }]);
});

test('malformed JSON is refused with line and column', async () => {
  const cases: [string, number, number, RegExp][] = [
    ['{\n  "a": 1,\n  "b": tru }', 3, 8, /expected true/],
    ['{\n  "dataValues": [\n    {"value": "1"},\n    {"value": "2",}\n  ]\n}', 4, 19, /property name/],
    ['{"a": [1, 2}', 1, 12, /expected ',' or '\]'/],
    ['{"a": "x\ny"}', 1, 9, /control character/],
    ['{"a": 01}', 1, 8, /expected ',' or '}'/],
    ['{"a": "\\x"}', 1, 8, /invalid escape/],
    ['{"a": 1} {}', 1, 10, /after the end/],
    ['{"a": [1, 2]', 1, 13, /ends before/],
    ['', 1, 1, /is empty/],
    ['"just a string"', 1, 1, /object or array/],
  ];
  for (const [text, line, column, reason] of cases) {
    for (const size of [1, 4, 1000]) {
      const error = await refusal(text, size);
      assert.match(error.message, reason, text);
      assert.equal(error.fileName, 'in.json');
      assert.deepEqual(
        [error.line, error.column],
        [line, column],
        `${JSON.stringify(text)} in chunks of ${size}`,
      );
    }
  }
});

test('duplicate keys are refused naming the key, line and file (not last-wins)', async () => {
  const error = await refusal('{"dataValues": [\n {"value": "1", "value": "999"}\n]}');
  assert.match(error.message, /^in\.json \(line 2, column 17\): duplicate key "value"/);
  const top = await refusal('{"dataValues": [], "dataSet": "a", "dataValues": []}');
  assert.match(top.message, /duplicate key "dataValues"/);
  // The same key at different ordinals of successive objects (the key cache must not hide it).
  const shifted = await refusal('[{"a":1,"b":2,"c":3},{"c":1},{"c":1,"b":2,"c":3}]');
  assert.match(shifted.message, /duplicate key "c"/);
  assert.match((await refusal('[{"a\\"b":1},{"a\\"b":1,"a\\"b":2}]')).message, /duplicate key/);
});

test('prototype keys are refused and never reach a prototype', async () => {
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    const error = await refusal(`{"dataValues": [{"ok": 1, "${key}": {"isAdmin": true}}]}`);
    assert.match(error.message, new RegExp(`"${key}" is not allowed`));
    const top = await refusal(`{"${key}": {"isAdmin": true}}`);
    assert.match(top.message, /is not allowed/);
    // Escaped spelling of the same key.
    const escaped = await refusal(`[{"\\u005f_proto__": {"isAdmin": true}}]`);
    assert.match(escaped.message, /"__proto__" is not allowed/);
  }
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
});

test('parsed objects are ordinary objects', () => {
  const value = parseJsonText('{"a": {"b": [1, "x"]}}', { fileName: 'x.json' }) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(JSON.stringify(value), '{"a":{"b":[1,"x"]}}');
});

test('nesting deeper than the limit is refused without a stack overflow', async () => {
  const deep = '{"a": ' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
  const error = await refusal(deep, 65536);
  assert.match(error.message, /nesting is deeper than 64 levels/);
  assert.equal(error.column, 6 + 64);
  const fine = '[' + '['.repeat(62) + ']'.repeat(62) + ']';
  assert.equal((await collect(fine)).length, 1);
});

test('over-long strings and values are refused', async () => {
  const limits = { maxJsonStringChars: 100, maxJsonValueChars: 1000 };
  const error = await refusal(`{"a": "${'x'.repeat(101)}"}`, 16, { limits });
  assert.match(error.message, /string is longer than 100/);
  const escaped = await refusal(`{"a": "\\n${'x'.repeat(150)}"}`, 16, { limits });
  assert.match(escaped.message, /string is longer than 100/);
  const big = await refusal(`[[${'1,'.repeat(600)}1]]`, 64, { limits });
  assert.match(big.message, /one value is longer than 1000/);
  assert.equal((await collect(`["${'x'.repeat(100)}"]`, 16, { limits })).length, 1);
});

test('numbers: exact by default, refused when a double would change them, raw text on request', async () => {
  const values = async (text: string, numbers?: 'exact' | 'text') =>
    (await collect(`[${text}]`, 3, { numbers })).map((e) => e.value);
  assert.deepEqual(
    await values('0, -0.5, 12, 1.5e3, 9007199254740991, 0.1, 3.141592653589793'),
    [0, -0.5, 12, 1500, 9007199254740991, 0.1, 3.141592653589793],
  );
  assert.match((await refusal('[1e400]')).message, /number 1e400 is out of range/);
  assert.match((await refusal('[-1e400]')).message, /out of range/);
  assert.match((await refusal('[12345678901234567890]')).message, /cannot be represented exactly/);
  assert.match((await refusal('[9007199254740993]')).message, /cannot be represented exactly/);
  assert.match((await refusal('[0.12345678901234567891]')).message, /cannot be represented exactly/);
  assert.deepEqual(await values('12, 1e400, 12345678901234567890, -0', 'text'), [
    '12',
    '1e400',
    '12345678901234567890',
    '-0',
  ]);
  for (const bad of ['[+1]', '[.5]', '[1.]', '[1e]', '[0x1A]', '[NaN]', '[Infinity]', '[-]']) {
    await refusal(bad);
  }
});

test('NUL and lone surrogates never come through', async () => {
  assert.match((await refusal('["a\\u0000b"]')).message, /NUL/);
  assert.match((await refusal('["a\u0000b"]')).message, /NUL/);
  assert.match((await refusal('["\\ud800x"]')).message, /unpaired surrogate/);
  assert.match((await refusal('["\\udc00"]')).message, /unpaired surrogate/);
  assert.deepEqual(
    (await collect('["\\ud83d\\ude00", "😀"]', 1)).map((e) => e.value),
    ['😀', '😀'],
  );
});

test('readJsonDocument parses a small whole document with the same rules', async () => {
  assert.deepEqual(
    await readJsonDocument(chunked('{"type": "Point", "coordinates": [1, 2]}', 5), { fileName: 'f' }),
    {
      type: 'Point',
      coordinates: [1, 2],
    },
  );
  await assert.rejects(readJsonDocument(chunked('{"a":1,"a":2}', 5), { fileName: 'f' }), /duplicate key "a"/);
});

test("numbers: 'double' rounds like JSON.parse and still refuses out-of-range literals", async () => {
  const literals = '0, -0.5, 12345678901234567890, 9007199254740993, 0.12345678901234567891, 1E-7';
  const values = (await collect(`[${literals}]`, 3, { numbers: 'double' })).map((e) => e.value);
  assert.deepEqual(values, JSON.parse(`[${literals}]`));
  assert.match((await refusal('[1e400]', 5, { numbers: 'double' })).message, /number 1e400 is out of range/);
});

test("root: 'object' refuses a root array; firstLine offsets the lines of embedded text", async () => {
  const error = await refusal('[{"a": 1}]', 4, { root: 'object' });
  assert.match(error.message, /must be a JSON object/);
  assert.deepEqual([error.line, error.column], [1, 1]);
  assert.deepEqual(await collect('{"a": [1]}', 4, { root: 'object' }), [
    { kind: 'item', collection: 'a', index: 0, line: 1, value: 1 },
  ]);
  assert.throws(
    () => parseJsonText('{\n "a": 1,\n "a": 2}', { fileName: 'm.xml', firstLine: 40 }),
    (thrown: unknown) => thrown instanceof InputError && thrown.line === 42 && thrown.column === 2,
  );
});
