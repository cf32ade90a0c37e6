import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analysisKindOf, legalVariableName, numericCell, truncateUtf8 } from './analysis-variables.ts';

test('names are legal in each format, unique case-insensitively and stable', () => {
  const stata = new Set<string>();
  assert.equal(legalVariableName('TA_GEN_ALL-CAUSE_IPD_CASES', 'stata', stata), 'TA_GEN_ALL_CAUSE_IPD_CASES');
  assert.equal(
    legalVariableName('ta_gen_all-cause_ipd_cases', 'stata', stata),
    'ta_gen_all_cause_ipd_cases_2',
  );
  assert.equal(legalVariableName('2024 doses', 'stata', stata), '_2024_doses');
  assert.equal(legalVariableName('in', 'stata', stata), 'in_');
  assert.equal(legalVariableName('str12', 'stata', stata), 'str12_');
  assert.equal(legalVariableName('Taux de positivité', 'stata', stata), 'Taux_de_positivité');
  assert.equal(legalVariableName('ጤና ጣቢያ', 'stata', stata), 'ጤና_ጣቢያ');
  const long = legalVariableName('x'.repeat(40), 'stata', stata);
  assert.equal(long.length, 32);
  assert.equal(legalVariableName('x'.repeat(40), 'stata', stata), `${'x'.repeat(30)}_2`);
  const spss = new Set<string>();
  assert.equal(legalVariableName('_private', 'spss', spss), 'private');
  assert.equal(legalVariableName('WITH', 'spss', spss), 'WITH_');
  assert.equal(legalVariableName('2024', 'spss', spss), 'v2024');
  assert.ok(Buffer.byteLength(legalVariableName('ጤና'.repeat(40), 'spss', spss)) <= 64);
});

test('dates and date-times become Stata and SPSS numbers; impossible dates are invalid', () => {
  const date = { name: 'd', label: '', kind: 'date' as const };
  const time = { name: 't', label: '', kind: 'datetime' as const };
  assert.equal(numericCell(date, '1960-01-01', 'stata'), 0);
  assert.equal(numericCell(date, '2022-12-21', 'stata'), 23_000);
  assert.equal(numericCell(time, '1960-01-01T00:00:01.500', 'stata'), 1500);
  assert.equal(numericCell(date, '1582-10-15', 'spss'), 86_400);
  assert.equal(numericCell(date, '2024-02-30', 'stata'), 'invalid');
  assert.equal(numericCell(date, '', 'stata'), null);
});

test('numbers: decimal notation only; integers must be whole; option codes map to their numbers', () => {
  const integer = { name: 'i', label: '', kind: 'integer' as const };
  const number = { name: 'n', label: '', kind: 'number' as const };
  assert.equal(numericCell(number, '-1.5e3', 'stata'), -1500);
  assert.equal(numericCell(number, '0x10', 'stata'), 'invalid');
  assert.equal(numericCell(number, 'n/d', 'spss'), 'invalid');
  assert.equal(numericCell(integer, '2.5', 'stata'), 'invalid');
  const coded = { ...integer, codes: new Map([['LOW', 1]]) };
  assert.equal(numericCell(coded, 'LOW', 'stata'), 1);
  assert.equal(numericCell(coded, 'MEDIUM', 'stata'), 'invalid');
  assert.equal(analysisKindOf('INTEGER_POSITIVE'), 'integer');
  assert.equal(analysisKindOf('LONG_TEXT'), 'string');
  assert.equal(analysisKindOf('AGE'), 'date');
});

test('UTF-8 truncation never splits a character', () => {
  assert.equal(truncateUtf8('aé', 2), 'a');
  assert.equal(truncateUtf8('ሰላም', 7), 'ሰላ');
});
