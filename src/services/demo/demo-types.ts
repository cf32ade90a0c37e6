import type { MetadataObject } from '../../storage/metadata-store.ts';
import type { DemoValueModel, FacilityType } from './demo-catalogue.ts';
import type { DemoPeriod } from './demo-periods.ts';

// The demo's options, fixed values and shapes, shared by the generator's stages (demo-org-units,
// demo-categories, demo-data-sets, demo-programs, demo-users) and re-exported by demo-metadata.ts.

export interface DemoOptions {
  /** Number of facilities (level 5), spread evenly over the 100 chiefdoms. The full demo has 1,200. */
  facilities: number;
  /** Seed for UIDs and values; a different seed gives a different but equally valid demo. */
  seed: string;
}

export const FULL_DEMO_OPTIONS: DemoOptions = { facilities: 1200, seed: 'ferry-demo' };

/** The demo users' password, as on DHIS2's public demo (play.dhis2.org: admin / district). */
export const DEMO_PASSWORD = 'district';

/** `created`/`lastUpdated` of every demo object: fixed, so that two runs store identical objects. */
export const DEMO_TIMESTAMP = '2023-01-15T09:00:00.000';

export const DEMO_COUNTRY_CODE = 'OU_KOLANDA';

/** The demo's users, all with password DEMO_PASSWORD. */
export const DEMO_USERNAMES = ['admin', 'district_manager', 'facility_clerk', 'analyst'] as const;

export interface DemoFacility {
  uid: string;
  /** Position among facilities, from 0: the stable key for value hashing. */
  index: number;
  type: FacilityType;
  /** Catchment population, which scales the counts reported. */
  population: number;
}

export interface DemoElementPlan {
  uid: string;
  /** Stable key for value hashing. */
  key: number;
  model: DemoValueModel;
  zeroIsSignificant: boolean;
  /** Category option combos with their share of the data element's total. */
  categoryOptionCombos: ReadonlyArray<{ uid: string; key: number; share: number }>;
}

export interface DemoDataSetPlan {
  uid: string;
  key: number;
  code: string;
  periodType: 'Monthly' | 'Quarterly';
  reportingRate: number;
  attributeOptionCombos: ReadonlyArray<{ uid: string; key: number; share: number }>;
  elements: readonly DemoElementPlan[];
  /** Indexes of the facilities the data set is assigned to. */
  facilityIndexes: ReadonlySet<number>;
}

export interface DemoUser {
  uid: string;
  username: string;
  role: string;
  scope: string;
}

/** UIDs the tracker data generator (demo-tracker-data.ts) writes against, from demo-programs.ts. */
export interface DemoTrackerPlan {
  personType: string;
  attributes: Readonly<Record<'firstName' | 'lastName' | 'sex' | 'birthDate' | 'nationalId', string>>;
  /** Data element UIDs by their key in DEMO_TRACKER_DATA_ELEMENTS. */
  dataElements: Readonly<Record<string, string>>;
  malaria: { program: string; stage: string };
  anc: { program: string; stage: string; facilityIndexes: ReadonlySet<number> };
  child: { program: string; birthStage: string; immunisationStage: string; growthStage: string };
  /** The mother-child relationship type (from the mother, to the child). */
  motherChild: string;
}

export interface DemoDatabase {
  options: DemoOptions;
  /** Objects by collection, in the order they are saved. */
  metadata: ReadonlyMap<string, MetadataObject[]>;
  countryUid: string;
  facilities: readonly DemoFacility[];
  dataSets: readonly DemoDataSetPlan[];
  periods: readonly DemoPeriod[];
  users: readonly DemoUser[];
  tracker: DemoTrackerPlan;
}
