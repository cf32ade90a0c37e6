import { readJsonCollectionBatches, type JsonValue } from '../json/safe-json-reader.ts';
import { InputError } from '../input/input-error.ts';
import { validateGeometry } from '../../domain/geometry/geometry.ts';
import type { GeometryFeature } from '../gml/gml-decoder.ts';

export interface GeoJsonReadOptions {
  fileName: string;
  /** DHIS2's `geoJsonId`: true takes the feature's `id` as the identifier. */
  geoJsonId: boolean;
  /** DHIS2's `geoJsonProperty`: the property holding the identifier when `geoJsonId` is false. */
  geoJsonProperty?: string;
}

/**
 * Reads the features of a GeoJSON FeatureCollection one at a time through the safe JSON reader
 * (duplicate keys, prototype keys, depth and size limits apply). Each feature's identifier comes
 * from its `id` or from one of its properties; its geometry is validated (type, closed rings,
 * coordinates in range). The identifier is returned as `key`, matched later by the caller's scheme.
 */
export async function* decodeGeoJsonFeatures(
  text: AsyncIterable<string>,
  options: GeoJsonReadOptions,
): AsyncIterable<(GeometryFeature & { key?: string })[]> {
  let sawFeatures = false;
  let type: JsonValue | undefined;
  for await (const events of readJsonCollectionBatches(text, { fileName: options.fileName })) {
    const out: (GeometryFeature & { key?: string })[] = [];
    for (const event of events) {
      if (event.kind === 'property') {
        if (event.property === 'type') type = event.value;
        if (event.property === 'features')
          throw new InputError(options.fileName, '"features" must be an array');
        continue;
      }
      if (event.collection !== 'features') continue;
      sawFeatures = true;
      out.push(readFeature(event.value, event.index, event.line, options));
    }
    if (out.length > 0) yield out;
  }
  if (type !== undefined && type !== 'FeatureCollection') {
    throw new InputError(
      options.fileName,
      `expected a GeoJSON FeatureCollection, found type ${JSON.stringify(type)}`,
    );
  }
  if (!sawFeatures && type === undefined) {
    throw new InputError(options.fileName, 'is not a GeoJSON FeatureCollection (no "features" array)');
  }
}

function readFeature(
  value: JsonValue,
  index: number,
  line: number,
  options: GeoJsonReadOptions,
): GeometryFeature & { key?: string } {
  const base = { index, line, identifiers: {} };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ...base, problem: 'is not a GeoJSON Feature object' };
  }
  const properties = value.properties;
  let key: JsonValue | undefined;
  if (options.geoJsonId) {
    key = value.id;
  } else {
    const name = options.geoJsonProperty ?? 'id';
    key =
      properties !== null && typeof properties === 'object' && !Array.isArray(properties)
        ? properties[name]
        : undefined;
  }
  const keyText = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : undefined;
  const checked = validateGeometry(value.geometry);
  const where = { ...base, ...(keyText !== undefined ? { key: keyText } : {}) };
  if (keyText === undefined || keyText === '') {
    return {
      ...where,
      problem: options.geoJsonId
        ? 'has no "id"'
        : `has no property "${options.geoJsonProperty ?? 'id'}" holding the org unit identifier`,
    };
  }
  if (value.geometry === null || value.geometry === undefined)
    return { ...where, problem: 'has no geometry' };
  return 'problem' in checked
    ? { ...where, problem: checked.problem }
    : { ...where, geometry: checked.geometry };
}
