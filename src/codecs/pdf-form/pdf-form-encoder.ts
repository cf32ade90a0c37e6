import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';

/** Field names DHIS2 gives its PDF data entry forms (`PdfDataEntryFormUtil`). */
export const PDF_ORG_UNIT_FIELD = 'TXFD_OrgID';
export const PDF_PERIOD_FIELD = 'TXFD_PeriodID';
/** Ferry's addition: the data set, so an import can check elements belong to it. */
export const PDF_DATA_SET_FIELD = 'TXFD_DataSetID';
export const PDF_VALUE_FIELD_PREFIX = 'TXFDDV_';
/** DHIS2's suffix for a check box field (TRUE_ONLY): checked means `true`. */
export const PDF_CHECKBOX_SUFFIX = '_T4';

export interface PdfFormField {
  optionComboId: string;
  label: string;
}

export interface PdfFormRow {
  dataElementId: string;
  label: string;
  valueType: string;
  fields: readonly PdfFormField[];
}

export interface PdfFormModel {
  title: string;
  dataSetId: string;
  orgUnitId?: string;
  orgUnitLabel?: string;
  periodId?: string;
  periodLabel?: string;
  sections: ReadonlyArray<{ name: string; rows: readonly PdfFormRow[] }>;
}

/** The name of a value field: `TXFDDV_<dataElement>_<optionCombo>` (+ `_T4` for a check box). */
export function valueFieldName(dataElementId: string, optionComboId: string, checkbox: boolean): string {
  return `${PDF_VALUE_FIELD_PREFIX}${dataElementId}_${optionComboId}${checkbox ? PDF_CHECKBOX_SUFFIX : ''}`;
}

/**
 * The standard PDF fonts encode WinAnsi only; other characters are shown as `?` (the field values a
 * user types are not affected: PDF viewers render those with their own fonts).
 */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
}

function fit(text: string, font: PDFFont, size: number, width: number): string {
  let out = printable(text);
  if (font.widthOfTextAtSize(out, size) <= width) return out;
  while (out.length > 1 && font.widthOfTextAtSize(`${out}…`.replace('…', '...'), size) > width) {
    out = out.slice(0, -1);
  }
  return `${out}...`;
}

const PAGE_WIDTH = 595.28; // A4 in points
const PAGE_HEIGHT = 841.89;
const MARGIN = 40;
const LABEL_WIDTH = 190;
const FIELD_WIDTH = 80;
const FIELD_HEIGHT = 16;
const FIELD_GAP = 6;

/**
 * Builds a fillable PDF (AcroForm) data entry form: a header with the org unit and period fields,
 * then each section with a row per data element and a field per option combo, labelled with the
 * combo's name, wrapping rows onto further lines and pages as needed.
 */
export async function encodePdfForm(model: PdfFormModel): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(printable(model.title));
  doc.setCreator('Ferry');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const form = doc.getForm();
  let page: PDFPage = doc.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  let y = PAGE_HEIGHT - MARGIN;
  const ensure = (height: number): void => {
    if (y - height < MARGIN) {
      page = doc.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
      y = PAGE_HEIGHT - MARGIN;
    }
  };
  const text = (
    value: string,
    x: number,
    size: number,
    f: PDFFont = font,
    width = PAGE_WIDTH - x - MARGIN,
  ): void => {
    page.drawText(fit(value, f, size, width), { x, y, size, font: f, color: rgb(0, 0, 0) });
  };
  const textField = (name: string, x: number, width: number, value?: string, readOnly = false): void => {
    const field = form.createTextField(name);
    if (value !== undefined) field.setText(value);
    field.addToPage(page, { x, y: y - 4, width, height: FIELD_HEIGHT, font, borderWidth: 1 });
    if (readOnly) field.enableReadOnly();
  };

  text(model.title, MARGIN, 16, bold);
  y -= 28;
  text('Organisation unit', MARGIN, 10, bold, 110);
  textField(PDF_ORG_UNIT_FIELD, MARGIN + 115, 110, model.orgUnitId);
  if (model.orgUnitLabel) text(model.orgUnitLabel, MARGIN + 235, 9);
  y -= 22;
  text('Period', MARGIN, 10, bold, 110);
  textField(PDF_PERIOD_FIELD, MARGIN + 115, 110, model.periodId);
  if (model.periodLabel) text(model.periodLabel, MARGIN + 235, 9);
  y -= 22;
  text('Data set', MARGIN, 10, bold, 110);
  textField(PDF_DATA_SET_FIELD, MARGIN + 115, 110, model.dataSetId, true);
  y -= 30;

  const perLine = Math.max(
    1,
    Math.floor((PAGE_WIDTH - 2 * MARGIN - LABEL_WIDTH) / (FIELD_WIDTH + FIELD_GAP)),
  );
  for (const section of model.sections) {
    ensure(40);
    text(section.name, MARGIN, 12, bold);
    y -= 20;
    for (const row of section.rows) {
      const checkbox = row.valueType === 'TRUE_ONLY';
      const lines = Math.ceil(row.fields.length / perLine);
      ensure(lines * 30 + 4);
      text(row.label, MARGIN, 9, font, LABEL_WIDTH - 8);
      for (let i = 0; i < row.fields.length; i++) {
        const field = row.fields[i];
        const column = i % perLine;
        if (i > 0 && column === 0) y -= 30;
        const x = MARGIN + LABEL_WIDTH + column * (FIELD_WIDTH + FIELD_GAP);
        if (field.label !== '') {
          page.drawText(fit(field.label, font, 6, FIELD_WIDTH), { x, y: y + 14, size: 6, font });
        }
        const name = valueFieldName(row.dataElementId, field.optionComboId, checkbox);
        if (checkbox) {
          const box = form.createCheckBox(name);
          box.addToPage(page, { x, y: y - 4, width: FIELD_HEIGHT, height: FIELD_HEIGHT, borderWidth: 1 });
        } else {
          textField(name, x, FIELD_WIDTH);
        }
      }
      y -= 32;
    }
    y -= 8;
  }
  form.updateFieldAppearances(font);
  return doc.save();
}
