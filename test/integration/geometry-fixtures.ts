/** Org units and GML documents shared by the geometry tests (written for Ferry, modelled on OGR output). */
export const GEOMETRY_ORG_UNITS = [
  {
    id: 'ImspTQPwCqd',
    name: 'Sierra Leone',
    shortName: 'Sierra Leone',
    code: 'OU_525',
    openingDate: '1994-01-01',
    level: 1,
    path: '/ImspTQPwCqd',
  },
  {
    id: 'O6uvpzGd5pu',
    name: 'Bo',
    shortName: 'Bo',
    code: 'OU_264',
    openingDate: '1994-01-01',
    parent: { id: 'ImspTQPwCqd' },
    level: 2,
    path: '/ImspTQPwCqd/O6uvpzGd5pu',
  },
  {
    id: 'TEQlaapDQoK',
    name: 'Bonthe',
    shortName: 'Bonthe',
    code: 'CODE_BONTHE',
    openingDate: '1994-01-01',
    parent: { id: 'ImspTQPwCqd' },
    level: 2,
    path: '/ImspTQPwCqd/TEQlaapDQoK',
  },
  {
    id: 'PMa2VCrupOd',
    name: 'Kambia',
    shortName: 'Kambia',
    code: 'OU_1',
    openingDate: '1994-01-01',
    parent: { id: 'ImspTQPwCqd' },
    level: 2,
    path: '/ImspTQPwCqd/PMa2VCrupOd',
  },
  {
    id: 'jUb8gELQApl',
    name: 'Kailahun',
    shortName: 'Kailahun',
    code: 'OU_2',
    openingDate: '1994-01-01',
    parent: { id: 'ImspTQPwCqd' },
    level: 2,
    path: '/ImspTQPwCqd/jUb8gELQApl',
  },
];

/** GML 2 as OGR writes it: gml:coordinates, outer and inner boundaries, Name/Code/Uid elements. */
export const GML2 = `<?xml version="1.0" encoding="utf-8" ?>
<ogr:FeatureCollection xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="http://ogr.maptools.org/ districts.xsd"
     xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml">
  <gml:boundedBy><gml:Box><gml:coord><gml:X>-13.3</gml:X><gml:Y>6.9</gml:Y></gml:coord></gml:Box></gml:boundedBy>
  <gml:featureMember>
    <ogr:districts fid="F0">
      <ogr:geometryProperty><gml:Polygon><gml:outerBoundaryIs><gml:LinearRing>
        <gml:coordinates>-11.8,7.9 -11.6,7.9 -11.6,8.1 -11.8,8.1 -11.8,7.9</gml:coordinates>
      </gml:LinearRing></gml:outerBoundaryIs><gml:innerBoundaryIs><gml:LinearRing>
        <gml:coordinates>-11.75,7.95 -11.7,7.95 -11.7,8.0 -11.75,7.95</gml:coordinates>
      </gml:LinearRing></gml:innerBoundaryIs></gml:Polygon></ogr:geometryProperty>
      <ogr:Name>Bo</ogr:Name>
    </ogr:districts>
  </gml:featureMember>
  <gml:featureMember>
    <ogr:districts fid="F1">
      <ogr:geometryProperty><gml:MultiPolygon>
        <gml:polygonMember><gml:Polygon><gml:outerBoundaryIs><gml:LinearRing>
          <gml:coordinates>-12.5,7.3 -12.4,7.3 -12.4,7.4 -12.5,7.3</gml:coordinates>
        </gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></gml:polygonMember>
        <gml:polygonMember><gml:Polygon><gml:outerBoundaryIs><gml:LinearRing>
          <gml:coordinates>-12.9,7.5 -12.8,7.5 -12.8,7.6 -12.9,7.5</gml:coordinates>
        </gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></gml:polygonMember>
      </gml:MultiPolygon></ogr:geometryProperty>
      <ogr:NAME>Wrong name, code wins</ogr:NAME>
      <ogr:CODE>CODE_BONTHE</ogr:CODE>
    </ogr:districts>
  </gml:featureMember>
  <gml:featureMember>
    <ogr:districts fid="F2">
      <ogr:geometryProperty><gml:Point><gml:coordinates>-13.2,8.48</gml:coordinates></gml:Point></ogr:geometryProperty>
      <ogr:Uid>ImspTQPwCqd</ogr:Uid>
      <ogr:Code>OU_1</ogr:Code>
    </ogr:districts>
  </gml:featureMember>
  <gml:featureMember>
    <ogr:districts fid="F3">
      <ogr:geometryProperty><gml:Point><gml:coordinates>10.7,59.9</gml:coordinates></gml:Point></ogr:geometryProperty>
      <ogr:Name>Ole Johan Dahls Hus</ogr:Name>
    </ogr:districts>
  </gml:featureMember>
  <gml:featureMember>
    <ogr:districts fid="F4">
      <ogr:geometryProperty><gml:Point><gml:coordinates>10.7,59.9</gml:coordinates></gml:Point></ogr:geometryProperty>
      <ogr:Uid>notAnOrgUn1</ogr:Uid><ogr:Code>OU_2</ogr:Code>
    </ogr:districts>
  </gml:featureMember>
</ogr:FeatureCollection>
`;

/** GML 3: posList with srsDimension, gml:pos, exterior/interior, featureMembers. */
export const GML3 = `<?xml version="1.0" encoding="utf-8" ?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:x="urn:x">
  <gml:featureMembers>
    <x:district gml:id="a">
      <x:geom><gml:Polygon srsName="EPSG:4326">
        <gml:exterior><gml:LinearRing><gml:posList srsDimension="2">-11.8 7.9 -11.6 7.9 -11.6 8.1 -11.8 7.9</gml:posList></gml:LinearRing></gml:exterior>
        <gml:interior><gml:LinearRing><gml:posList>-11.75 7.95 -11.7 7.95 -11.7 8.0 -11.75 7.95</gml:posList></gml:LinearRing></gml:interior>
      </gml:Polygon></x:geom>
      <x:uid>O6uvpzGd5pu</x:uid>
    </x:district>
    <x:district gml:id="b">
      <x:geom><gml:Point><gml:pos>-11.1 8.2</gml:pos></gml:Point></x:geom>
      <x:code>OU_1</x:code>
    </x:district>
  </gml:featureMembers>
  <wfs:member>
    <x:district gml:id="c">
      <x:geom><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>
        <gml:posList srsDimension="3">-12.5 7.3 0 -12.4 7.3 0 -12.4 7.4 0 -12.5 7.3 0</gml:posList>
      </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></x:geom>
      <x:Name>Bonthe</x:Name>
    </x:district>
  </wfs:member>
</wfs:FeatureCollection>
`;
