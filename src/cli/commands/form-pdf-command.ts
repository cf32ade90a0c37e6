import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliCommand } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';
import { loadConfig } from '../../config.ts';
import { createFerryContext } from '../../services/ferry-context.ts';
import { generateDataEntryForm } from '../../services/pdf-form-service.ts';
import { isFerryError } from '../../errors.ts';

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
  --data-dir DIR       SQLite data directory (env FERRY_DATA_DIR)
  --database-url URL   PostgreSQL instead of SQLite (env DATABASE_URL)`,
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-set': { type: 'string' },
        'org-unit': { type: 'string' },
        period: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
      },
    });
    if (!values['data-set']) throw new UsageError('--data-set is required.');
    if (!values.output) throw new UsageError('-o FILE is required.');
    const config = loadConfig(process.env, {
      dataDir: values['data-dir'],
      databaseUrl: values['database-url'],
    });
    const context = await createFerryContext(config);
    try {
      const form = await generateDataEntryForm(context, {
        dataSet: values['data-set'],
        orgUnit: values['org-unit'],
        period: values.period,
      });
      writeFileSync(resolve(values.output), form.bytes);
      console.log(`Wrote ${resolve(values.output)} (${form.bytes.length} bytes)`);
      return 0;
    } catch (error) {
      if (isFerryError(error)) {
        console.error(`${error.code}: ${error.message}`);
        return 1;
      }
      throw error;
    } finally {
      await context.close();
    }
  },
};
