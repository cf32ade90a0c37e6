import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatIdScheme, IdSchemes, parseIdScheme } from './id-scheme.ts';

const schemesOf = (general?: string, specific: Record<string, string> = {}): IdSchemes =>
  new IdSchemes(
    general === undefined ? undefined : parseIdScheme(general),
    Object.fromEntries(Object.entries(specific).map(([key, text]) => [key, parseIdScheme(text)])),
  );
const schemeFor = (schemes: IdSchemes, key: string): string => formatIdScheme(schemes.schemeFor(key));

describe('IdSchemes', () => {
  it('gives a specific scheme before the general one, and UID when neither is given', () => {
    const schemes = schemesOf('CODE', { orgUnit: 'NAME' });
    assert.equal(schemeFor(schemes, 'orgUnit'), 'NAME');
    assert.equal(schemeFor(schemes, 'dataElement'), 'CODE');
    assert.equal(schemeFor(schemesOf(), 'dataElement'), 'UID');
  });

  it("overriddenBy: the file's schemes beat the query's, its general one included (DHIS2 2.42)", () => {
    const query = schemesOf('NAME', { orgUnit: 'ATTRIBUTE:SchemeAttr1', dataElement: 'UID' });
    // The file names one type: the query still decides the others.
    const specificOnly = query.overriddenBy(schemesOf(undefined, { orgUnit: 'CODE' }));
    assert.equal(schemeFor(specificOnly, 'orgUnit'), 'CODE');
    assert.equal(schemeFor(specificOnly, 'dataElement'), 'UID');
    assert.equal(schemeFor(specificOnly, 'categoryOptionCombo'), 'NAME');
    // The file's general scheme stands for every type it names no scheme for.
    const general = query.overriddenBy(schemesOf('CODE', { dataElement: 'NAME' }));
    assert.equal(schemeFor(general, 'orgUnit'), 'CODE');
    assert.equal(schemeFor(general, 'dataElement'), 'NAME');
    assert.equal(schemeFor(general, 'categoryOptionCombo'), 'CODE');
    assert.equal(query.overriddenBy(undefined), query);
  });
});
