import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DHIS2_API_VERSION, stripApiVersion } from './dhis2-version.ts';

describe('stripApiVersion', () => {
  it('serves /api/<n>/ as /api/ for the versions DHIS2 accepts', () => {
    assert.equal(DHIS2_API_VERSION, 42);
    assert.equal(stripApiVersion('/api/41/dataValueSets?dataSet=x'), '/api/dataValueSets?dataSet=x');
    assert.equal(stripApiVersion('/api/42/system/info'), '/api/system/info');
    assert.equal(stripApiVersion('/api/28/me'), '/api/me');
    assert.equal(stripApiVersion('/api/41'), '/api');
    assert.equal(stripApiVersion('/api/41?x=1'), '/api?x=1');
  });

  it('leaves other URLs alone, so unsupported versions stay unknown paths', () => {
    for (const url of [
      '/api/dataValueSets',
      '/api/27/me',
      '/api/43/me',
      '/api/410/me',
      '/api/41x/me',
      '/web/api/41/me',
      '/api/dataElements/41',
    ]) {
      assert.equal(stripApiVersion(url), url);
    }
  });
});
