import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geoJsonToWkt } from './wkt-encoder.ts';
import { wktToGeoJson } from './wkt-geometry.ts';

test('GeoJSON geometries become the well-known text DHIS2 writes, and read back equal', () => {
  const cases: Array<[unknown, string]> = [
    [{ type: 'Point', coordinates: [-11.7896, 8.2593] }, 'POINT (-11.7896 8.2593)'],
    [
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
      'POLYGON ((0 0, 1 0, 1 1, 0 0))',
    ],
    [
      {
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0],
            ],
          ],
          [
            [
              [5, 5],
              [6, 5],
              [6, 6],
              [5, 5],
            ],
          ],
        ],
      },
      'MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))',
    ],
    [
      {
        type: 'LineString',
        coordinates: [
          [1, 2],
          [3, 4],
        ],
      },
      'LINESTRING (1 2, 3 4)',
    ],
  ];
  for (const [geometry, wkt] of cases) {
    assert.equal(geoJsonToWkt(geometry), wkt);
    assert.deepEqual(wktToGeoJson(wkt, 'x.csv', 2), geometry, wkt);
  }
});

test('no geometry is an empty cell; a malformed one is kept as its GeoJSON text', () => {
  assert.equal(geoJsonToWkt(null), undefined);
  assert.equal(geoJsonToWkt(undefined), undefined);
  const odd = { type: 'Point', coordinates: ['a', 'b'] };
  assert.equal(geoJsonToWkt(odd), JSON.stringify(odd));
  const unknown = { type: 'GeometryCollection', geometries: [] };
  assert.equal(geoJsonToWkt(unknown), JSON.stringify(unknown));
});
