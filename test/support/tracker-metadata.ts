import { join } from 'node:path';

export const TRACKER_FIXTURES = join(import.meta.dirname, '../fixtures/dhis2/tracker');

/**
 * The minimal metadata DHIS2's tracker payload fixtures need (they name a program, stage, tracked
 * entity type, relationship type and org unit that e2e_tracker_metadata.json does not have).
 */
export const TRACKER_FIXTURE_METADATA = {
  organisationUnits: [
    // Another root: a user assigned there sees none of the fixtures' data.
    { id: 'trkOtherOu1', name: 'Elsewhere clinic', shortName: 'Elsewhere', openingDate: '2000-01-01' },
    { id: 'PSeMWi7rBgb', name: 'Tracker clinic', shortName: 'Tracker clinic', openingDate: '2000-01-01' },
  ],
  dataElements: [
    {
      id: 'trkDeNum001',
      name: 'Tracker weight',
      shortName: 'Tracker weight',
      valueType: 'NUMBER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  trackedEntityTypes: [{ id: 'PrZMWi7rBga', name: 'Tracker person' }],
  programs: [
    {
      id: 'XrZRFi7rU9e',
      name: 'Tracker program',
      shortName: 'Tracker program',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'PrZMWi7rBga' },
      organisationUnits: [{ id: 'PSeMWi7rBgb' }],
      displayIncidentDate: false,
    },
  ],
  programStages: [
    {
      id: 'I8RRFi7rUps',
      name: 'Tracker stage',
      program: { id: 'XrZRFi7rU9e' },
      programStageDataElements: [{ dataElement: { id: 'trkDeNum001' } }],
    },
  ],
  relationshipTypes: [
    {
      id: 'A4ORFi7rReL',
      name: 'Tracker sibling',
      fromConstraint: {
        relationshipEntity: 'TRACKED_ENTITY_INSTANCE',
        trackedEntityType: { id: 'PrZMWi7rBga' },
      },
      toConstraint: {
        relationshipEntity: 'TRACKED_ENTITY_INSTANCE',
        trackedEntityType: { id: 'PrZMWi7rBga' },
      },
    },
  ],
};
