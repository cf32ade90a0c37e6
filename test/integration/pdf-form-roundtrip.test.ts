import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-value-import-service.ts';
import { generateDataEntryForm } from '../../src/services/pdf-form-service.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

const DATA_SET = 'VEM58nY22sO'; // TA Malaria elimination, Monthly
const ORG_UNIT = 'DiszpKrYNg8';
const PERIOD = '201912';

/** A Python with Debian's pypdf: the independent tool that fills the form as a user's viewer would. */
function findPypdf(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import pypdf'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return undefined;
}
const PYTHON = findPypdf();

const FILL_SCRIPT = `
import sys, json
from pypdf import PdfReader, PdfWriter
reader = PdfReader(sys.argv[1])
writer = PdfWriter()
writer.append(reader)
values = json.loads(sys.argv[3])
for page in writer.pages:
    writer.update_page_form_field_values(page, values)
with open(sys.argv[2], 'wb') as out:
    writer.write(out)
`;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`PDF data entry form round trip (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadAggregateE2eMetadata(db.storage);
    });
    after(async () => {
      await db?.dispose();
    });

    it('lays out a field per data element and option combo, named as DHIS2 names them', async () => {
      const form = await generateDataEntryForm(context, {
        dataSet: DATA_SET,
        orgUnit: ORG_UNIT,
        period: PERIOD,
      });
      const doc = await PDFDocument.load(form.bytes);
      const names = doc
        .getForm()
        .getFields()
        .map((f) => f.getName());
      assert.ok(names.includes('TXFD_OrgID'));
      assert.ok(names.includes('TXFD_PeriodID'));
      assert.equal(doc.getForm().getTextField('TXFD_OrgID').getText(), ORG_UNIT);
      assert.equal(doc.getForm().getTextField('TXFD_PeriodID').getText(), PERIOD);
      // The age and sex combo of dFaBg0HpoIL... every element of the set has at least one field.
      const valueFields = names.filter((n) => n.startsWith('TXFDDV_'));
      const dataSet = await context.metadata.get('dataSets', DATA_SET);
      const elements = (dataSet!.dataSetElements as Array<{ dataElement: { id: string } }>).map(
        (e) => e.dataElement.id,
      );
      for (const element of elements) {
        assert.ok(
          valueFields.some((n) => n.startsWith(`TXFDDV_${element}_`)),
          `a field for ${element}`,
        );
      }
      assert.ok(valueFields.every((n) => /^TXFDDV_[A-Za-z0-9]{11}_[A-Za-z0-9]{11}(_T4)?$/.test(n)));
      assert.ok(doc.getPageCount() >= 2, 'a 66-element form runs over several pages');
    });

    it(
      'imports a form filled by pypdf',
      { skip: PYTHON ? false : 'python3-pypdf is not installed' },
      async () => {
        const form = await generateDataEntryForm(context, {
          dataSet: DATA_SET,
          orgUnit: ORG_UNIT,
          period: PERIOD,
        });
        const blank = join(db.dataDir, 'form.pdf');
        const filled = join(db.dataDir, 'filled.pdf');
        writeFileSync(blank, form.bytes);
        const names = (await PDFDocument.load(form.bytes))
          .getForm()
          .getFields()
          .map((f) => f.getName())
          .filter((n) => n.startsWith('TXFDDV_') && !n.endsWith('_T4'));
        // Fill the first three integer-like fields, leave the rest empty.
        const chosen = names.slice(0, 3);
        const values = Object.fromEntries(chosen.map((name, i) => [name, String(10 + i)]));
        const run = spawnSync(PYTHON!, ['-c', FILL_SCRIPT, blank, filled, JSON.stringify(values)], {
          encoding: 'utf8',
        });
        assert.equal(run.status, 0, run.stderr);

        const summary = await importDataValues(
          context,
          { path: filled, fileName: 'filled.pdf', contentType: 'application/pdf' },
          {},
          undefined,
        );
        assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
        assert.deepEqual(summary.importCount, { imported: 3, updated: 0, ignored: 0, deleted: 0 });
        const rows = await db.storage.query<{
          de: string;
          coc: string;
          value: string;
          ou: string;
          pe: string;
        }>(
          `SELECT de.uid AS de, coc.uid AS coc, dv.value AS value, ou.uid AS ou, p.iso AS pe FROM data_value dv
           JOIN metadata_object de ON de.sid = dv.data_element_id
           JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
           JOIN metadata_object ou ON ou.sid = dv.org_unit_id
           JOIN period p ON p.period_id = dv.period_id`,
        );
        const got = Object.fromEntries(rows.map((r) => [`TXFDDV_${r.de}_${r.coc}`, r.value]));
        assert.deepEqual(got, values);
        assert.ok(rows.every((r) => r.ou === ORG_UNIT && r.pe === PERIOD));
      },
    );

    it('refuses a period of the wrong type', async () => {
      await assert.rejects(
        generateDataEntryForm(context, { dataSet: DATA_SET, orgUnit: ORG_UNIT, period: '2019' }),
        /a Monthly period/,
      );
    });
  });
}
