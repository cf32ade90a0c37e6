import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports, type ImportReport } from '../../src/domain/metadata-import/import-report.ts';

// What published DHIS2 metadata packages need from the import (issue 11): unknown collections are
// skipped with a warning, uniqueness is DHIS2's, creator references are soft, and DHIS2's default
// category model objects skip required-property checks.

async function withDatabase(kind: 'sqlite' | 'postgres', work: (context: FerryContext) => Promise<void>) {
  const db: TestDatabase = await createTestDatabase(kind);
  try {
    await work(createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage));
  } finally {
    await db.dispose();
  }
}

function codes(report: ImportReport): string[] {
  return allErrorReports(report).map((e) => e.errorCode);
}

const dataElement = (id: string, name: string, shortName = name) => ({
  id,
  name,
  shortName,
  valueType: 'NUMBER',
  domainType: 'AGGREGATE',
  aggregationType: 'SUM',
});

const indicatorType = { id: 'inTypeAAAA1', name: 'Per cent', factor: 100 };
const indicator = (id: string, name: string, shortName: string) => ({
  id,
  name,
  shortName,
  indicatorType: { id: indicatorType.id },
  numerator: '1',
  denominator: '1',
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata packages as DHIS2 imports them, on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('skips a collection it does not know with a warning naming it and its count; the rest imports', async () => {
      await withDatabase(kind, async (context) => {
        const report = await importMetadataObjects(context, {
          dataElements: [dataElement('deKnownAAA1', 'Known')],
          notAMetadataType: [{ id: 'unknownAAA1' }, { id: 'unknownAAA2' }],
        });
        assert.equal(report.status, 'WARNING');
        assert.ok(await context.metadata.get('dataElements', 'deKnownAAA1'), 'the known object is written');
        assert.equal(report.stats.created, 1);
        assert.equal(report.stats.ignored, 2);
        const skipped = report.typeReports.find((t) => t.klass === 'notAMetadataType');
        assert.ok(skipped, 'a type report names the collection');
        assert.equal(skipped.stats.ignored, 2);
        const [warning] = skipped.objectReports.flatMap((o) => o.errorReports);
        assert.equal(warning.errorCode, 'E6002');
        assert.match(warning.message, /notAMetadataType.*2 objects skipped/);
      });
    });

    it('takes uniqueness from DHIS2: shared visualization, indicator, data set and program names pass', async () => {
      await withDatabase(kind, async (context) => {
        const first = await importMetadataObjects(context, {
          indicatorTypes: [indicatorType],
          indicators: [
            indicator('indicatorA1', 'ANC coverage', 'ANC cov'),
            indicator('indicatorA2', 'ANC coverage', 'ANC cov'),
          ],
          visualizations: [
            { id: 'vizAAAAAAA1', name: 'ANC by district', type: 'COLUMN' },
            { id: 'vizAAAAAAA2', name: 'ANC by district', type: 'PIVOT_TABLE' },
          ],
          dashboards: [
            { id: 'dashboardA1', name: 'ANC' },
            { id: 'dashboardA2', name: 'ANC' },
          ],
          userGroups: [
            { id: 'userGroupA1', name: 'Nurses' },
            { id: 'userGroupA2', name: 'Nurses' },
          ],
        });
        assert.equal(first.status, 'OK', JSON.stringify(allErrorReports(first)));
        // Against stored objects too (E5003 is only for properties DHIS2 marks unique).
        const second = await importMetadataObjects(context, {
          indicators: [indicator('indicatorA3', 'ANC coverage', 'ANC cov')],
          visualizations: [{ id: 'vizAAAAAAA3', name: 'ANC by district', type: 'COLUMN' }],
        });
        assert.equal(second.status, 'OK', JSON.stringify(allErrorReports(second)));
        assert.equal(await context.metadata.count('indicators'), 3);
        // What DHIS2 does mark unique stays unique: a data element's short name.
        const clash = await importMetadataObjects(context, {
          dataElements: [
            dataElement('deUniqueAA1', 'One', 'Same'),
            dataElement('deUniqueAA2', 'Two', 'Same'),
          ],
        });
        assert.deepEqual(codes(clash), ['E5005']);
        assert.equal(allErrorReports(clash)[0].errorProperty, 'shortName');
      });
    });

    it('treats the creator (`user`, `createdBy`, `lastUpdatedBy`) as soft: an unknown one is replaced by the importer', async () => {
      await withDatabase(kind, async (context) => {
        await context.users.ensureAdmin({ password: 'district' });
        const principal = await context.auth.principalFor((await context.users.findByUsername('admin'))!.id);
        const stranger = { id: 'GOLswS44mh8' };
        const report = await importMetadataObjects(
          context,
          {
            dataElements: [
              { ...dataElement('deCreatorA1', 'Created elsewhere'), user: stranger },
              {
                ...dataElement('deCreatorA2', 'Stamped elsewhere'),
                createdBy: stranger,
                lastUpdatedBy: stranger,
              },
            ],
          },
          {},
          principal,
        );
        assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        const owned = await context.metadata.get('dataElements', 'deCreatorA1');
        assert.deepEqual(owned?.user, { id: principal.uid });
        const stamped = await context.metadata.get('dataElements', 'deCreatorA2');
        assert.deepEqual(stamped?.createdBy, { id: principal.uid });
        assert.deepEqual(stamped?.lastUpdatedBy, { id: principal.uid });
        // The operator's import (no principal) leaves the object without a creator.
        const operator = await importMetadataObjects(context, {
          dataElements: [{ ...dataElement('deCreatorA3', 'Operator'), user: stranger }],
        });
        assert.equal(operator.status, 'OK', JSON.stringify(allErrorReports(operator)));
        assert.equal((await context.metadata.get('dataElements', 'deCreatorA3'))?.user, undefined);
        // Other user references stay hard: a user group naming an unknown member is refused.
        const member = await importMetadataObjects(context, {
          userGroups: [{ id: 'userGroupB1', name: 'Group', users: [stranger] }],
        });
        assert.deepEqual(codes(member), ['E5002']);
      });
    });

    it('skips required-property checks for the default category model, and only for it', async () => {
      await withDatabase(kind, async (context) => {
        const report = await importMetadataObjects(context, {
          // Older packages ship the default option without a shortName and the combo without a type.
          categoryOptions: [{ id: 'xYerKDKCefk', name: 'default', code: 'default' }],
          categories: [{ id: 'GLevLNI9wkl', name: 'default', categoryOptions: [{ id: 'xYerKDKCefk' }] }],
          categoryCombos: [{ id: 'bjDvmb4bfuf', name: 'default', categories: [{ id: 'GLevLNI9wkl' }] }],
          categoryOptionCombos: [
            {
              id: 'HllvX50cXC0',
              name: 'default',
              categoryCombo: { id: 'bjDvmb4bfuf' },
              categoryOptions: [{ id: 'xYerKDKCefk' }],
            },
          ],
        });
        assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        assert.ok(await context.metadata.get('categoryOptions', 'xYerKDKCefk'));
        const other = await importMetadataObjects(context, {
          categoryOptions: [{ id: 'catOptionA1', name: 'Not default' }],
        });
        assert.deepEqual(codes(other), ['E4000']);
        assert.equal(allErrorReports(other)[0].errorProperty, 'shortName');
      });
    });
  });
}
