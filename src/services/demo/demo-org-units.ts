import { FACILITY_TYPES, type FacilityType } from './demo-catalogue.ts';
import type { DemoBuilder } from './demo-builder.ts';
import { DEMO_COUNTRY_CODE, type DemoFacility } from './demo-types.ts';

/** Longitude and latitude bounds of the fictional country (about Sierra Leone's extent). */
export const BOUNDS = { west: -13.3, east: -10.3, south: 6.9, north: 10.0 };
const REGIONS = ['Western', 'Northern', 'Southern', 'Eastern'] as const;
/** Chiefdoms per district: 100 in all, uneven as real districts are. */
const CHIEFDOMS_PER_DISTRICT = [6, 7, 6, 5, 7, 6, 8, 6, 5, 7, 6, 6, 7, 5, 6, 7];

export interface Box {
  west: number;
  east: number;
  south: number;
  north: number;
}

export function round(value: number, decimals = 4): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** A rectangle as a GeoJSON polygon: one closed ring, counter-clockwise (RFC 7946's right-hand rule). */
function boxPolygon(box: Box): Record<string, unknown> {
  const w = round(box.west);
  const e = round(box.east);
  const s = round(box.south);
  const n = round(box.north);
  return {
    type: 'Polygon',
    coordinates: [
      [
        [w, s],
        [e, s],
        [e, n],
        [w, n],
        [w, s],
      ],
    ],
  };
}

function split(box: Box, columns: number, rows: number, index: number): Box {
  const col = index % columns;
  const row = Math.floor(index / columns);
  const width = (box.east - box.west) / columns;
  const height = (box.north - box.south) / rows;
  return {
    west: box.west + col * width,
    east: box.west + (col + 1) * width,
    north: box.north - row * height,
    south: box.north - (row + 1) * height,
  };
}

/** An org unit above the facilities, with the box its children are placed in. */
export interface DemoPlace {
  uid: string;
  path: string;
  box: Box;
}

export interface DemoOrgUnits {
  countryUid: string;
  districts: readonly DemoPlace[];
  facilities: readonly DemoFacility[];
}

/**
 * The org unit levels, the hierarchy (country, 4 regions, 16 districts, 100 chiefdoms, the
 * facilities with their type, population and coordinates), and the facility type groups.
 */
export function buildDemoOrgUnits(b: DemoBuilder): DemoOrgUnits {
  const { options, random, uid, ref, add, placeName } = b;
  // Org unit hierarchy.
  const orgUnitLevels = ['National', 'Region', 'District', 'Chiefdom', 'Facility'];
  add(
    'organisationUnitLevels',
    ...orgUnitLevels.map((name, i) => ({ id: uid('level', i + 1), name, level: i + 1, offlineLevels: 1 })),
  );
  const openingDate = '1994-01-01T00:00:00.000';
  const countryUid = uid('ou', 'country');
  const orgUnit = (
    id: string,
    code: string,
    name: string,
    parent: { uid: string; path: string } | undefined,
    level: number,
    geometry?: Record<string, unknown>,
  ) => ({
    id,
    code,
    name,
    shortName: name.slice(0, 50),
    openingDate,
    ...(parent ? { parent: ref(parent.uid) } : {}),
    path: `${parent ? parent.path : ''}/${id}`,
    level,
    ...(geometry ? { geometry } : {}),
  });
  const countryObject = orgUnit(countryUid, DEMO_COUNTRY_CODE, 'Kolanda', undefined, 1, boxPolygon(BOUNDS));
  add('organisationUnits', countryObject);
  const country = { uid: countryUid, path: countryObject.path };

  const regions: DemoPlace[] = [];
  const districts: DemoPlace[] = [];
  const chiefdoms: DemoPlace[] = [];
  REGIONS.forEach((regionName, r) => {
    const box = split(BOUNDS, 2, 2, r);
    const id = uid('ou', `region:${r}`);
    const object = orgUnit(id, `OU_R${r + 1}`, `${regionName} Region`, country, 2, boxPolygon(box));
    add('organisationUnits', object);
    regions.push({ uid: id, path: object.path, box });
  });
  for (let d = 0; d < 16; d++) {
    const region = regions[Math.floor(d / 4)];
    const box = split(region.box, 2, 2, d % 4);
    const id = uid('ou', `district:${d}`);
    const name = `${placeName(2)} District`;
    const object = orgUnit(id, `OU_D${String(d + 1).padStart(2, '0')}`, name, region, 3, boxPolygon(box));
    add('organisationUnits', object);
    districts.push({ uid: id, path: object.path, box });
  }
  let c = 0;
  districts.forEach((district, d) => {
    const n = CHIEFDOMS_PER_DISTRICT[d];
    for (let i = 0; i < n; i++, c++) {
      const box = split(district.box, n, 1, i);
      const id = uid('ou', `chiefdom:${c}`);
      const object = orgUnit(id, `OU_C${String(c + 1).padStart(3, '0')}`, placeName(2), district, 4);
      add('organisationUnits', object);
      chiefdoms.push({ uid: id, path: object.path, box });
    }
  });

  const facilities: DemoFacility[] = [];
  const facilitiesByType = new Map<FacilityType, string[]>(FACILITY_TYPES.map((t) => [t, []]));
  const populationRange: Record<FacilityType, [number, number]> = {
    Hospital: [20_000, 40_000],
    CHC: [6_000, 15_000],
    MCHP: [1_500, 5_000],
    Clinic: [1_000, 4_000],
  };
  for (let f = 0; f < options.facilities; f++) {
    const chiefdom = chiefdoms[Math.floor((f * chiefdoms.length) / options.facilities)];
    const draw = random();
    const type: FacilityType =
      draw < 0.04 ? 'Hospital' : draw < 0.3 ? 'CHC' : draw < 0.85 ? 'MCHP' : 'Clinic';
    const [low, high] = populationRange[type];
    const population = Math.round(low + random() * (high - low));
    const { box } = chiefdom;
    const margin = 0.1;
    const lon = box.west + (margin + random() * (1 - 2 * margin)) * (box.east - box.west);
    const lat = box.south + (margin + random() * (1 - 2 * margin)) * (box.north - box.south);
    const id = uid('ou', `facility:${f}`);
    const name = `${placeName(2)} ${type}`;
    add('organisationUnits', {
      ...orgUnit(id, `OU_F${String(f + 1).padStart(4, '0')}`, name, chiefdom, 5, {
        type: 'Point',
        coordinates: [round(lon), round(lat)],
      }),
      featureType: 'POINT',
    });
    facilities.push({ uid: id, index: f, type, population });
    facilitiesByType.get(type)!.push(id);
  }

  const groupUids = FACILITY_TYPES.map((type) => uid('ouGroup', type));
  add(
    'organisationUnitGroups',
    ...FACILITY_TYPES.map((type, i) => ({
      id: groupUids[i],
      code: `OUG_${type.toUpperCase()}`,
      name: type,
      shortName: type,
      organisationUnits: facilitiesByType.get(type)!.map(ref),
      groupSets: [ref(uid('ouGroupSet', 'type'))],
    })),
  );
  add('organisationUnitGroupSets', {
    id: uid('ouGroupSet', 'type'),
    code: 'OUGS_FACILITY_TYPE',
    name: 'Facility type',
    shortName: 'Facility type',
    compulsory: true,
    dataDimension: true,
    includeSubhierarchyInAnalytics: false,
    organisationUnitGroups: groupUids.map(ref),
  });

  return { countryUid, districts, facilities };
}
