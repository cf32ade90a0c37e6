import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGmlFeatures, type GeometryFeature } from './gml-decoder.ts';

async function features(gml: string): Promise<GeometryFeature[]> {
  const out: GeometryFeature[] = [];
  for await (const batch of decodeGmlFeatures(
    (async function* () {
      yield gml;
    })(),
    'test.gml',
  ))
    out.push(...batch);
  return out;
}

const member = (polygon: string) => `<?xml version="1.0"?>
<ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml">
  <gml:featureMember><ogr:districts><ogr:geometryProperty>${polygon}</ogr:geometryProperty><ogr:code>OU_1</ogr:code></ogr:districts></gml:featureMember>
</ogr:FeatureCollection>`;

describe('GML decoder: polygons', () => {
  it('reads a gml:Polygon whose coordinates sit directly inside it (no ring element) as its outer ring, as DHIS2 does', async () => {
    const [feature] = await features(
      member(
        '<gml:Polygon><gml:coordinates>-11.8,7.9 -11.6,7.9 -11.6,8.1 -11.8,7.9</gml:coordinates></gml:Polygon>',
      ),
    );
    assert.equal(feature.problem, undefined, feature.problem);
    assert.deepEqual(feature.geometry, {
      type: 'Polygon',
      coordinates: [
        [
          [-11.8, 7.9],
          [-11.6, 7.9],
          [-11.6, 8.1],
          [-11.8, 7.9],
        ],
      ],
    });
    const [posList] = await features(
      member('<gml:Polygon><gml:posList>1 2 3 2 3 4 1 2</gml:posList></gml:Polygon>'),
    );
    assert.deepEqual(posList.geometry, {
      type: 'Polygon',
      coordinates: [
        [
          [1, 2],
          [3, 2],
          [3, 4],
          [1, 2],
        ],
      ],
    });
  });

  it('still reads rings inside boundaries, and refuses a polygon with no coordinates naming why', async () => {
    const [ringed] = await features(
      member(
        '<gml:Polygon><gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>0,0 1,0 1,1 0,0</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>',
      ),
    );
    assert.deepEqual(ringed.geometry, {
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
    const [empty] = await features(member('<gml:Polygon></gml:Polygon>'));
    assert.equal(empty.geometry, undefined);
    assert.match(empty.problem ?? '', /0 outer boundaries/);
  });
});
