import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jaroWinkler, NameMatcher, normaliseName } from './name-matching.ts';

test('Jaro-Winkler gives the textbook values', () => {
  assert.equal(Math.round(jaroWinkler('MARTHA', 'MARHTA') * 1000) / 1000, 0.961);
  assert.equal(Math.round(jaroWinkler('DWAYNE', 'DUANE') * 1000) / 1000, 0.84);
  assert.equal(jaroWinkler('', 'x'), 0);
  assert.equal(jaroWinkler('same', 'same'), 1);
});

test('normalising drops case, accents, punctuation and spacing', () => {
  assert.equal(normaliseName('  Kénéma — District  '), 'kenema district');
  assert.equal(normaliseName('ANC 1st visit (<20y)'), 'anc 1st visit lt 20y');
});

test('suggestions: exact, then normalised, then fuzzy with a lower confidence; ambiguous names are not sure', () => {
  const matcher = new NameMatcher([
    { id: 'a', label: 'Malaria cases', names: ['Malaria cases', 'DE_MAL_CASES', 'Malaria'] },
    { id: 'b', label: 'Malaria tests', names: ['Malaria tests', 'DE_MAL_TESTS'] },
    { id: 'c', label: 'Ngalu CHC', names: ['Ngalu CHC'] },
    { id: 'd', label: 'Ngalu CHC', names: ['Ngalu CHC'] },
  ]);
  assert.deepEqual(matcher.suggest('DE_MAL_CASES')[0], {
    id: 'a',
    label: 'Malaria cases',
    method: 'exact',
    confidence: 1,
    matchedOn: 'DE_MAL_CASES',
  });
  assert.equal(matcher.suggest('malaria  CASES')[0].method, 'normalised');
  const fuzzy = matcher.suggest('Malaria case');
  assert.equal(fuzzy[0].id, 'a');
  assert.equal(fuzzy[0].method, 'fuzzy');
  assert.ok(fuzzy[0].confidence < 0.95 && fuzzy[0].confidence >= 0.8);
  assert.equal(matcher.sureMatch('Malaria case'), undefined, 'a fuzzy match is never sure');
  assert.equal(matcher.sureMatch('Ngalu CHC'), undefined, 'two org units of one name are not sure');
  assert.equal(matcher.sureMatch('malaria tests')?.id, 'b');
  assert.deepEqual(matcher.suggest('Completely different'), []);
});
