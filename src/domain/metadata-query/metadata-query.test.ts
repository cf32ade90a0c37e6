import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelection, type FieldSelection } from './field-selection.ts';
import { parseMetadataFilter } from './metadata-filter.ts';
import { schemaRegistry } from '../schema/schema-registry.ts';
import { MetadataQueryError } from './metadata-query-error.ts';

function shape(selection: FieldSelection): unknown {
  return {
    all: selection.all,
    owner: selection.owner,
    fields: Object.fromEntries([...selection.fields].map(([k, v]) => [k, v === true ? true : shape(v)])),
    excluded: [...selection.excluded],
  };
}

function rejectsWith(code: string, pattern: RegExp, work: () => unknown): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof MetadataQueryError);
    assert.equal(error.code, code);
    assert.match(error.args.join(' '), pattern);
    return true;
  });
}

describe('fields', () => {
  it('parses names, presets, exclusions and nested selections in either bracket', () => {
    assert.deepEqual(shape(parseFieldSelection('id,name,code')), {
      all: false,
      owner: false,
      fields: { id: true, name: true, code: true },
      excluded: [],
    });
    assert.deepEqual(shape(parseFieldSelection('*,!code,categoryCombo[id,categories(id,name)]')), {
      all: true,
      owner: false,
      fields: {
        categoryCombo: {
          all: false,
          owner: false,
          fields: {
            id: true,
            categories: { all: false, owner: false, fields: { id: true, name: true }, excluded: [] },
          },
          excluded: [],
        },
      },
      excluded: ['code'],
    });
    assert.equal(parseFieldSelection(':all').all, true);
    assert.equal(parseFieldSelection(':owner').owner, true);
    assert.deepEqual([...parseFieldSelection(':identifiable').fields.keys()].slice(0, 3), [
      'id',
      'code',
      'name',
    ]);
  });
  it('refuses unbalanced brackets, transformers, unknown presets and deep nesting', () => {
    rejectsWith('F1022', /unbalanced/, () => parseFieldSelection('a[b,c'));
    rejectsWith('F1022', /unexpected/, () => parseFieldSelection('a]'));
    rejectsWith('F1022', /transformers/, () => parseFieldSelection('name~rename'));
    rejectsWith('F1022', /transformers/, () => parseFieldSelection('children::isNotEmpty'));
    const sized = parseFieldSelection('path,children::size');
    assert.deepEqual([...sized.fields.keys()], ['path', 'children']);
    assert.deepEqual([...(sized.sizes ?? [])], ['children']);
    rejectsWith('F1022', /unknown preset `:simple`/, () => parseFieldSelection(':simple'));
    rejectsWith('F1022', /deeper/, () => parseFieldSelection('a[b[c[d[e[f[g]]]]]]'));
  });
});

describe('filter', () => {
  const dataElements = schemaRegistry.byCollection('dataElements')!;
  it('parses operators into store filters; values may contain colons', () => {
    assert.deepEqual(parseMetadataFilter('name:eq:ANC 1st visit', dataElements), {
      property: 'name',
      operator: 'eq',
      value: 'ANC 1st visit',
    });
    assert.deepEqual(parseMetadataFilter('code:eq:a:b', dataElements).value, 'a:b');
    assert.equal(parseMetadataFilter('displayName:ilike:anc', dataElements).property, 'name');
    assert.equal(parseMetadataFilter('code:!eq:X', dataElements).operator, 'ne');
    assert.equal(parseMetadataFilter('code:ne:X', dataElements).operator, 'ne');
    assert.deepEqual(parseMetadataFilter('id:in:[a,b,c]', dataElements).value, ['a', 'b', 'c']);
    assert.deepEqual(parseMetadataFilter('code:null', dataElements), { property: 'code', operator: 'null' });
    assert.deepEqual(parseMetadataFilter('categoryCombo:!null', dataElements).operator, '!null');
  });
  it('refuses unknown properties and operators, naming them', () => {
    rejectsWith('F1020', /^colour filter=colour:eq:red dataElements .*valueType/, () =>
      parseMetadataFilter('colour:eq:red', dataElements),
    );
    rejectsWith('F1021', /^gtx filter=name:gtx:1/, () => parseMetadataFilter('name:gtx:1', dataElements));
    rejectsWith('F1022', /needs a value/, () => parseMetadataFilter('name:eq', dataElements));
    rejectsWith('F1022', /list/, () => parseMetadataFilter('id:in:a,b', dataElements));
    rejectsWith('F1022', /null or !null/, () => parseMetadataFilter('categoryCombo:eq:x', dataElements));
    rejectsWith('F1020', /^legendSets /, () => parseMetadataFilter('legendSets:null', dataElements));
  });
});
