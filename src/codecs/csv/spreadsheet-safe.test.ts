import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FORMULA_START, isFormulaLike, neutraliseFormula } from './spreadsheet-safe.ts';

describe('neutraliseFormula', () => {
  it("puts ' before every cell a spreadsheet would run as a formula (OWASP's six starts)", () => {
    const probes: Array<[string, string]> = [
      ['=1+1', "'=1+1"],
      ['+1+1', "'+1+1"],
      ['-x', "'-x"],
      ['@SUM(A1)', "'@SUM(A1)"],
      ['\t=1+1', "'\t=1+1"],
      ['\r=1+1', "'\r=1+1"],
      ['=HYPERLINK("http://example.org","click")', '\'=HYPERLINK("http://example.org","click")'],
      ["-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"],
      ['-5+A1', "'-5+A1"],
      ['+', "'+"],
      ['-', "'-"],
      ['--5', "'--5"],
      ['-5 ', "'-5 "],
      ['-1,5', "'-1,5"],
      ['\tplain', "'\tplain"],
      // A leading + is quoted even on a number: numeric values never carry one (see the module).
      ['+1', "'+1"],
      ['+3.2', "'+3.2"],
      ['+23276123456', "'+23276123456"],
    ];
    for (const [text, expected] of probes) {
      assert.equal(neutraliseFormula(text), expected, JSON.stringify(text));
      assert.equal(isFormulaLike(text), true, JSON.stringify(text));
    }
  });

  it('leaves real negative numbers alone', () => {
    for (const number of ['-5', '-0', '-0.5', '-.5', '-7.', '-1e5', '-2.5E-3', '-2.5e+3', '12', '3.14']) {
      assert.equal(neutraliseFormula(number), number);
      assert.equal(isFormulaLike(number), false, number);
    }
  });

  it('leaves text that starts with anything else alone, including formula characters further in', () => {
    for (const text of [
      '',
      'abc',
      'a=1+1',
      ' =1+1',
      "'=1+1",
      '1+1',
      '5-3',
      'x@y.org',
      'Bo (-5)',
      '\u00a0=1',
    ]) {
      assert.equal(neutraliseFormula(text), text, JSON.stringify(text));
    }
  });

  it('keeps no state between tests (no g flag)', () => {
    assert.equal(FORMULA_START.flags.includes('g'), false);
    assert.equal(FORMULA_START.test('=1'), true);
    assert.equal(FORMULA_START.test('=1'), true);
  });
});
