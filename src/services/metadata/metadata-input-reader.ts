import type { FerryContext } from '../ferry-context-types.ts';
import { FerryError } from '../../errors.ts';
import { openInput } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { decodeMetadataJson, type MetadataItem } from '../../codecs/metadata-json/metadata-json-decoder.ts';
import { decodeMetadataXml } from '../../codecs/metadata-xml/metadata-xml-decoder.ts';
import { decodeMetadataCsv, csvImportClass } from '../../codecs/metadata-csv/metadata-csv-decoder.ts';
import type { MetadataFormat, MetadataImportParams } from '../../domain/metadata-import/import-params.ts';

// The reading stage of a metadata import: which format a body is in, and its objects decoded as a
// stream (JSON, XML, or one CSV class).

export interface MetadataImportInput {
  /** The body, spooled to disk (gzip or zip detected by magic bytes). */
  path: string;
  /** For messages and for guessing the format from the extension. */
  fileName: string;
  contentType?: string;
}

export interface MetadataInputFormat {
  format: MetadataFormat;
  /** For a CSV membership class: the list property whose members are added to stored objects. */
  membershipProperty?: string;
}

/**
 * The format of an input (the `format` parameter, else content type, file extension or first
 * character) and, for CSV, its class: a missing classKey is F1004, an unknown one F1000.
 */
export async function metadataInputFormat(
  context: FerryContext,
  input: MetadataImportInput,
  params: MetadataImportParams,
): Promise<MetadataInputFormat> {
  const format = params.format ?? (await detectFormat(input));
  if (format === 'csv' && !params.classKey) throw new FerryError('F1004', ['classKey']);
  const membership = format === 'csv' ? csvImportClass(context.registry, params.classKey!) : undefined;
  if (format === 'csv' && !membership) {
    throw new FerryError('F1000', ['classKey', params.classKey!, csvClassKeys(context).join(', ')]);
  }
  return { format, membershipProperty: membership?.membershipProperty };
}

/** The input's objects, decoded as they stream in; a malformed body is F1001 naming file and place. */
export async function* readMetadataInput(
  context: FerryContext,
  input: MetadataImportInput,
  format: MetadataFormat,
  params: MetadataImportParams,
): AsyncIterable<MetadataItem> {
  try {
    const opened = await openInput(input.path, input.fileName);
    const text = decodeUtf8(opened.chunks, input.fileName);
    const items =
      format === 'json'
        ? decodeMetadataJson(text, input.fileName)
        : format === 'xml'
          ? decodeMetadataXml(text, input.fileName, context.registry)
          : decodeMetadataCsv(
              text,
              input.fileName,
              context.registry,
              params.classKey!,
              params.firstRowIsHeader,
            );
    yield* items;
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
}

function csvClassKeys(context: FerryContext): string[] {
  return [
    ...context.registry.schemas.filter((s) => s.csvClassKey).map((s) => s.csvClassKey!),
    'ORGANISATION_UNIT_GROUP_MEMBERSHIP',
    'DATA_ELEMENT_GROUP_MEMBERSHIP',
    'INDICATOR_GROUP_MEMBERSHIP',
    'OPTION_GROUP_SET_MEMBERSHIP',
  ];
}

async function detectFormat(input: MetadataImportInput): Promise<MetadataFormat> {
  const type = (input.contentType ?? '').toLowerCase();
  if (type.includes('json')) return 'json';
  if (type.includes('xml')) return 'xml';
  if (type.includes('csv')) return 'csv';
  const name = input.fileName.toLowerCase().replace(/\.(gz|zip)$/, '');
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.xml')) return 'xml';
  if (name.endsWith('.csv')) return 'csv';
  // Sniff the first non-blank character of the (possibly compressed) body.
  const opened = await openInput(input.path, input.fileName);
  for await (const text of decodeUtf8(opened.chunks, input.fileName)) {
    const first = text.trimStart()[0];
    if (first === undefined) continue;
    return first === '<' ? 'xml' : first === '{' ? 'json' : 'csv';
  }
  return 'json';
}
