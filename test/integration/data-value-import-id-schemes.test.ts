import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import { FerryError } from '../../src/errors.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';
import { storedDataValue } from '../support/stored-values.ts';

/**
 * Identifier schemes on data value import (DHIS2 2.42 `DefaultDataValueSetService`): UID, CODE,
 * NAME and ATTRIBUTE:<uid>; a specific scheme (`orgUnitIdScheme`) beats the general `idScheme`;
 * schemes in the file beat the query's. Every case has a control that fails under the wrong scheme,
 * so a scheme that is ignored can't pass by accident.
 */

const DEFAULT = 'HllvX50cXC0';
const ATTRIBUTE = 'SchemeAttr1';
const DE = { uid: 'SchemeDE001', code: 'SCHEME_DE', name: 'Scheme element', external: 'ext-de-1' };
const DE_AGE = { uid: 'SchemeDEAge', name: 'Scheme age element' };
const OU = { uid: 'SchemeOU001', code: 'SCHEME_OU', name: 'Scheme clinic', external: 'ext-ou-1' };
const AGE_COC = { uid: 'oPcWGgS2Liz', name: 'TA 0-4 years' }; // of the fixtures' combo BwnnrV1AkNj

const attributeValue = (value: string) => [{ attribute: { id: ATTRIBUTE }, value }];

const SCHEME_METADATA = {
  attributes: [
    {
      id: ATTRIBUTE,
      name: 'External id',
      code: 'EXTERNAL_ID',
      valueType: 'TEXT',
      unique: true,
      dataElementAttribute: true,
      organisationUnitAttribute: true,
    },
  ],
  dataElements: [
    {
      id: DE.uid,
      code: DE.code,
      name: DE.name,
      shortName: 'Scheme element',
      valueType: 'NUMBER',
      domainType: 'AGGREGATE',
      aggregationType: 'SUM',
      zeroIsSignificant: true,
      categoryCombo: { id: 'bjDvmb4bfuf' },
      attributeValues: attributeValue(DE.external),
    },
    {
      id: DE_AGE.uid,
      name: DE_AGE.name,
      shortName: 'Scheme age',
      valueType: 'NUMBER',
      domainType: 'AGGREGATE',
      aggregationType: 'SUM',
      zeroIsSignificant: true,
      categoryCombo: { id: 'BwnnrV1AkNj' },
    },
  ],
  organisationUnits: [
    {
      id: OU.uid,
      code: OU.code,
      name: OU.name,
      shortName: OU.name,
      parent: { id: 'YuQRtpLP10I' },
      level: 4,
      openingDate: '1970-01-01T00:00:00.000',
      attributeValues: attributeValue(OU.external),
    },
  ],
};

const HEADER = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value import id schemes (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let files: ValueFiles;

    before(async () => {
      db = await createTestDatabase(kind);
      files = valueFiles(contextFor(db.storage, db.dataDir), db.dataDir, 'schemes');
      // One load, so the new clinic's path runs through the fixtures' Badjia.
      await loadAggregateE2eMetadata(db.storage, [SCHEME_METADATA]);
    });
    after(async () => {
      await db?.dispose();
    });

    const importCsv = (rows: string[], params: Record<string, string> = {}) =>
      files.importText(HEADER + rows.join('\n'), 'csv', params);
    const importJson = (json: unknown, params: Record<string, string> = {}) =>
      files.importText(JSON.stringify(json), 'json', params);

    /** The stored value of (data element, period, org unit, option combo), by UIDs. */
    const storedValue = async (
      de: string,
      pe: string,
      ou = OU.uid,
      coc = DEFAULT,
    ): Promise<string | null | undefined> =>
      (
        await storedDataValue(db.storage, {
          dataElement: de,
          period: pe,
          orgUnit: ou,
          categoryOptionCombo: coc,
          attributeOptionCombo: DEFAULT,
        })
      )?.value;
    const codes = (summary: ImportSummary): string[][] =>
      summary.conflicts.map((c) => [c.errorCode, c.object]);

    it('idScheme=NAME resolves data elements, org units and option combos by name', async () => {
      const rows = [
        `${DE.name},2001,${OU.name},default,default,1`,
        `${DE_AGE.name},2001,${OU.name},${AGE_COC.name},default,2`,
      ];
      // Control: by UID (the default) none of the names resolve.
      const byUid = await importCsv(rows);
      assert.deepEqual(codes(byUid), [
        ['E7610', DE.name],
        ['E7610', DE_AGE.name],
      ]);

      const byName = await importCsv(rows, { idScheme: 'NAME' });
      assert.equal(byName.status, 'SUCCESS', JSON.stringify(byName.conflicts));
      assert.deepEqual(byName.importCount, { imported: 2, updated: 0, ignored: 0, deleted: 0 });
      assert.equal(await storedValue(DE.uid, '2001'), '1');
      assert.equal(await storedValue(DE_AGE.uid, '2001', OU.uid, AGE_COC.uid), '2');
      assert.deepEqual(byName.importOptions.idSchemes, { idScheme: 'NAME' });
    });

    it('ATTRIBUTE:<uid> resolves by the attribute value, for the general and for a specific scheme', async () => {
      const scheme = `ATTRIBUTE:${ATTRIBUTE}`;
      const row = `${DE.external},2002,${OU.external},,,5`;
      // Control: the attribute values are not codes.
      assert.deepEqual(codes(await importCsv([row], { idScheme: 'CODE' })), [['E7610', DE.external]]);

      const general = await importCsv([row], { idScheme: scheme });
      assert.equal(general.status, 'SUCCESS', JSON.stringify(general.conflicts));
      assert.equal(general.importCount.imported, 1);
      assert.equal(await storedValue(DE.uid, '2002'), '5');

      // Only the org unit by attribute, the data element by code; the scheme is case-insensitive.
      const specific = await importCsv([`${DE.code},2003,${OU.external},,,6`], {
        dataElementIdScheme: 'code',
        orgUnitIdScheme: `attribute:${ATTRIBUTE}`,
      });
      assert.equal(specific.status, 'SUCCESS', JSON.stringify(specific.conflicts));
      assert.equal(await storedValue(DE.uid, '2003'), '6');

      // An attribute nothing carries finds nothing.
      const other = await importCsv([`${DE.external},2004,${OU.uid},,,7`], {
        dataElementIdScheme: 'ATTRIBUTE:NoSuchAttr1',
      });
      assert.deepEqual(codes(other), [['E7610', DE.external]]);
    });

    it("refuses an id scheme it can't read: 400 F1000 for the query's, ERROR for the file's", async () => {
      await assert.rejects(
        importCsv([`${DE.uid},2005,${OU.uid},,,1`], { orgUnitIdScheme: 'ATTRIBUTE:not-a-uid' }),
        (error: unknown) =>
          error instanceof FerryError && error.code === 'F1000' && error.args[0] === 'orgUnitIdScheme',
      );
      await assert.rejects(
        importCsv([`${DE.uid},2005,${OU.uid},,,1`], { idScheme: 'SHORTNAME' }),
        (error: unknown) =>
          error instanceof FerryError && error.code === 'F1000' && error.args[0] === 'idScheme',
      );
      const fromFile = await importJson({
        idScheme: 'SHORTNAME',
        dataValues: [{ dataElement: DE.uid, period: '2005', orgUnit: OU.uid, value: '1' }],
      });
      assert.equal(fromFile.status, 'ERROR');
      assert.match(fromFile.description, /id scheme/);
      assert.equal(await storedValue(DE.uid, '2005'), undefined);
    });

    it("the query's orgUnitIdScheme beats its idScheme", async () => {
      const row = `${DE.name},2006,${OU.code},,,8`;
      // Control: with the general scheme alone the org unit's code is not a name.
      assert.deepEqual(codes(await importCsv([row], { idScheme: 'NAME' })), [['E7612', OU.code]]);

      const summary = await importCsv([row], { idScheme: 'NAME', orgUnitIdScheme: 'CODE' });
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(await storedValue(DE.uid, '2006'), '8');

      // And the other way round: a specific UID under a general CODE.
      const uidUnderCode = await importCsv([`${DE.code},2007,${OU.uid},,,9`], {
        idScheme: 'CODE',
        orgUnitIdScheme: 'UID',
      });
      assert.equal(uidUnderCode.status, 'SUCCESS', JSON.stringify(uidUnderCode.conflicts));
      assert.equal(await storedValue(DE.uid, '2007'), '9');
    });

    it("the file's idScheme beats the query's idScheme (JSON root)", async () => {
      const file = {
        idScheme: 'CODE',
        dataValues: [{ dataElement: DE.code, period: '2008', orgUnit: OU.code, value: '10' }],
      };
      // Control: the same values under the query's scheme alone are not names.
      const control = await importJson({ ...file, idScheme: undefined }, { idScheme: 'NAME' });
      assert.deepEqual(codes(control), [['E7610', DE.code]]);

      const summary = await importJson(file, { idScheme: 'NAME' });
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(await storedValue(DE.uid, '2008'), '10');
    });

    it("the file's orgUnitIdScheme beats the query's orgUnitIdScheme (JSON root and DXF2 XML root)", async () => {
      const json = await importJson(
        {
          orgUnitIdScheme: 'NAME',
          dataValues: [{ dataElement: DE.uid, period: '2009', orgUnit: OU.name, value: '11' }],
        },
        { orgUnitIdScheme: 'CODE' },
      );
      assert.equal(json.status, 'SUCCESS', JSON.stringify(json.conflicts));
      assert.equal(await storedValue(DE.uid, '2009'), '11');

      const xml = await files.importText(
        `<?xml version="1.0" encoding="UTF-8"?>
<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" dataElementIdScheme="CODE" orgUnitIdScheme="NAME">
  <dataValue dataElement="${DE.code}" period="2010" orgUnit="${OU.name}" value="12"/>
</dataValueSet>`,
        'xml',
        { dataElementIdScheme: 'NAME', orgUnitIdScheme: 'UID' },
      );
      assert.equal(xml.status, 'SUCCESS', JSON.stringify(xml.conflicts));
      assert.equal(await storedValue(DE.uid, '2010'), '12');

      // The file's specific scheme beats its own general one, as the query's do.
      const both = await importJson({
        idScheme: 'NAME',
        orgUnitIdScheme: 'CODE',
        dataValues: [{ dataElement: DE.name, period: '2011', orgUnit: OU.code, value: '13' }],
      });
      assert.equal(both.status, 'SUCCESS', JSON.stringify(both.conflicts));
      assert.equal(await storedValue(DE.uid, '2011'), '13');
    });

    // DHIS2 2.42: a file's orgUnitIdScheme is its own or else its idScheme
    // (DataValueSet.getOrgUnitIdSchemeProperty), used before anything the query gives.
    it("the file's general idScheme beats the query's specific orgUnitIdScheme", async () => {
      const summary = await importJson(
        {
          idScheme: 'CODE',
          dataValues: [{ dataElement: DE.code, period: '2012', orgUnit: OU.code, value: '14' }],
        },
        { orgUnitIdScheme: 'NAME' },
      );
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(await storedValue(DE.uid, '2012'), '14');
    });
  });
}
