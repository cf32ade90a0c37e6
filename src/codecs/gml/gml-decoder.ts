import { readXmlEventBatches, type XmlElement } from '../xml/safe-xml-reader.ts';
import type { Geometry, Position } from '../../domain/geometry/geometry.ts';
import { validateGeometry } from '../../domain/geometry/geometry.ts';

/** Identifiers a feature carries, found by element local name in any letter case. */
export interface FeatureIdentifiers {
  uid?: string;
  code?: string;
  name?: string;
}

/** One feature of a geometry file, with either its geometry or why it has none usable. */
export interface GeometryFeature {
  /** 0-based position among the file's features. */
  index: number;
  line?: number;
  identifiers: FeatureIdentifiers;
  geometry?: Geometry;
  problem?: string;
}

const FEATURE_MEMBER = new Set(['featureMember', 'member']);
const FEATURE_MEMBERS = 'featureMembers';
const GEOMETRY_NAMES = new Set(['Point', 'Polygon', 'MultiPolygon', 'MultiSurface', 'Surface']);
const IDENTIFIER_NAMES: Readonly<Record<string, keyof FeatureIdentifiers>> = {
  uid: 'uid',
  code: 'code',
  name: 'name',
};

/**
 * Reads the features of a GML 2 or 3 document (`gml:featureMember`, `gml:featureMembers`,
 * `wfs:member`), as DHIS2's GML import does (dhis2.md §5), streamed one feature at a time through
 * the safe XML reader (no DOCTYPE, no entity, nothing fetched: `xlink:href` and
 * `xsi:schemaLocation` are plain text here). Geometry: Point, Polygon (inner rings kept),
 * MultiPolygon, and GML 3's MultiSurface/Surface of polygons; coordinates from `gml:coordinates`
 * (with its `cs`, `ts`, `decimal`), `gml:posList` (with `srsDimension`), `gml:pos` or `gml:coord`.
 */
export async function* decodeGmlFeatures(
  text: AsyncIterable<string>,
  fileName: string,
): AsyncIterable<GeometryFeature[]> {
  let index = 0;
  for await (const events of readXmlEventBatches(text, { fileName, captureDepth: 2 })) {
    const features: GeometryFeature[] = [];
    for (const event of events) {
      if (event.kind !== 'element') continue;
      const member = event.element;
      if (FEATURE_MEMBER.has(member.localName)) {
        const feature = member.children[0];
        if (feature) features.push(readFeature(feature, index++));
      } else if (member.localName === FEATURE_MEMBERS) {
        for (const feature of member.children) features.push(readFeature(feature, index++));
      }
    }
    if (features.length > 0) yield features;
  }
}

function readFeature(feature: XmlElement, index: number): GeometryFeature {
  const identifiers: FeatureIdentifiers = {};
  let geometryElement: XmlElement | undefined;
  walk(feature, (element) => {
    if (GEOMETRY_NAMES.has(element.localName)) {
      geometryElement ??= element;
      return false;
    }
    const name = element.localName.toLowerCase();
    // Own properties only: an element named `constructor` is no identifier.
    const key = Object.hasOwn(IDENTIFIER_NAMES, name) ? IDENTIFIER_NAMES[name] : undefined;
    const value = element.text.trim();
    if (key && value !== '' && identifiers[key] === undefined) identifiers[key] = value;
    return true;
  });
  const base = { index, line: feature.line, identifiers };
  if (!geometryElement) return { ...base, problem: 'has no Point, Polygon or MultiPolygon geometry' };
  try {
    const geometry = toGeometry(geometryElement);
    const checked = validateGeometry(geometry);
    return 'problem' in checked
      ? { ...base, problem: checked.problem }
      : { ...base, geometry: checked.geometry };
  } catch (error) {
    return { ...base, problem: (error as Error).message };
  }
}

/** Depth-first, document order; `visit` returns false to skip an element's children. */
function walk(element: XmlElement, visit: (element: XmlElement) => boolean): void {
  for (const child of element.children) {
    if (visit(child)) walk(child, visit);
  }
}

function descendants(element: XmlElement, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  walk(element, (child) => {
    if (child.localName === localName) {
      out.push(child);
      return false;
    }
    return true;
  });
  return out;
}

function toGeometry(element: XmlElement): Geometry {
  switch (element.localName) {
    case 'Point': {
      const positions = positionsOf(element);
      if (positions.length !== 1) throw new Error(`Point has ${positions.length} positions; expected 1`);
      return { type: 'Point', coordinates: positions[0] };
    }
    case 'Polygon':
      return { type: 'Polygon', coordinates: polygonRings(element) };
    default: {
      // MultiPolygon (polygonMember), MultiSurface (surfaceMember/surfaceMembers), Surface (patches).
      const polygons = descendants(element, 'Polygon').concat(descendants(element, 'PolygonPatch'));
      if (polygons.length === 0) throw new Error(`${element.localName} holds no polygons`);
      return { type: 'MultiPolygon', coordinates: polygons.map(polygonRings) };
    }
  }
}

/** Coordinate elements that may sit directly inside a `gml:Polygon` (no ring around them). */
const RING_LESS = new Set(['coordinates', 'posList', 'pos', 'coord']);

/** Outer ring first, then the inner rings (holes), each as its own ring. */
function polygonRings(polygon: XmlElement): Position[][] {
  const outer: Position[][] = [];
  const inner: Position[][] = [];
  for (const boundary of polygon.children) {
    const target =
      boundary.localName === 'outerBoundaryIs' || boundary.localName === 'exterior'
        ? outer
        : boundary.localName === 'innerBoundaryIs' || boundary.localName === 'interior'
          ? inner
          : undefined;
    if (!target) continue;
    for (const ring of boundary.children) target.push(positionsOf(ring));
  }
  if (outer.length === 0 && inner.length === 0 && polygon.children.some((c) => RING_LESS.has(c.localName))) {
    // Coordinates straight inside the polygon, without a boundary and ring element: DHIS2's GML
    // import reads them as the outer ring (its stylesheet takes every coordinates element), so do we.
    return [positionsOf(polygon)];
  }
  if (outer.length !== 1) throw new Error(`Polygon has ${outer.length} outer boundaries; expected 1`);
  return [...outer, ...inner];
}

/** The positions of a geometry element, whichever GML encoding it uses. */
function positionsOf(element: XmlElement): Position[] {
  const coordinates = descendants(element, 'coordinates');
  if (coordinates.length > 0) return coordinates.flatMap(parseCoordinates);
  const posList = descendants(element, 'posList');
  if (posList.length > 0) return posList.flatMap(parsePosList);
  const pos = descendants(element, 'pos');
  if (pos.length > 0) return pos.map((p) => parseNumbers(p.text, p.line));
  const coords = descendants(element, 'coord');
  if (coords.length > 0) {
    return coords.map((c) => {
      const x = c.children.find((child) => child.localName === 'X');
      const y = c.children.find((child) => child.localName === 'Y');
      if (!x || !y) throw new Error(`gml:coord on line ${c.line} needs X and Y`);
      return [parseNumber(x.text, x.line), parseNumber(y.text, y.line)];
    });
  }
  throw new Error(`${element.localName} on line ${element.line} has no coordinates`);
}

/** `gml:coordinates`: tuples split by `ts` (whitespace), values by `cs` (','), decimal point `decimal`. */
function parseCoordinates(element: XmlElement): Position[] {
  const cs = element.attributes.cs ?? ',';
  const ts = element.attributes.ts ?? ' ';
  const decimal = element.attributes.decimal ?? '.';
  const tuples = ts.trim() === '' ? element.text.trim().split(/\s+/) : element.text.trim().split(ts);
  return tuples
    .filter((tuple) => tuple.trim() !== '')
    .map((tuple) =>
      tuple
        .trim()
        .split(cs)
        .map((value) => parseNumber(decimal === '.' ? value : value.split(decimal).join('.'), element.line)),
    );
}

function parsePosList(element: XmlElement): Position[] {
  const dimension = Number(element.attributes.srsDimension ?? element.attributes.dimension ?? '2');
  if (dimension !== 2 && dimension !== 3) {
    throw new Error(`posList on line ${element.line} has srsDimension ${dimension}; expected 2 or 3`);
  }
  const values = parseNumbers(element.text, element.line);
  if (values.length % dimension !== 0) {
    throw new Error(
      `posList on line ${element.line} has ${values.length} values, not a multiple of ${dimension}`,
    );
  }
  const out: Position[] = [];
  for (let i = 0; i < values.length; i += dimension) out.push(values.slice(i, i + dimension));
  return out;
}

function parseNumbers(text: string, line: number): number[] {
  const trimmed = text.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/).map((value) => parseNumber(value, line));
}

/** Strict decimal syntax: `Number()` would accept '', '0x1A' and 'Infinity'. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(text: string, line: number): number {
  const value = text.trim();
  const number = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(number))
    throw new Error(`coordinate '${value.slice(0, 40)}' on line ${line} is not a number`);
  return number;
}
