import { InputError } from '../input/input-error.ts';

const TYPES: Record<string, string> = {
  POINT: 'Point',
  LINESTRING: 'LineString',
  POLYGON: 'Polygon',
  MULTIPOLYGON: 'MultiPolygon',
};

/** Nesting of each type's coordinates: a Point is one position, a Polygon a list of rings, ... */
const DEPTH: Record<string, number> = {
  Point: 0,
  LineString: 1,
  Polygon: 2,
  MultiPolygon: 3,
};

/** Well-known text a geometry cell may hold is far shorter than this many characters. */
const MAX_WKT_CHARS = 10_000_000;

/**
 * A geometry written as well-known text, as DHIS2's current event CSV writes it (`POINT (-11.46
 * 7.51)`, `POLYGON ((x y, ...))`), as GeoJSON. A text that is not WKT is refused naming the line.
 */
export function wktToGeoJson(
  text: string,
  fileName: string,
  line: number,
): { type: string; coordinates: unknown } {
  const fail = (why: string) => new InputError(fileName, `geometry: ${why}`, { line });
  if (text.length > MAX_WKT_CHARS) throw fail('too long');
  const match = /^\s*([A-Za-z]+)\s*(\(.*\))\s*$/s.exec(text);
  const type = match ? TYPES[match[1].toUpperCase()] : undefined;
  if (!match || !type) throw fail(`\`${text.slice(0, 40)}\` is neither GeoJSON nor well-known text`);
  let at = 0;
  const body = match[2];
  const position = (): number[] => {
    const end = body.slice(at).search(/[,()]/);
    const chunk = end < 0 ? body.slice(at) : body.slice(at, at + end);
    at += chunk.length;
    const numbers = chunk.trim().split(/\s+/).map(Number);
    if (numbers.length < 2 || numbers.some((n) => !Number.isFinite(n)))
      throw fail(`bad position \`${chunk.trim()}\``);
    return numbers;
  };
  const list = (depth: number): unknown => {
    while (body[at] === ' ') at++;
    if (body[at] !== '(') throw fail('expected `(`');
    at++;
    const items: unknown[] = [];
    for (;;) {
      while (body[at] === ' ') at++;
      items.push(depth > 0 && body[at] === '(' ? list(depth - 1) : position());
      while (body[at] === ' ') at++;
      if (body[at] === ',') {
        at++;
        continue;
      }
      if (body[at] === ')') {
        at++;
        return items;
      }
      throw fail('expected `,` or `)`');
    }
  };
  const depth = DEPTH[type];
  const parsed = list(Math.max(depth - 1, 0)) as unknown[];
  if (at !== body.length) throw fail('text after the geometry');
  return { type, coordinates: depth === 0 ? parsed[0] : parsed };
}
