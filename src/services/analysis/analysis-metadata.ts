import type { FerryContext } from '../ferry-context-types.ts';
import { INVALID_VALUE_LABEL, type AnalysisVariable } from '../../domain/analysis/analysis-variables.ts';
import type { AnalysisFile, AnalysisFormat } from './analysis-file-writers.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { encodeDdiCodebook, type DdiFile, type DdiVariable } from '../../codecs/ddi/ddi-codebook-encoder.ts';
import { encodePdfForm, type PdfFormRow } from '../../codecs/pdf-form/pdf-form-encoder.ts';
import { translatedField, translationLocales } from '../../domain/metadata-translations/translated-field.ts';
import { collectDependencies } from '../metadata/metadata-dependency-service.ts';
import { buildExportRequest, encodeMetadata } from '../metadata/metadata-export-service.ts';
import { generateDataEntryForm } from '../data-values/pdf-form-service.ts';

/**
 * The metadata an analysis export carries on request (`metadata=true`), after Survey Solutions'
 * "include meta": under `Metadata/` in the zip,
 * - `ddi.xml`: a DDI Codebook 2.5 of every data file (ddi-codebook-encoder.ts);
 * - `<stem>.json`: the data set's or program's definition as DHIS2 metadata JSON, the package
 *   `GET /api/dataSets/{uid}/metadata` (or `/api/programs/{uid}/metadata`) returns;
 * - `Forms/<stem> (<locale>).pdf`: the questionnaire, once in the stored labels (`default`) and once
 *   per locale the metadata has translations in: a data set's data entry form as Ferry draws it
 *   (`GET /api/dataSets/{uid}/form.pdf`), a program's stages with their data elements.
 */

/** One data file of the export as the codebook describes it. */
export interface AnalysisMetadataFile {
  name: string;
  /** What the file holds, in words. */
  contents: string;
  rows: number;
  /** The file format in words ("Stata 14+ (.dta format 118)"). */
  format: string;
  /** Binary formats store numbers and dates as numbers; tab and CSV as text. */
  typed: boolean;
  /** Value labels as the file stores them: numbers (Stata, SPSS) or the option codes (tab, CSV, Parquet). */
  codesAsText: boolean;
  /** The file's variables: the name written, its storage, what it was made from, its declared missing value. */
  variables: readonly { name: string; type: string; source: AnalysisVariable; missing?: string }[];
}

export interface AnalysisMetadataInput {
  /** `dataSets` or `programs`. */
  collection: 'dataSets' | 'programs';
  object: MetadataObject;
  /** A legal file name stem for the definition and the forms (the data set's code, else name). */
  stem: string;
  files: readonly AnalysisMetadataFile[];
  produced: Date;
  dataKind: string;
  /** What was asked for, in words (the readme's line), as the codebook's abstract. */
  abstract: string;
}

const FORMAT_NAMES: Record<AnalysisFormat, string> = {
  tab: 'tab-separated (UTF-8)',
  csv: 'CSV (UTF-8)',
  stata: 'Stata 14+ (.dta format 118)',
  spss: 'SPSS (.sav)',
  parquet: 'Apache Parquet',
};

/** The codebook's view of a data file written by analysisFile. */
export function metadataFileOf(
  format: AnalysisFormat,
  file: AnalysisFile,
  name: string,
  rows: number,
  contents: string,
): AnalysisMetadataFile {
  return {
    name,
    contents,
    rows,
    format: FORMAT_NAMES[format],
    typed: format !== 'tab' && format !== 'csv',
    codesAsText: format !== 'stata' && format !== 'spss',
    variables: file.variables.map((v, i) => ({
      name: v.name,
      type: v.type,
      source: file.sources[i],
      ...(file.declaredMissing?.[i] !== undefined ? { missing: file.declaredMissing[i] } : {}),
    })),
  };
}

type AddEntry = (name: string, chunks: AsyncIterable<string | Uint8Array>) => Promise<void>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const ref = (value: unknown): string | undefined =>
  (value as { id?: unknown } | undefined)?.id as string | undefined;

function ddiVariable(file: AnalysisMetadataFile, v: AnalysisMetadataFile['variables'][number]): DdiVariable {
  const { source } = v;
  const coded = source.codes !== undefined;
  const numeric = file.typed
    ? source.kind !== 'string' && !(coded && file.codesAsText) && v.type !== 'string'
    : source.kind !== 'string' && !coded;
  const byNumber = new Map((source.valueLabels ?? []).map((l) => [l.value, l.label]));
  const categories = coded
    ? file.codesAsText
      ? [...source.codes!].map(([code, number]) => ({ value: code, label: byNumber.get(number) ?? code }))
      : (source.valueLabels ?? []).map((l) => ({ value: String(l.value), label: l.label }))
    : undefined;
  // "not a valid value" (a stored value the column's type can't hold), declared missing in Stata and SPSS.
  const declared =
    v.missing !== undefined ? [{ value: v.missing, label: INVALID_VALUE_LABEL, missing: true }] : [];
  const all = [...(categories ?? []), ...declared];
  return {
    name: v.name,
    label: source.label,
    ...(source.description ? { description: source.description } : {}),
    type: numeric ? 'numeric' : 'character',
    storage: v.type,
    ...(source.kind === 'date' ? { category: 'date' as const } : {}),
    ...(source.kind === 'datetime' ? { category: 'time' as const } : {}),
    ...(all.length > 0 ? { categories: all } : {}),
  };
}

/** The DDI codebook of the export's files, as XML text chunks. */
export function ddiCodebook(input: AnalysisMetadataInput): Iterable<string> {
  const { object } = input;
  const files: DdiFile[] = input.files.map((file) => ({
    name: file.name,
    contents: file.contents,
    rows: file.rows,
    format: file.format,
    variables: file.variables.map((v) => ddiVariable(file, v)),
  }));
  const altTitles = [text(object.code), text(object.shortName)].filter(
    (t, i, all) => t !== '' && t !== text(object.name) && all.indexOf(t) === i,
  );
  return encodeDdiCodebook({
    id: object.id,
    title: text(object.name) || object.id,
    altTitles,
    ...(object.version !== undefined && object.version !== null ? { version: String(object.version) } : {}),
    producer: 'Ferry (DHIS2-compatible HMIS)',
    produced: input.produced,
    abstract: [text(object.description), input.abstract].filter(Boolean).join('\n'),
    dataKind: input.dataKind,
    files,
  });
}

/** The translations' locales of a data set or program and the objects its questionnaire shows. */
async function questionnaireLocales(context: FerryContext, input: AnalysisMetadataInput): Promise<string[]> {
  const objects: (MetadataObject | undefined)[] = [input.object];
  if (input.collection === 'dataSets') {
    const uids = (Array.isArray(input.object.dataSetElements) ? input.object.dataSetElements : [])
      .map((d) => ref((d as { dataElement?: unknown }).dataElement))
      .filter((id): id is string => !!id);
    objects.push(...(await context.metadata.findBy('dataElements', 'uid', uids)).map((r) => r.object));
  } else {
    const { stages, elements } = await programQuestionnaire(context, input.object);
    objects.push(...stages, ...elements.values());
  }
  return translationLocales(objects);
}

async function programQuestionnaire(context: FerryContext, program: MetadataObject) {
  const stageUids = (Array.isArray(program.programStages) ? program.programStages : [])
    .map(ref)
    .filter((id): id is string => !!id);
  const stages = (await context.metadata.findBy('programStages', 'uid', stageUids))
    .map((r) => r.object)
    .sort(
      (a, b) =>
        Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0) || text(a.name).localeCompare(text(b.name)),
    );
  const elementUids = stages.flatMap((s) =>
    (Array.isArray(s.programStageDataElements) ? s.programStageDataElements : [])
      .map((p) => ref((p as { dataElement?: unknown }).dataElement))
      .filter((id): id is string => !!id),
  );
  const elements = new Map(
    (await context.metadata.findBy('dataElements', 'uid', [...new Set(elementUids)])).map((r) => [
      r.object.id,
      r.object,
    ]),
  );
  const attributeUids = (
    Array.isArray(program.programTrackedEntityAttributes) ? program.programTrackedEntityAttributes : []
  )
    .map((p) => ref((p as { trackedEntityAttribute?: unknown }).trackedEntityAttribute))
    .filter((id): id is string => !!id);
  const attributes = (await context.metadata.findBy('trackedEntityAttributes', 'uid', attributeUids)).map(
    (r) => r.object,
  );
  return { stages, elements, attributes };
}

const label = (object: MetadataObject, locale: string | undefined) =>
  (locale && (translatedField(object, 'formName', locale) || translatedField(object, 'name', locale))) ||
  text(object.formName) ||
  text(object.name) ||
  object.id;

/** A program's questionnaire as a PDF: its attributes (tracker programs), then each stage's data elements. */
async function programForm(
  context: FerryContext,
  program: MetadataObject,
  locale: string | undefined,
): Promise<Uint8Array> {
  const { stages, elements, attributes } = await programQuestionnaire(context, program);
  const sections: { name: string; rows: PdfFormRow[] }[] = [];
  const row = (object: MetadataObject): PdfFormRow => ({
    dataElementId: object.id,
    label: label(object, locale),
    valueType: text(object.valueType) || 'TEXT',
    fields: [{ optionComboId: 'value', label: '' }],
  });
  if (attributes.length > 0) sections.push({ name: 'Attributes', rows: attributes.map(row) });
  for (const stage of stages) {
    const rows = (Array.isArray(stage.programStageDataElements) ? stage.programStageDataElements : [])
      .map((p) => elements.get(ref((p as { dataElement?: unknown }).dataElement) ?? ''))
      .filter((e): e is MetadataObject => !!e)
      .map(row);
    sections.push({
      name: `${(locale && translatedField(stage, 'name', locale)) || text(stage.name) || stage.id}${stage.repeatable ? ' (repeatable)' : ''}`,
      rows,
    });
  }
  return encodePdfForm({
    title: (locale && translatedField(program, 'name', locale)) || text(program.name) || program.id,
    dataSetId: program.id,
    sections,
  });
}

async function* toAsync(chunks: Iterable<string>): AsyncIterable<string> {
  yield* chunks;
}

async function* once(chunk: string | Uint8Array): AsyncIterable<string | Uint8Array> {
  yield chunk;
}

/**
 * Adds `<folder>ddi.xml`, `<folder><stem>.json` and `<folder>Forms/<stem> (<locale>).pdf` to the
 * archive (folder default `Metadata/`); returns the entries' names for the readme.
 */
export async function addAnalysisMetadata(
  context: FerryContext,
  input: AnalysisMetadataInput,
  addEntry: AddEntry,
  folder = 'Metadata/',
): Promise<string[]> {
  const names: string[] = [];
  const add = async (name: string, chunks: AsyncIterable<string | Uint8Array>) => {
    await addEntry(name, chunks);
    names.push(name);
  };
  await add(`${folder}ddi.xml`, toAsync(ddiCodebook(input)));
  const packaged = await collectDependencies(context, input.collection, input.object.id);
  // Sharing is left out: who may read the data on this server is no part of its definition.
  const request = buildExportRequest(context.registry, {}, 'json', true);
  request.collections = [...packaged.keys()];
  await add(
    `${folder}${input.stem}.json`,
    encodeMetadata(context, request, async function* (collection) {
      yield packaged.get(collection) ?? [];
    }),
  );
  for (const locale of [undefined, ...(await questionnaireLocales(context, input))]) {
    const bytes =
      input.collection === 'dataSets'
        ? (await generateDataEntryForm(context, { dataSet: input.object.id, ...(locale ? { locale } : {}) }))
            .bytes
        : await programForm(context, input.object, locale);
    await add(`${folder}Forms/${input.stem} (${locale ?? 'default'}).pdf`, once(bytes));
  }
  return names;
}
