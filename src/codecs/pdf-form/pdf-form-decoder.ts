import { PDFCheckBox, PDFDocument, PDFDropdown, PDFTextField } from 'pdf-lib';
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
 * A PDF is read whole (its cross-reference table is at the end), so it gets a size limit of its
 * own: a data entry form is tens of kilobytes; 32 MiB leaves room for scanned attachments.
 */
export const MAX_PDF_BYTES = 32 * 1024 * 1024;

async function readAll(chunks: AsyncIterable<Uint8Array>, fileName: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > MAX_PDF_BYTES)
      throw new Error(`${fileName}: a PDF form is larger than ${MAX_PDF_BYTES} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

/**
 * Reads a filled PDF data entry form (DHIS2's AcroForm naming, as `encodePdfForm` writes it): the
 * org unit and period fields become the header, every filled `TXFDDV_<dataElement>_<optionCombo>`
 * field a value. Empty fields are skipped (an untouched field is not a deletion); a `_T4` check box
 * gives `true` when checked.
 */
export async function* decodePdfForm(
  input: DataValueDecodeInput,
  _options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(await readAll(input.chunks, input.fileName), { updateMetadata: false });
  } catch (error) {
    yield [
      {
        kind: 'issue',
        fatal: true,
        message: `${input.fileName}: not a readable PDF: ${(error as Error).message}`,
      },
    ];
    return;
  }
  const fields = doc.getForm().getFields();
  const header: DataValueSetHeader = {};
  const textOf = (name: string): string | undefined => {
    const field = fields.find((f) => f.getName() === name);
    const value = field instanceof PDFTextField ? field.getText()?.trim() : undefined;
    return value === '' ? undefined : value;
  };
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
      message: `${input.fileName}: the form's ${!orgUnit ? PDF_ORG_UNIT_FIELD : PDF_PERIOD_FIELD} field is empty`,
    });
    yield items;
    return;
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
  yield items;
}

export const pdfFormDecoder: DataValueDecoder = {
  format: 'pdf',
  contentTypes: ['application/pdf'],
  fileExtensions: ['.pdf'],
  decode: decodePdfForm,
};
