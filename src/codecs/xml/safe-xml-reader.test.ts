import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { readXmlEvents, type XmlEvent, type XmlReadOptions } from './safe-xml-reader.ts';
import { InputError } from '../input/input-error.ts';
import { decodeUtf8 } from '../input/utf8-text.ts';

const MALICIOUS_GML = join(
  import.meta.dirname,
  '../../../test/fixtures/dhis2/gml/testMaliciousGmlPayload.gml',
);

async function* chunked(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect(source: AsyncIterable<string>, options: Partial<XmlReadOptions> = {}) {
  const events: XmlEvent[] = [];
  for await (const event of readXmlEvents(source, { fileName: 'in.xml', captureDepth: 2, ...options })) {
    events.push(event);
  }
  return events;
}

async function refusal(source: AsyncIterable<string>, options: Partial<XmlReadOptions> = {}) {
  try {
    await collect(source, options);
  } catch (error) {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the input to be refused');
}

const DXF2 = `<?xml version="1.0" encoding="UTF-8"?>
<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" dataSet="pBOMPrpg1QX" period="202401">
  <dataValue dataElement="f7n9E0hX8qk" orgUnit="DiszpKrYNg8" value="12"/>
  <dataValue dataElement="f7n9E0hX8qk" orgUnit="DiszpKrYNg8" value="a &amp; b &#x263A;">
    <comment><![CDATA[<b>kept</b>]]> and text</comment>
  </dataValue>
</dataValueSet>`;

test('captures elements at the chosen depth with attributes, text, children and position', async () => {
  for (const size of [1, 5, 100_000]) {
    const events = await collect(chunked(DXF2, size));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['open', 'element', 'element', 'close'],
    );
    const open = events[0];
    assert.ok(open.kind === 'open');
    assert.equal(open.element.attributes.dataSet, 'pBOMPrpg1QX');
    assert.equal(open.element.localName, 'dataValueSet');
    const second = events[2];
    assert.ok(second.kind === 'element');
    assert.equal(second.element.attributes.value, 'a & b ☺');
    assert.deepEqual([second.element.line, second.element.column], [4, 3]);
    assert.equal(second.element.children[0].localName, 'comment');
    assert.equal(second.element.children[0].text, '<b>kept</b> and text');
    assert.equal(Object.getPrototypeOf(second.element.attributes), null);
  }
});

test('local names drop the prefix', async () => {
  const events = await collect(chunked('<gml:A xmlns:gml="x"><gml:B><gml:C>1</gml:C></gml:B></gml:A>', 3));
  const b = events[1];
  assert.ok(b.kind === 'element');
  assert.deepEqual(
    [b.element.name, b.element.localName, b.element.children[0].localName],
    ['gml:B', 'B', 'C'],
  );
});

test("DHIS2's malicious GML (XXE) is refused at its DOCTYPE and nothing of the file leaks", async () => {
  const error = await refusal(decodeUtf8(createReadStream(MALICIOUS_GML), 'testMaliciousGmlPayload.gml'));
  assert.match(error.message, /DOCTYPE declaration is not allowed/);
  assert.equal(error.line, 3);
  assert.doesNotMatch(error.message, /passwd|root:|file:|xxe/);
});

test('billion laughs is refused quickly at the DOCTYPE', async () => {
  const entities = ['<!ENTITY lol "lol">'];
  for (let i = 1; i < 10; i++)
    entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
  const doc = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${entities.join('\n')}\n]>\n<lolz>&lol9;</lolz>`;
  const started = performance.now();
  const error = await refusal(chunked(doc, 64));
  assert.match(error.message, /DOCTYPE/);
  assert.ok(performance.now() - started < 1000);
});

test('an entity reference without a DOCTYPE is an undefined entity, never resolved', async () => {
  const error = await refusal(chunked('<r><v>&xxe;</v></r>', 4));
  assert.match(error.message, /malformed XML: undefined entity/);
});

test('a huge prolog (a DOCTYPE internal subset) is refused before it is buffered', async () => {
  async function* endless(): AsyncIterable<string> {
    yield '<?xml version="1.0"?><!DOCTYPE r [';
    for (let i = 0; i < 100_000; i++) yield `<!ENTITY e${i} "${'x'.repeat(1000)}">`;
  }
  const error = await refusal(endless());
  assert.match(error.message, /before the root element is longer than/);
});

test('malformed XML is refused with line and column', async () => {
  const cases: [string, number, RegExp][] = [
    ['<r>\n  <a>\n  </b>\n</r>', 3, /unexpected close tag/],
    ['<r>\n<v a="1" a="2"/></r>', 2, /duplicate attribute/],
    ['<r><v a=1/></r>', 1, /malformed XML/],
    ['<r>', 1, /unclosed tag/],
    ['', 1, /root element/],
    ['<r/><r/>', 1, /malformed XML/],
  ];
  for (const [text, line, reason] of cases) {
    const error = await refusal(chunked(text, 2));
    assert.match(error.message, reason, text);
    assert.equal(error.line, line, text);
    assert.ok(error.column !== undefined);
  }
});

test('limits: depth, attributes, text length, prototype attribute names', async () => {
  const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
  assert.match((await refusal(chunked(deep, 4096))).message, /nesting is deeper than 64/);
  const many = `<r><v ${Array.from({ length: 300 }, (_, i) => `a${i}="1"`).join(' ')}/></r>`;
  assert.match((await refusal(chunked(many, 100))).message, /more than 256 attributes/);
  const longText = `<r><v>${'x'.repeat(2000)}</v></r>`;
  assert.match(
    (await refusal(chunked(longText, 100), { limits: { maxLineBytes: 1000 } })).message,
    /longer than 1000/,
  );
  const longOutside = `<r>${'x'.repeat(5000)}<v/></r>`;
  assert.match(
    (await refusal(chunked(longOutside, 100), { limits: { maxLineBytes: 1000 } })).message,
    /longer than 1000/,
  );
  assert.match(
    (await refusal(chunked('<r><v __proto__="x"/></r>', 5))).message,
    /"__proto__" is not allowed/,
  );
});
