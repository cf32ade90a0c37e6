import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import yazl from 'yazl';

/**
 * Writes small (or streamed, very large) .xlsx workbooks for the import wizard's tests with yazl:
 * the parts Excel itself writes (content types, workbook, relationships, styles with a date format,
 * shared strings, sheets). A cell is a string (shared), a number, a boolean, `{date: serial}` (a
 * number styled as a date), `{formula, cached?}`, `{inline: text}` or `{error: '#DIV/0!'}`.
 */
export type XlsxCell =
  | string
  | number
  | boolean
  | null
  | { date: number }
  | { formula: string; cached?: string | number }
  | { inline: string }
  | { error: string };

export interface XlsxSheet {
  name: string;
  /** Rows from row 1; or an iterable for a streamed sheet (its strings must be inline). */
  rows: Iterable<XlsxCell[]>;
}

function letters(n: number): string {
  let out = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) out = String.fromCharCode(65 + ((x - 1) % 26)) + out;
  return out;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function writeXlsx(
  path: string,
  sheets: XlsxSheet[],
  options: { date1904?: boolean } = {},
): Promise<void> {
  const zip = new yazl.ZipFile();
  const strings: string[] = [];
  const index = new Map<string, number>();
  const shared = (text: string) => {
    let i = index.get(text);
    if (i === undefined) {
      i = strings.length;
      strings.push(text);
      index.set(text, i);
    }
    return i;
  };
  const cellXml = (cell: XlsxCell, ref: string): string => {
    if (cell === null) return '';
    if (typeof cell === 'string') return `<c r="${ref}" t="s"><v>${shared(cell)}</v></c>`;
    if (typeof cell === 'number') return `<c r="${ref}"><v>${cell}</v></c>`;
    if (typeof cell === 'boolean') return `<c r="${ref}" t="b"><v>${cell ? 1 : 0}</v></c>`;
    if ('date' in cell) return `<c r="${ref}" s="1"><v>${cell.date}</v></c>`;
    if ('inline' in cell) return `<c r="${ref}" t="inlineStr"><is><t>${esc(cell.inline)}</t></is></c>`;
    if ('error' in cell) return `<c r="${ref}" t="e"><v>${esc(cell.error)}</v></c>`;
    const cached =
      cell.cached === undefined
        ? ''
        : typeof cell.cached === 'string'
          ? `<v>${esc(cell.cached)}</v>`
          : `<v>${cell.cached}</v>`;
    return `<c r="${ref}"${typeof cell.cached === 'string' ? ' t="str"' : ''}><f>${esc(cell.formula)}</f>${cached}</c>`;
  };
  const sheetParts: Array<() => Readable> = sheets.map(
    (sheet) => () =>
      Readable.from(
        (function* () {
          yield '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
          let r = 0;
          let buffer = '';
          for (const row of sheet.rows) {
            r++;
            buffer += `<row r="${r}">${row.map((cell, c) => cellXml(cell, `${letters(c + 1)}${r}`)).join('')}</row>`;
            if (buffer.length > 64 * 1024) {
              yield buffer;
              buffer = '';
            }
          }
          yield buffer + '</sheetData></worksheet>';
        })(),
      ),
  );
  // Sheets first (their strings fill the shared string table), then the rest.
  sheetParts.forEach((part, i) => zip.addReadStream(part(), `xl/worksheets/sheet${i + 1}.xml`));
  const add = (name: string, text: string) => zip.addBuffer(Buffer.from(text), name);
  add(
    '[Content_Types].xml',
    `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>`,
  );
  add(
    '_rels/.rels',
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
  );
  add(
    'xl/workbook.xml',
    `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr${options.date1904 ? ' date1904="1"' : ''}/><sheets>${sheets
      .map((s, i) => `<sheet name="${esc(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
      .join('')}</sheets></workbook>`,
  );
  add(
    'xl/_rels/workbook.xml.rels',
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
      .map(
        (_, i) =>
          `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
      )
      .join(
        '',
      )}<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
  );
  add(
    'xl/styles.xml',
    `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>`,
  );
  // The shared strings are known only once the sheets are written: a lazy stream.
  zip.addReadStream(
    Readable.from(
      (function* () {
        yield `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`;
        for (const s of strings) yield `<si><t xml:space="preserve">${esc(s)}</t></si>`;
        yield '</sst>';
      })(),
    ),
    'xl/sharedStrings.xml',
  );
  zip.end();
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  await once(out, 'close');
}
