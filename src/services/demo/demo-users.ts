import type { MetadataObject } from '../../storage/metadata-store.ts';
import { uidFromSeed } from '../../domain/identifiers/uid.ts';
import type { DemoBuilder } from './demo-builder.ts';
import type { DemoOrgUnits } from './demo-org-units.ts';
import {
  DEMO_TIMESTAMP,
  DEMO_USERNAMES,
  FULL_DEMO_OPTIONS,
  type DemoOptions,
  type DemoUser,
} from './demo-types.ts';

/**
 * Roles and users with different scopes, so that access rules can be seen at work (all with the
 * password DEMO_PASSWORD, which the seeder stores), and the user group of the non-admin users.
 */
export function buildDemoUsers(
  b: DemoBuilder,
  { countryUid, districts, facilities }: DemoOrgUnits,
): DemoUser[] {
  const { uid, ref, add, metadata } = b;
  const roles = [
    { key: 'superuser', name: 'Superuser', description: 'Every authority (ALL)', authorities: ['ALL'] },
    {
      key: 'clerk',
      name: 'Data entry clerk',
      description: 'Enters aggregate data for their facility',
      authorities: ['F_DATAVALUE_ADD'],
    },
    {
      key: 'analyst',
      name: 'M&E analyst',
      description: 'Reads and exports data and metadata',
      authorities: ['F_EXPORT_DATA', 'F_METADATA_EXPORT'],
    },
    {
      key: 'manager',
      name: 'Data manager',
      description: 'Imports and exports data and follows import jobs',
      // F_EDIT_EXPIRED as DHIS2's demo data manager: corrects values in periods past expiry days.
      authorities: ['F_DATAVALUE_ADD', 'F_TRACKER_IMPORT', 'F_EXPORT_DATA', 'F_VIEW_JOBS', 'F_EDIT_EXPIRED'],
    },
  ];
  add(
    'userRoles',
    ...roles.map((r) => ({
      id: uid('userRole', r.key),
      name: r.name,
      description: r.description,
      authorities: r.authorities,
    })),
  );
  const firstDistrict = districts[0];
  const clerkFacility = facilities[0];
  const users = [
    {
      username: 'admin',
      firstName: 'System',
      surname: 'Administrator',
      role: 'superuser',
      capture: [countryUid],
      view: [countryUid],
      scope: 'Kolanda (whole country): capture and view',
    },
    {
      username: 'district_manager',
      firstName: 'Fatmata',
      surname: 'Kamara',
      role: 'manager',
      capture: [firstDistrict.uid],
      view: [firstDistrict.uid],
      scope: `${metadataName(metadata, firstDistrict.uid)}: capture and view`,
    },
    {
      username: 'facility_clerk',
      firstName: 'Mohamed',
      surname: 'Sesay',
      role: 'clerk',
      capture: [clerkFacility.uid],
      view: [clerkFacility.uid],
      scope: `${metadataName(metadata, clerkFacility.uid)}: capture and view`,
    },
    {
      username: 'analyst',
      firstName: 'Aminata',
      surname: 'Conteh',
      role: 'analyst',
      capture: [],
      view: [countryUid],
      scope: 'Kolanda: view only (no capture scope)',
    },
  ];
  add(
    'users',
    ...users.map((u) => ({
      id: uid('user', u.username),
      username: u.username,
      firstName: u.firstName,
      surname: u.surname,
      name: `${u.firstName} ${u.surname}`,
      disabled: false,
      passwordLastUpdated: DEMO_TIMESTAMP,
      userRoles: [ref(uid('userRole', u.role))],
      organisationUnits: u.capture.map(ref),
      dataViewOrganisationUnits: u.view.map(ref),
      teiSearchOrganisationUnits: u.view.map(ref),
    })),
  );
  add('userGroups', {
    id: uid('userGroup', 'data-team'),
    code: 'UG_DATA_TEAM',
    name: 'Demo data team',
    users: users.filter((u) => u.username !== 'admin').map((u) => ref(uid('user', u.username))),
  });

  if (users.map((u) => u.username).join() !== DEMO_USERNAMES.join()) {
    throw new Error('DEMO_USERNAMES is out of step with the demo users');
  }
  return users.map((u) => ({
    uid: uid('user', u.username),
    username: u.username,
    role: roles.find((r) => r.key === u.role)!.name,
    scope: u.scope,
  }));
}

/** The demo's users without generating the rest (cheap: used on every start of `serve --demo`). */
export function demoUsers(
  options: DemoOptions = FULL_DEMO_OPTIONS,
): Array<{ uid: string; username: string }> {
  return DEMO_USERNAMES.map((username) => ({
    uid: uidFromSeed(`${options.seed}:user:${username}`),
    username,
  }));
}

function metadataName(metadata: ReadonlyMap<string, MetadataObject[]>, orgUnitUid: string): string {
  const unit = metadata.get('organisationUnits')?.find((o) => o.id === orgUnitUid);
  return typeof unit?.name === 'string' ? unit.name : orgUnitUid;
}
