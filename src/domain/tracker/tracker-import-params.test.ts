import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_TRACKER_IMPORT_PARAMS,
  parseTrackerImportParams,
  TrackerParameterError,
} from './tracker-import-params.ts';

/** Every parameter of POST /api/tracker in issue 12's list, as DHIS2 and its Import/Export app send them. */
describe('parseTrackerImportParams', () => {
  it('defaults as DHIS2: async, COMMIT, CREATE_AND_UPDATE, ALL, FULL, ERRORS, rules on', () => {
    assert.deepEqual(parseTrackerImportParams({}), DEFAULT_TRACKER_IMPORT_PARAMS);
  });

  it('takes every value in any case, strategy as importStrategy, dryRun as VALIDATE', () => {
    const parsed = parseTrackerImportParams({
      async: 'FALSE',
      importMode: 'validate',
      strategy: 'delete',
      atomicMode: 'object',
      validationMode: 'fail_fast',
      reportMode: 'full',
      skipRuleEngine: 'True',
    });
    assert.deepEqual(parsed, {
      async: false,
      importMode: 'VALIDATE',
      importStrategy: 'DELETE',
      atomicMode: 'OBJECT',
      validationMode: 'FAIL_FAST',
      reportMode: 'FULL',
      skipRuleEngine: true,
    });
    assert.equal(parseTrackerImportParams({ dryRun: 'true' }).importMode, 'VALIDATE');
    assert.equal(
      parseTrackerImportParams({ importStrategy: 'update', strategy: 'x' }).importStrategy,
      'UPDATE',
    );
    assert.equal(parseTrackerImportParams({ validationMode: 'skip' }).validationMode, 'SKIP');
  });

  it('reads the id schemes, the specific ones falling back to idScheme', () => {
    const parsed = parseTrackerImportParams({
      idScheme: 'code',
      orgUnitIdScheme: 'ATTRIBUTE:fmtOuAttr01',
      programStageIdScheme: 'name',
      eventIdScheme: 'uid',
    });
    assert.deepEqual(parsed.idSchemes, {
      other: { kind: 'CODE' },
      orgUnit: { kind: 'ATTRIBUTE', attributeUid: 'fmtOuAttr01' },
      program: { kind: 'CODE' },
      programStage: { kind: 'NAME' },
      dataElement: { kind: 'CODE' },
      categoryOptionCombo: { kind: 'CODE' },
      categoryOption: { kind: 'CODE' },
    });
    assert.equal(
      parseTrackerImportParams({ idScheme: 'UID', dataElementIdScheme: 'uid' }).idSchemes,
      undefined,
    );
  });

  it('accepts the parameters DHIS2 takes and ignores', () => {
    const parsed = parseTrackerImportParams({
      identifier: 'UID',
      preheatMode: 'REFERENCE',
      mergeMode: 'MERGE',
      skipSharing: 'false',
      inclusionStrategy: 'NON_NULL',
      flushMode: 'auto',
      skipSideEffects: 'true',
      skipPatternValidation: 'false',
      skipFirst: 'false',
    });
    assert.deepEqual(parsed, DEFAULT_TRACKER_IMPORT_PARAMS);
  });

  it('refuses an unknown value naming the parameter', () => {
    const bad: Array<[string, string]> = [
      ['async', 'sometimes'],
      ['importMode', 'PRETEND'],
      ['importStrategy', 'MERGE'],
      ['strategy', 'SOMETIMES'],
      ['atomicMode', 'NONE'],
      ['validationMode', 'LAZY'],
      ['reportMode', 'ALL'],
      ['skipRuleEngine', 'yes'],
      ['dryRun', 'maybe'],
      ['flushMode', 'NEVER'],
      ['skipSideEffects', '1'],
      ['skipPatternValidation', 'no'],
      ['skipFirst', 'maybe'],
      ['idScheme', 'CODEX'],
      ['orgUnitIdScheme', 'ATTRIBUTE:not-a-uid'],
      ['programIdScheme', 'ID_OF'],
      ['programStageIdScheme', 'X'],
      ['dataElementIdScheme', 'X'],
      ['categoryOptionComboIdScheme', 'X'],
      ['categoryOptionIdScheme', 'X'],
      ['eventIdScheme', 'CODE'],
    ];
    for (const [name, value] of bad)
      assert.throws(
        () => parseTrackerImportParams({ [name]: value }),
        (error: unknown) => error instanceof TrackerParameterError && error.parameter === name,
        `${name}=${value}`,
      );
  });
});
