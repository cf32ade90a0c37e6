import { csvSource } from './csv-source.ts';
import { jsonSource } from './json-source.ts';
import { xlsxSource } from './xlsx-source.ts';
import type { WizardSource } from './wizard-source.ts';

/**
 * The sources a mapping can name, by `source.kind`. API, instance and Go.Data sources register
 * here too (each a WizardSource in this folder); file sources need a file at run time.
 */
export const WIZARD_SOURCES: Readonly<Record<string, WizardSource<unknown>>> = {
  csv: csvSource as WizardSource<unknown>,
  json: jsonSource as WizardSource<unknown>,
  xlsx: xlsxSource as WizardSource<unknown>,
};

/** Source kinds that read a file given at run time (an upload, `--file`). */
export const FILE_SOURCE_KINDS: ReadonlySet<string> = new Set(['csv', 'json', 'xlsx']);
