/** GeoJSON geometries as DHIS2 stores them on org units (`geometry`), x = longitude, y = latitude. */
export type Position = number[];
export type PointGeometry = { type: 'Point'; coordinates: Position };
export type PolygonGeometry = { type: 'Polygon'; coordinates: Position[][] };
export type MultiPolygonGeometry = { type: 'MultiPolygon'; coordinates: Position[][][] };
export type Geometry = PointGeometry | PolygonGeometry | MultiPolygonGeometry;

export const GEOMETRY_TYPES = ['Point', 'Polygon', 'MultiPolygon'] as const;

/** DHIS2's org unit `featureType` for a geometry. */
export function featureTypeOf(geometry: Geometry): 'POINT' | 'POLYGON' | 'MULTI_POLYGON' {
  return geometry.type === 'Point' ? 'POINT' : geometry.type === 'Polygon' ? 'POLYGON' : 'MULTI_POLYGON';
}

/**
 * Checks a value that claims to be a geometry: a supported type, numeric coordinates within
 * longitude/latitude range, rings closed with at least four positions. Returns the geometry, typed,
 * or the first problem found, worded for a data manager.
 */
export function validateGeometry(value: unknown): { geometry: Geometry } | { problem: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problem: 'geometry is not an object' };
  }
  const { type, coordinates } = value as { type?: unknown; coordinates?: unknown };
  if (type === 'Point') {
    const problem = positionProblem(coordinates);
    return problem
      ? { problem: `Point ${problem}` }
      : { geometry: { type, coordinates: coordinates as Position } };
  }
  if (type === 'Polygon') {
    const problem = polygonProblem(coordinates);
    return problem
      ? { problem: `Polygon ${problem}` }
      : { geometry: { type, coordinates: coordinates as Position[][] } };
  }
  if (type === 'MultiPolygon') {
    if (!Array.isArray(coordinates) || coordinates.length === 0) {
      return { problem: 'MultiPolygon has no polygons' };
    }
    for (let i = 0; i < coordinates.length; i++) {
      const problem = polygonProblem(coordinates[i]);
      if (problem) return { problem: `MultiPolygon polygon ${i + 1}: ${problem}` };
    }
    return { geometry: { type, coordinates: coordinates as Position[][][] } };
  }
  return {
    problem: `geometry type ${JSON.stringify(type)} is not supported; expected ${GEOMETRY_TYPES.join(', ')}`,
  };
}

function positionProblem(position: unknown): string | undefined {
  if (!Array.isArray(position) || position.length < 2 || position.length > 3) {
    return 'position must be [longitude, latitude] (optionally with an altitude)';
  }
  for (const n of position) {
    if (typeof n !== 'number' || !Number.isFinite(n))
      return `coordinate ${JSON.stringify(n)} is not a number`;
  }
  const [x, y] = position as number[];
  if (x < -180 || x > 180) return `longitude ${x} is outside -180..180`;
  if (y < -90 || y > 90) return `latitude ${y} is outside -90..90`;
  return undefined;
}

function polygonProblem(rings: unknown): string | undefined {
  if (!Array.isArray(rings) || rings.length === 0) return 'has no rings';
  for (let r = 0; r < rings.length; r++) {
    const ring: unknown = rings[r];
    const which = r === 0 ? 'outer ring' : `inner ring ${r}`;
    if (!Array.isArray(ring) || ring.length < 4) return `${which} needs at least 4 positions`;
    for (const position of ring) {
      const problem = positionProblem(position);
      if (problem) return `${which}: ${problem}`;
    }
    const first = ring[0] as number[];
    const last = ring[ring.length - 1] as number[];
    if (first[0] !== last[0] || first[1] !== last[1]) {
      return `${which} is not closed (first position ${JSON.stringify(first)}, last ${JSON.stringify(last)})`;
    }
  }
  return undefined;
}

/**
 * Whether two geometries are the same (for counting a re-import as ignored, not updated). Compared
 * value by value, stopping at the first difference: stringifying both took over a second of the
 * server's only thread for a 100 MB boundary, even when the stored one was a point.
 */
export function sameGeometry(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameGeometry(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  if (aKeys.length !== Object.keys(b).length) return false;
  const aRecord = a as Record<string, unknown>;
  return aKeys.every((key) => Object.hasOwn(bRecord, key) && sameGeometry(aRecord[key], bRecord[key]));
}
