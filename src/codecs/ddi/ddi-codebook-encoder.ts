/**
 * DDI Codebook 2.5 XML (namespace `ddi:codebook:2_5`) describing the data files of an analysis
 * export: the study (the data set or program: title, identifier, version, producer, production
 * date), one `fileDscr` per data file (name, contents, cases, variables, format) and one `var` per
 * column of each file (name, label, the data element's description, categories with their labels,
 * numeric or character format, dates marked as dates). Elements appear in the order the schema's
 * sequences require; `test/integration/analysis-metadata.test.ts` validates the output with
 * `xmllint --schema` against the DDI Alliance's XSD. Written as a stream of small strings.
 */

export interface DdiCategory {
  value: string;
  label: string;
  /** A declared missing value (e.g. "not a valid value"). */
  missing?: boolean;
}

export interface DdiVariable {
  name: string;
  label: string;
  /** The data element's (or attribute's) description, when it has one. */
  description?: string;
  /** Stored as a number or as text in this file. */
  type: 'numeric' | 'character';
  /** How the value is written in this file, e.g. `long %td`, `F12.0`, `string`. */
  storage?: string;
  /** Dates and date-times are numbers in Stata and SPSS; this says which. */
  category?: 'date' | 'time';
  categories?: readonly DdiCategory[];
}

export interface DdiFile {
  name: string;
  /** What the file holds, in words. */
  contents: string;
  rows: number;
  /** e.g. "Stata 14+ (.dta format 118)". */
  format: string;
  variables: readonly DdiVariable[];
}

export interface DdiCodebook {
  /** The study's identifier (the data set's or program's UID). */
  id: string;
  title: string;
  /** Other names: the code, the short name. */
  altTitles?: readonly string[];
  version?: string;
  producer: string;
  /** The export's time. */
  produced: Date;
  abstract?: string;
  /** e.g. "aggregate data", "event/transaction data". */
  dataKind: string;
  /** The language of labels, `xml:lang` (a BCP 47 tag such as `fr` or `pt-BR`); none for the default. */
  language?: string;
  files: readonly DdiFile[];
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * Text for XML 1.0: the five escapes, and characters XML cannot hold at all (C0 controls other than
 * tab, CR and LF, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD, so a stray control character
 * in a label never makes the file unreadable.
 */
export function xmlText(value: string): string {
  return value
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c])
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      '\ufffd',
    );
}

function element(name: string, text: string, attributes: Record<string, string | undefined> = {}): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlText(v!)}"`)
    .join('');
  return `<${name}${attrs}>${xmlText(text)}</${name}>`;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The codebook as XML text chunks (a file's variables are written one at a time). */
export function* encodeDdiCodebook(book: DdiCodebook): Generator<string> {
  const day = isoDay(book.produced);
  const lang = book.language ? { 'xml:lang': book.language.replace('_', '-') } : {};
  yield '<?xml version="1.0" encoding="UTF-8"?>\n';
  yield (
    `<codeBook xmlns="ddi:codebook:2_5" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
    `xsi:schemaLocation="ddi:codebook:2_5 http://www.ddialliance.org/Specification/DDI-Codebook/2.5/XMLSchema/codebook.xsd" ` +
    `version="2.5" ID="${xmlText(`study_${book.id}`)}"${book.language ? ` xml:lang="${xmlText(lang['xml:lang']!)}"` : ''}>\n`
  );
  const producer = `${element('producer', book.producer)}${element('prodDate', day, { date: day })}`;
  yield (
    `  <docDscr><citation><titlStmt>${element('titl', `${book.title}: codebook`)}</titlStmt>` +
    `<prodStmt>${producer}</prodStmt></citation></docDscr>\n`
  );
  yield '  <stdyDscr>\n    <citation>';
  yield `<titlStmt>${element('titl', book.title)}`;
  for (const alt of book.altTitles ?? []) yield element('altTitl', alt);
  yield `${element('IDNo', book.id, { agency: 'DHIS2' })}</titlStmt>`;
  yield `<prodStmt>${producer}</prodStmt>`;
  if (book.version !== undefined) yield `<verStmt>${element('version', book.version)}</verStmt>`;
  yield '</citation>\n    <stdyInfo>';
  if (book.abstract) yield element('abstract', book.abstract);
  yield `<sumDscr>${element('dataKind', book.dataKind)}</sumDscr></stdyInfo>\n  </stdyDscr>\n`;
  for (let f = 0; f < book.files.length; f++) {
    const file = book.files[f];
    // charset="UTF-8": every file Ferry writes is UTF-8 (Stata 118, SPSS with record 7.20, tab, CSV, Parquet).
    yield (
      `  <fileDscr ID="F${f + 1}" URI="${xmlText(file.name)}"><fileTxt>` +
      element('fileName', file.name) +
      element('fileCont', file.contents) +
      `<dimensns>${element('caseQnty', String(file.rows))}${element('varQnty', String(file.variables.length))}</dimensns>` +
      element('fileType', file.format, { charset: 'UTF-8' }) +
      '</fileTxt></fileDscr>\n'
    );
  }
  yield '  <dataDscr>\n';
  for (let f = 0; f < book.files.length; f++) {
    const file = book.files[f];
    for (let v = 0; v < file.variables.length; v++) {
      const variable = file.variables[v];
      const parts = [element('labl', variable.label, { level: 'variable' })];
      if (variable.description) parts.push(element('txt', variable.description));
      for (const category of variable.categories ?? []) {
        parts.push(
          `<catgry${category.missing ? ' missing="Y"' : ''}>${element('catValu', category.value)}${element('labl', category.label, { level: 'category' })}</catgry>`,
        );
      }
      parts.push(
        element('varFormat', variable.storage ?? '', {
          type: variable.type,
          schema: 'other',
          ...(variable.category ? { category: variable.category } : {}),
        }),
      );
      yield (
        `    <var ID="V${f + 1}_${v + 1}" name="${xmlText(variable.name)}" files="F${f + 1}"` +
        `${variable.categories && variable.categories.length > 0 ? ' intrvl="discrete"' : variable.type === 'numeric' && !variable.category ? ' intrvl="contin"' : ''}>` +
        `${parts.join('')}</var>\n`
      );
    }
  }
  yield '  </dataDscr>\n</codeBook>\n';
}
