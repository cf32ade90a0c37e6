import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { wktToGeoJson } from './wkt-geometry.ts';
import { InputError } from '../input/input-error.ts';

describe('wktToGeoJson (the geometry column of DHIS2 current event CSV)', () => {
  it('reads points, line strings, polygons and multipolygons in any case', () => {
    assert.deepEqual(wktToGeoJson('POINT (-11.468912037323042 7.515913998868316)', 'f.csv', 2), {
      type: 'Point',
      coordinates: [-11.468912037323042, 7.515913998868316],
    });
    assert.deepEqual(wktToGeoJson('point(1 2)', 'f.csv', 2), { type: 'Point', coordinates: [1, 2] });
    assert.deepEqual(wktToGeoJson('LINESTRING (0 0, 1 1)', 'f.csv', 2), {
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1],
      ],
    });
    assert.deepEqual(wktToGeoJson('POLYGON ((0 0, 1 0, 1 1, 0 0))', 'f.csv', 2), {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 0],
        ],
      ],
    });
    const multi = wktToGeoJson('MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2)))', 'f.csv', 2);
    assert.equal(multi.type, 'MultiPolygon');
    assert.equal((multi.coordinates as unknown[]).length, 2);
  });

  it('refuses what is not WKT, naming the file and line', () => {
    for (const text of ['CIRCLE (1 2)', 'POINT (a b)', 'POINT (1 2', 'POINT (1 2) extra', 'somewhere']) {
      assert.throws(
        () => wktToGeoJson(text, 'f.csv', 7),
        (error: unknown) => error instanceof InputError && /f\.csv \(line 7\): geometry/.test(error.message),
        text,
      );
    }
  });
});
