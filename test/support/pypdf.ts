import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Storage } from '../../src/storage/storage.ts';

/**
 * Debian's pypdf, the independent tool the PDF form tests read and fill forms with, as a user's
 * viewer would: Ferry's own PDF code never checks itself.
 */
function findPypdf(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import pypdf'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return undefined;
}
const PYTHON = findPypdf();
const MISSING = 'python3-pypdf is not installed';

/** The `skip` of a test that needs pypdf. */
export const PYPDF_SKIP: string | false = PYTHON ? false : MISSING;

const FIELDS_SCRIPT = `
import sys, json
from pypdf import PdfReader
fields = PdfReader(sys.argv[1]).get_fields()
print(json.dumps({name: field.get('/V') for name, field in fields.items()}))
`;
const FILL_SCRIPT = `
import sys, json
from pypdf import PdfReader, PdfWriter
writer = PdfWriter()
writer.append(PdfReader(sys.argv[1]))
values = json.loads(sys.argv[3])
for page in writer.pages:
    writer.update_page_form_field_values(page, values)
with open(sys.argv[2], 'wb') as out:
    writer.write(out)
`;

function python(script: string, ...args: string[]): string {
  assert.ok(PYTHON, MISSING);
  const run = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** Every field of the form at `path`, by name, with its value (null where it has none). */
export function pdfFormFields(path: string): Record<string, string | null> {
  return JSON.parse(python(FIELDS_SCRIPT, path)) as Record<string, string | null>;
}

/** Writes to `filled` the form at `blank` with `values` (by field name) typed in. */
export function fillPdfForm(blank: string, filled: string, values: Record<string, string>): void {
  python(FILL_SCRIPT, blank, filled, JSON.stringify(values));
}

/**
 * Asserts that the database holds exactly `values`, keyed by the form field each was typed in
 * (`TXFDDV_<data element>_<category option combo>`), all of them at `orgUnit` and `period`.
 */
export async function assertStoredFormValues(
  storage: Storage,
  values: Record<string, string>,
  orgUnit: string,
  period: string,
): Promise<void> {
  const rows = await storage.query<{ de: string; coc: string; value: string; ou: string; pe: string }>(
    `SELECT de.uid AS de, coc.uid AS coc, dv.value AS value, ou.uid AS ou, p.iso AS pe FROM data_value dv
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN period p ON p.period_id = dv.period_id`,
  );
  assert.deepEqual(Object.fromEntries(rows.map((r) => [`TXFDDV_${r.de}_${r.coc}`, r.value])), values);
  assert.ok(rows.every((r) => r.ou === orgUnit && r.pe === period));
}
