/**
 * A GeoJSON geometry as well-known text, as DHIS2's tracker CSV exports write their `geometry`
 * column (`POINT (-11.7896 8.2593)`, `POLYGON ((x y, ...))`). The reverse of `wkt-geometry.ts`'s
 * reader. A geometry of a type WKT has no name for here, or with malformed coordinates, is written
 * as its GeoJSON text rather than dropped.
 */
export function geoJsonToWkt(geometry: unknown): string | undefined {
  if (geometry === undefined || geometry === null) return undefined;
  const { type, coordinates } = geometry as { type?: unknown; coordinates?: unknown };
  const position = (p: unknown): string => {
    if (!Array.isArray(p) || p.length < 2 || !p.every((n) => typeof n === 'number' && Number.isFinite(n)))
      throw new TypeError('not a position');
    return p.join(' ');
  };
  const list = (items: unknown, each: (item: unknown) => string): string => {
    if (!Array.isArray(items)) throw new TypeError('not a list');
    return `(${items.map(each).join(', ')})`;
  };
  const line = (items: unknown) => list(items, position);
  const polygon = (rings: unknown) => list(rings, line);
  try {
    switch (type) {
      case 'Point':
        return `POINT (${position(coordinates)})`;
      case 'MultiPoint':
        return `MULTIPOINT ${list(coordinates, (p) => `(${position(p)})`)}`;
      case 'LineString':
        return `LINESTRING ${line(coordinates)}`;
      case 'MultiLineString':
        return `MULTILINESTRING ${list(coordinates, line)}`;
      case 'Polygon':
        return `POLYGON ${polygon(coordinates)}`;
      case 'MultiPolygon':
        return `MULTIPOLYGON ${list(coordinates, polygon)}`;
    }
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  return JSON.stringify(geometry);
}
