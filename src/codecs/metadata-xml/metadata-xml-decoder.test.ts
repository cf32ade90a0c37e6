import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMetadataXml } from './metadata-xml-decoder.ts';
import { schemaRegistry } from '../../domain/schema/schema-registry.ts';
import { InputError } from '../input/input-error.ts';
import type { MetadataItem } from '../metadata-json/metadata-json-decoder.ts';

async function* chunked(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function decode(text: string, size = 7): Promise<MetadataItem[]> {
  const out: MetadataItem[] = [];
  for await (const item of decodeMetadataXml(chunked(text, size), 'm.xml', schemaRegistry)) out.push(item);
  return out;
}

const PAYLOAD = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://dhis2.org/schema/dxf/2.0">
  <system><id>abc</id><rev>1</rev></system>
  <dataElements>
    <dataElement id="fbfJHSPpUQD" name="ANC 1st visit" zeroIsSignificant="false">
      <valueType>NUMBER</valueType>
      <categoryCombo id="bjDvmb4bfuf"/>
    </dataElement>
    <dataElement id="cYeuwXTCPkU" name="ANC 2nd visit"/>
  </dataElements>
</metadata>`;

describe('decodeMetadataXml', () => {
  it('yields one object per collection item, skipping <system>, whatever the chunk size', async () => {
    for (const size of [1, 5, 64, 100_000]) {
      const items = await decode(PAYLOAD, size);
      assert.deepEqual(
        items.map(({ collection, index, object, line }) => ({ collection, index, object, line })),
        [
          {
            collection: 'dataElements',
            index: 0,
            line: 5,
            object: {
              id: 'fbfJHSPpUQD',
              name: 'ANC 1st visit',
              zeroIsSignificant: false,
              valueType: 'NUMBER',
              categoryCombo: { id: 'bjDvmb4bfuf' },
            },
          },
          {
            collection: 'dataElements',
            index: 1,
            line: 9,
            object: { id: 'cYeuwXTCPkU', name: 'ANC 2nd visit' },
          },
        ],
        `chunk size ${size}`,
      );
    }
  });

  it('refuses a DOCTYPE, a foreign root, prototype names and malformed XML with line and column', async () => {
    const refusals: Array<[string, RegExp]> = [
      [
        '<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><metadata/>',
        /line 2.*DOCTYPE/,
      ],
      ['<dataElements/>', /line 1, column 1\): the root element must be <metadata>/],
      ['<metadata><dataElements><dataElement x:__proto__="1"/></dataElements></metadata>', /`__proto__`/],
      [
        '<metadata><dataElements><dataElement><constructor/></dataElement></dataElements></metadata>',
        /`constructor`/,
      ],
      [
        '<metadata>\n<dataElements><dataElement id="a"></dataElements></metadata>',
        /line 2, column \d+\): malformed XML/,
      ],
    ];
    for (const [text, pattern] of refusals) {
      await assert.rejects(
        decode(text),
        (error: unknown) => error instanceof InputError && pattern.test(error.message),
        text,
      );
    }
    assert.equal(({} as Record<string, unknown>)['1'], undefined);
  });
});
