import { PDFCheckBox, PDFDocument, PDFDropdown, PDFTextField, type PDFField } from 'pdf-lib';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { pdfStreamProblem } from './pdf-stream-check.ts';
import type { DataValueItem, DataValueSetHeader } from '../../domain/data-values/data-value-input.ts';
import type {
  DataValueDecoder,
  DataValueDecodeInput,
  DataValueDecodeOptions,
} from '../data-value-decoder-types.ts';
import {
  PDF_CHECKBOX_SUFFIX,
  PDF_DATA_SET_FIELD,
  PDF_ORG_UNIT_FIELD,
  PDF_PERIOD_FIELD,
  PDF_VALUE_FIELD_PREFIX,
} from './pdf-form-encoder.ts';

/**
 * A PDF is read whole (its cross-reference table is at the end), so it has a size limit of its own
 * (`INPUT_LIMITS.maxPdfBytes`, with the reason).
 */
export const MAX_PDF_BYTES = INPUT_LIMITS.maxPdfBytes;

async function readAll(chunks: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array | string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > maxBytes) return `it is larger than ${maxBytes} bytes (the limit for a PDF form)`;
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

/**
 * The form's fields read through pdf-lib, or why they cannot be: a file pdf-lib cannot parse, one
 * without a catalog or form, a field dictionary of the wrong shape. pdf-lib throws TypeErrors on
 * such files, well after `load`; every one of them is the file's fault, never the server's.
 */
async function readForm(
  bytes: Uint8Array,
): Promise<{ fields: PDFField[]; textOf: (name: string) => string | undefined } | string> {
  try {
    const doc = await PDFDocument.load(bytes, { updateMetadata: false });
    const fields = doc.getForm().getFields();
    const textOf = (name: string): string | undefined => {
      const field = fields.find((f) => f.getName() === name);
      const value = field instanceof PDFTextField ? field.getText()?.trim() : undefined;
      return value === '' ? undefined : value;
    };
    return { fields, textOf };
  } catch (error) {
    return pdfLibProblem(error);
  }
}

/** pdf-lib's error as the file's problem: its TypeErrors mean a structure of the wrong shape. */
function pdfLibProblem(error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  return error instanceof TypeError
    ? `its structure is broken (no document catalog, or a form or field of the wrong shape: ${detail})`
    : detail;
}

/**
 * Reads a filled PDF data entry form (DHIS2's AcroForm naming, as `encodePdfForm` writes it): the
 * org unit and period fields become the header, every filled `TXFDDV_<dataElement>_<optionCombo>`
 * field a value. Empty fields are skipped (an untouched field is not a deletion); a `_T4` check box
 * gives `true` when checked.
 */
export async function* decodePdfForm(
  input: DataValueDecodeInput,
  options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  const bytes = await readAll(input.chunks, options.limits.maxPdfBytes);
  // Inflation is bounded before pdf-lib sees the file: pdf-lib inflates without a bound.
  const problem =
    typeof bytes === 'string' ? bytes : await pdfStreamProblem(bytes, options.limits.maxPdfExpandedBytes);
  const form = problem ?? (await readForm(bytes as Uint8Array));
  if (typeof form === 'string') {
    yield [{ kind: 'issue', fatal: true, message: `${input.fileName}: not a readable PDF form: ${form}` }];
    return;
  }
  let items: DataValueItem[];
  try {
    items = formItems(form.fields, form.textOf, input.fileName);
  } catch (error) {
    // pdf-lib reads field dictionaries lazily: a malformed one throws here, and is the file's fault.
    const message = pdfLibProblem(error);
    items = [
      { kind: 'issue', fatal: true, message: `${input.fileName}: not a readable PDF form: ${message}` },
    ];
  }
  yield items;
}

/** The header and values of a form's fields, in field order. */
function formItems(
  fields: readonly PDFField[],
  textOf: (name: string) => string | undefined,
  fileName: string,
): DataValueItem[] {
  const header: DataValueSetHeader = {};
  const orgUnit = textOf(PDF_ORG_UNIT_FIELD);
  const period = textOf(PDF_PERIOD_FIELD);
  const dataSet = textOf(PDF_DATA_SET_FIELD);
  if (orgUnit) header.orgUnit = orgUnit;
  if (period) header.period = period;
  if (dataSet) header.dataSet = dataSet;
  const items: DataValueItem[] = [{ kind: 'header', header }];
  if (!orgUnit || !period) {
    items.push({
      kind: 'issue',
      fatal: true,
      message: `${fileName}: the form's ${!orgUnit ? PDF_ORG_UNIT_FIELD : PDF_PERIOD_FIELD} field is empty`,
    });
    return items;
  }
  let index = 0;
  for (const field of fields) {
    const name = field.getName();
    if (!name.startsWith(PDF_VALUE_FIELD_PREFIX)) continue;
    const checkbox = name.endsWith(PDF_CHECKBOX_SUFFIX);
    const key = name.slice(PDF_VALUE_FIELD_PREFIX.length, checkbox ? -PDF_CHECKBOX_SUFFIX.length : undefined);
    const [dataElement, categoryOptionCombo, ...rest] = key.split('_');
    const position = { index };
    if (!dataElement || !categoryOptionCombo || rest.length > 0) {
      items.push({
        kind: 'issue',
        position,
        message: `field \`${name}\` is not named TXFDDV_<dataElement>_<optionCombo>`,
      });
      index++;
      continue;
    }
    let value: string | undefined;
    if (field instanceof PDFCheckBox) value = field.isChecked() ? 'true' : undefined;
    else if (field instanceof PDFTextField) value = field.getText()?.trim();
    else if (field instanceof PDFDropdown) value = field.getSelected()[0]?.trim();
    if (value === undefined || value === '') continue;
    items.push({ kind: 'value', position, value: { dataElement, categoryOptionCombo, value } });
    index++;
  }
  return items;
}

export const pdfFormDecoder: DataValueDecoder = {
  format: 'pdf',
  contentTypes: ['application/pdf'],
  fileExtensions: ['.pdf'],
  decode: decodePdfForm,
};
