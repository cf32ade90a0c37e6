import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH as ADMIN, basicAuth, contextFor } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/build-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/**
 * A right taken away while a job waits in the queue must stop the job when it starts. The clerk
 * queues work while the workers are stopped (`startTestApp` does not start them), the
 * administrator takes an authority (or scope) away through the API, then the workers run the job.
 * The clerk's principal was cached by the request that queued the job (for 30 s). A change made
 * through this server drops that cache, but one made through another server on the same database
 * (or the CLI) cannot: most cases revoke through a second app over the same database, so a job
 * that used the cached principal would still see the old rights.
 */
const CLERK = { id: 'revokeClerk', username: 'revoke.clerk', password: 'clerk-password-1' } as const;
const CLERK_AUTH = basicAuth(CLERK.username, CLERK.password);
const ROLE = 'revokeRole1';
const ALL_RIGHTS = ['F_DATAVALUE_ADD', 'F_METADATA_IMPORT', 'F_EXPORT_DATA'] as const;
const BO = 'O6uvpzGd5pu';
const BADJIA = 'YuQRtpLP10I';
const DEFAULT_COC = 'HllvX50cXC0';
/** Yearly data elements of DHIS2's aggregate e2e metadata, default category combo. */
const DATA_ELEMENTS = ['tpz77FcntKx', 'FRbgzTZ74Hh', 'EpyvZBsqMmM'];

/** Where the administrator takes a right away: the server that caches the clerk, or another one. */
const VIAS = ['this server', 'another server'] as const;
type Via = (typeof VIAS)[number];

/** Three new values on Bo in `period` (a year). */
function valuesIn(period: string) {
  return {
    dataValues: DATA_ELEMENTS.map((dataElement, i) => ({
      dataElement,
      period,
      orgUnit: BO,
      categoryOptionCombo: DEFAULT_COC,
      attributeOptionCombo: DEFAULT_COC,
      value: String(100 + i),
    })),
  };
}
const VALUES = valuesIn('2019');

/** A GeoJSON point for Badjia (below Bo, in the clerk's scope). */
function badjiaPoint(longitude: number) {
  return {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', id: BADJIA, geometry: { type: 'Point', coordinates: [longitude, 7.5] } }],
  };
}

async function countValues(context: FerryContext): Promise<number> {
  const row = await context.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
  return Number(row?.n);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `jobs check their submitter's current rights when they start (${kind})`,
    { skip: skipReasonFor(kind) },
    () => {
      let started: TestApp | undefined;
      /** Another server on the same database: its own context, auth cache and HTTP app. */
      let otherContext: FerryContext | undefined;
      let otherServer: FastifyInstance | undefined;

      before(async () => {
        started = await startTestApp(kind, {
          seed: (_context, db) => loadAggregateE2eMetadata(db.storage),
          setup: async (context) => {
            await context.storage.transaction(async (tx) => {
              await context.metadata
                .withExecutor(tx)
                .save('userRoles', [{ id: ROLE, name: 'Revocable clerk', authorities: [...ALL_RIGHTS] }]);
            });
            await context.users.createUser({ ...CLERK, roles: [ROLE], orgUnits: [BO] });
          },
        });
        otherContext = contextFor(started.db.storage, started.db.dataDir);
        otherServer = await buildApp(otherContext);
      });
      after(async () => {
        await otherServer?.close();
        await otherContext?.jobs.stop();
        await stopTestApp(started);
      });

      /** POST /api/metadata as the administrator; insists on an OK import. */
      async function adminImport(payload: Record<string, unknown>, via: Via = 'this server'): Promise<void> {
        const app = via === 'this server' ? started!.app : otherServer!;
        const reply = await app.inject({
          method: 'POST',
          url: '/api/metadata?importStrategy=CREATE_AND_UPDATE',
          headers: { authorization: ADMIN, 'content-type': 'application/json' },
          payload,
        });
        assert.equal(reply.statusCode, 200, reply.body);
      }

      /** The administrator gives the clerk's role exactly these authorities. */
      async function setRoleAuthorities(authorities: readonly string[], via?: Via): Promise<void> {
        await adminImport(
          { userRoles: [{ id: ROLE, name: 'Revocable clerk', authorities: [...authorities] }] },
          via,
        );
      }

      /** The clerk's request, made while no worker runs; returns the job id. */
      async function queueAsClerk(request: {
        url: string;
        contentType: string;
        payload: unknown;
        expectedStatus?: number;
      }): Promise<string> {
        const { app, context } = started!;
        await context.jobs.stop();
        await setRoleAuthorities(ALL_RIGHTS);
        // The clerk holds every right when it asks, whatever an earlier test left in the cache.
        context.auth.forgetAll();
        const reply = await app.inject({
          method: 'POST',
          url: request.url,
          headers: { authorization: CLERK_AUTH, 'content-type': request.contentType },
          payload: JSON.stringify(request.payload),
        });
        assert.equal(reply.statusCode, request.expectedStatus ?? 200, reply.body);
        const body = reply.json<{ id?: string; response?: { id: string } }>();
        return body.response?.id ?? body.id!;
      }

      async function runJob(id: string) {
        const { context } = started!;
        await context.jobs.start();
        return waitForJob(context, id);
      }

      for (const via of VIAS) {
        it(`a queued data value import fails (F1102, F_DATAVALUE_ADD) once the role lost the authority through ${via}; nothing is written`, async () => {
          const { context } = started!;
          const before = await countValues(context);
          const id = await queueAsClerk({
            url: '/api/dataValueSets?async=true',
            contentType: 'application/json',
            payload: VALUES,
          });
          await setRoleAuthorities(
            ALL_RIGHTS.filter((a) => a !== 'F_DATAVALUE_ADD'),
            via,
          );
          const job = await runJob(id);
          assert.equal(job.status, 'FAILED', JSON.stringify(job));
          assert.match(job.error ?? '', /authority `F_DATAVALUE_ADD` is required/);
          assert.equal(await countValues(context), before);
        });
      }

      it('a queued metadata import fails (F_METADATA_IMPORT) once the role lost the authority on another server; nothing is created', async () => {
        const { context } = started!;
        const id = await queueAsClerk({
          url: '/api/metadata?async=true',
          contentType: 'application/json',
          payload: {
            organisationUnitGroups: [{ id: 'revokeGrp01', name: 'Queued group', shortName: 'Queued group' }],
          },
        });
        await setRoleAuthorities(
          ALL_RIGHTS.filter((a) => a !== 'F_METADATA_IMPORT'),
          'another server',
        );
        const job = await runJob(id);
        assert.equal(job.status, 'FAILED', JSON.stringify(job));
        assert.match(job.error ?? '', /authority `F_METADATA_IMPORT` is required/);
        assert.equal(await context.metadata.get('organisationUnitGroups', 'revokeGrp01'), undefined);
      });

      it('a queued data value export fails (F_EXPORT_DATA) once the role lost the authority on another server; no file is kept', async () => {
        const { app } = started!;
        const id = await queueAsClerk({
          url: '/api/exports',
          contentType: 'application/json',
          payload: {
            kind: 'dataValues',
            format: 'csv',
            params: { dataElement: DATA_ELEMENTS, period: '2019', orgUnit: BO },
          },
          expectedStatus: 201,
        });
        await setRoleAuthorities(
          ALL_RIGHTS.filter((a) => a !== 'F_EXPORT_DATA'),
          'another server',
        );
        const job = await runJob(id);
        assert.equal(job.status, 'FAILED', JSON.stringify(job));
        assert.match(job.error ?? '', /authority `F_EXPORT_DATA` is required/);
        const file = await app.inject({ url: `/api/exports/${id}/file`, headers: { authorization: ADMIN } });
        assert.notEqual(file.statusCode, 200, file.body);
      });

      it('a queued GeoJSON import fails (F_METADATA_IMPORT) once the role lost the authority on another server; no geometry is written', async () => {
        const { context } = started!;
        const before = (await context.metadata.get('organisationUnits', BADJIA))?.geometry;
        assert.equal((before as { type?: string } | undefined)?.type, 'Polygon');
        const id = await queueAsClerk({
          url: '/api/organisationUnits/geometry?async=true',
          contentType: 'application/geo+json',
          payload: badjiaPoint(-12.5),
        });
        await setRoleAuthorities(
          ALL_RIGHTS.filter((a) => a !== 'F_METADATA_IMPORT'),
          'another server',
        );
        const job = await runJob(id);
        assert.equal(job.status, 'FAILED', JSON.stringify(job));
        assert.match(job.error ?? '', /authority `F_METADATA_IMPORT` is required/);
        assert.deepEqual((await context.metadata.get('organisationUnits', BADJIA))?.geometry, before);
      });

      it('a queued import runs with the scope the clerk has when it starts, not the one it had when queued', async () => {
        const { context } = started!;
        const before = await countValues(context);
        const id = await queueAsClerk({
          url: '/api/dataValueSets?async=true',
          contentType: 'application/json',
          payload: valuesIn('2017'),
        });
        // The clerk is moved from Bo down to Badjia: Bo's values are no longer in its capture scope.
        const clerk = await context.metadata.get('users', CLERK.id);
        await adminImport({ users: [{ ...clerk, organisationUnits: [{ id: BADJIA }] }] }, 'another server');
        const job = await runJob(id);
        assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
        const summary = job.summary as {
          importCount: { imported: number; ignored: number };
          conflicts: Array<{ object: string; errorCode: string }>;
        };
        assert.equal(summary.importCount.imported, 0, JSON.stringify(summary));
        assert.equal(summary.importCount.ignored, DATA_ELEMENTS.length);
        assert.ok(
          summary.conflicts.some((c) => c.object === BO),
          `a conflict names Bo: ${JSON.stringify(summary.conflicts)}`,
        );
        assert.equal(await countValues(context), before);
        // Put back for the tests that follow.
        await adminImport({ users: [{ ...clerk, organisationUnits: [{ id: BO }] }] });
      });

      it('with its rights kept, the same clerk and requests succeed (the refusals above are the revocations)', async () => {
        const { app, context } = started!;
        const before = await countValues(context);
        const imported = await queueAsClerk({
          url: '/api/dataValueSets?async=true',
          contentType: 'application/json',
          payload: VALUES,
        });
        const metadata = await queueAsClerk({
          url: '/api/metadata?async=true',
          contentType: 'application/json',
          payload: {
            organisationUnitGroups: [{ id: 'revokeGrp02', name: 'Kept group', shortName: 'Kept group' }],
          },
        });
        const exported = await queueAsClerk({
          url: '/api/exports',
          contentType: 'application/json',
          payload: {
            kind: 'dataValues',
            format: 'csv',
            params: { dataElement: DATA_ELEMENTS, period: '2019', orgUnit: BO, children: 'true' },
          },
          expectedStatus: 201,
        });
        const geometry = await queueAsClerk({
          url: '/api/organisationUnits/geometry?async=true',
          contentType: 'application/geo+json',
          payload: badjiaPoint(-11.5),
        });
        for (const id of [imported, metadata, exported, geometry]) {
          const job = await runJob(id);
          assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
        }
        assert.equal(await countValues(context), before + DATA_ELEMENTS.length);
        assert.ok(await context.metadata.get('organisationUnitGroups', 'revokeGrp02'));
        assert.deepEqual((await context.metadata.get('organisationUnits', BADJIA))?.geometry, {
          type: 'Point',
          coordinates: [-11.5, 7.5],
        });
        const file = await app.inject({
          url: `/api/exports/${exported}/file`,
          headers: { authorization: CLERK_AUTH },
        });
        assert.equal(file.statusCode, 200, file.body);
        assert.equal(file.body.trim().split('\n').length, 1 + DATA_ELEMENTS.length);
      });
    },
  );
}
