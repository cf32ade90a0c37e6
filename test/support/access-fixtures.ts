import type { MetadataStore } from '../../src/storage/metadata-store.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';

/** A small hierarchy: Sierra Leone > Bo > Badjia, and a second root. */
export const ORG_UNITS = {
  sierraLeone: 'ImspTQPwCqd',
  bo: 'O6uvpzGd5pu',
  badjia: 'YuQRtpLP10I',
  otherRoot: 'fdc6uOvgoji',
} as const;

export const ROLES = {
  importer: 'roleImport1',
  reader: 'roleReader1',
} as const;

export const CATEGORY_COMBO = 'bjDvmb4bfuf';

/** Org units, roles, a category combo and 60 data elements, stored as a metadata import would. */
export async function seedAccessFixtures(storage: Storage, metadata: MetadataStore): Promise<void> {
  const t = '2024-01-01T00:00:00.000';
  await storage.transaction(async (tx) => {
    const store = metadata.withExecutor(tx);
    await store.save('organisationUnits', [
      {
        id: ORG_UNITS.sierraLeone,
        name: 'Sierra Leone',
        path: `/${ORG_UNITS.sierraLeone}`,
        level: 1,
        openingDate: t,
      },
      {
        id: ORG_UNITS.bo,
        name: 'Bo',
        parent: { id: ORG_UNITS.sierraLeone },
        path: `/${ORG_UNITS.sierraLeone}/${ORG_UNITS.bo}`,
        level: 2,
        openingDate: t,
      },
      {
        id: ORG_UNITS.badjia,
        name: 'Badjia',
        parent: { id: ORG_UNITS.bo },
        path: `/${ORG_UNITS.sierraLeone}/${ORG_UNITS.bo}/${ORG_UNITS.badjia}`,
        level: 3,
        openingDate: t,
      },
      {
        id: ORG_UNITS.otherRoot,
        name: 'Elsewhere',
        path: `/${ORG_UNITS.otherRoot}`,
        level: 1,
        openingDate: t,
      },
    ]);
    await store.save('userRoles', [
      { id: ROLES.importer, name: 'Data importer', authorities: ['F_DATAVALUE_ADD', 'F_METADATA_IMPORT'] },
      { id: ROLES.reader, name: 'Reader', authorities: ['F_EXPORT_DATA'] },
    ]);
    await store.save('categoryCombos', [
      { id: CATEGORY_COMBO, name: 'default', code: 'default', dataDimensionType: 'DISAGGREGATION' },
    ]);
    await store.save(
      'dataElements',
      Array.from({ length: 60 }, (_, i) => ({
        id: `deUid${String(i).padStart(6, '0')}`,
        name: `Data element ${String(i).padStart(2, '0')}`,
        shortName: `DE ${i}`,
        code: `DE_${i}`,
        valueType: i % 2 === 0 ? 'NUMBER' : 'TEXT',
        zeroIsSignificant: i % 3 === 0,
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
        categoryCombo: { id: CATEGORY_COMBO },
      })),
    );
  });
}

export function contextFor(storage: Storage, dataDir: string): FerryContext {
  return createFerryContextFromStorage(loadConfig({}, { dataDir }), storage);
}

/** An HTTP Basic `Authorization` header value. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The administrator `startTestApp` creates (`ensureAdmin({ password: 'district' })`). */
export const ADMIN_AUTH = basicAuth('admin', 'district');

/** The clerk of the access fixtures: the reader role, capturing in Bo only. */
export const BO_CLERK = { id: 'clerkUser01', username: 'bo.clerk', password: 'clerk-password' } as const;

export async function createBoClerk(context: FerryContext): Promise<void> {
  await context.users.createUser({
    ...BO_CLERK,
    firstName: 'Bo',
    surname: 'Clerk',
    roles: [ROLES.reader],
    orgUnits: [ORG_UNITS.bo],
  });
}
