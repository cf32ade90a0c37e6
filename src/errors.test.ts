import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOG, FerryError } from './errors.ts';

const ERRORS_DOC = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

describe('error catalog', () => {
  it('documents every code in docs/errors.md', () => {
    const undocumented = Object.keys(ERROR_CATALOG).filter((code) => !ERRORS_DOC.includes(code));
    assert.deepEqual(undocumented, []);
  });

  it('fills message arguments and carries the HTTP status', () => {
    const error = new FerryError('F1000', ['importStrategy', 'SOMETIMES', 'CREATE, UPDATE']);
    assert.equal(error.status, 400);
    assert.equal(
      error.message,
      'Invalid value for parameter `importStrategy`: `SOMETIMES`; allowed: CREATE, UPDATE',
    );
  });
});
