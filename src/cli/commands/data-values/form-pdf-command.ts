import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { generateDataEntryForm } from '../../../services/data-values/pdf-form-service.ts';

export const formPdfCommand: CliCommand = {
  path: ['form', 'pdf'],
  summary: 'Write a fillable PDF data entry form for a data set',
  usage: `Usage: ferry form pdf --data-set DS [--org-unit OU] [--period PE] -o FILE

Writes the AcroForm PDF that GET /api/dataSets/{uid}/form.pdf returns. Filled in offline (any PDF
viewer), it imports with 'ferry import data FILE.pdf' or POST /api/dataValueSets (application/pdf).
  --data-set ID        data set UID or code (required)
  --org-unit ID        org unit UID or code, filled in on the form
  --period PE          ISO period of the data set's period type, filled in on the form
  -o, --output FILE    where to write (required)
${databaseUsage(23)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-set': { type: 'string' },
        'org-unit': { type: 'string' },
        period: { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...DATABASE_OPTIONS,
      },
    });
    const dataSet = values['data-set'];
    if (!dataSet) throw new UsageError('--data-set is required.');
    if (!values.output) throw new UsageError('-o FILE is required.');
    const output = resolve(values.output);
    return withCliContext(values, async (context) => {
      const form = await generateDataEntryForm(context, {
        dataSet,
        orgUnit: values['org-unit'],
        period: values.period,
      });
      writeFileSync(output, form.bytes);
      console.log(`Wrote ${output} (${form.bytes.length} bytes)`);
      return 0;
    });
  },
};
