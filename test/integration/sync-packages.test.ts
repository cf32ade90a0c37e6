import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { buildPrincipal } from '../../src/domain/access/principal.ts';
import { exportPackage } from '../../src/services/sync/sync-package-writer.ts';
import { importPackage } from '../../src/services/sync/sync-package-importer.ts';
import { applyAcknowledgement } from '../../src/services/sync/sync-acknowledgements.ts';
import { listConflicts } from '../../src/services/sync/sync-conflicts.ts';
import { syncStatus } from '../../src/services/sync/sync-site-registry.ts';
import { isFerryError } from '../../src/errors.ts';
import { importTracker } from '../../src/services/tracker/tracker-import-service.ts';
import { TRACKER_FIXTURE_METADATA } from '../support/tracker-metadata.ts';
import {
  DE,
  OU,
  enterEvents,
  enterValues,
  eventWeights,
  linkSites,
  syncMetadata,
  totals,
} from '../support/sync-sites.ts';

/**
 * Sync packages between a child and its parent on one backend (issue 18, docs/sync.md): metadata
 * down, data values and events up, acknowledgements, and every refusal: one changed byte, a
 * package for another site, a replay, a gap; conflicts; split packages; encryption; rights.
 */

async function rejects(work: Promise<unknown>, code: string, text?: RegExp): Promise<Error> {
  try {
    await work;
  } catch (error) {
    assert.ok(isFerryError(error), `expected ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (text) assert.match(error.message, text);
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** What an import could change: every data value, event, completion and change log row. */
async function fingerprint(context: FerryContext): Promise<string> {
  const parts: unknown[] = [];
  for (const sql of [
    'SELECT * FROM data_value ORDER BY org_unit_id, period_id, data_element_id',
    'SELECT uid, updated, deleted FROM event ORDER BY uid',
    'SELECT COUNT(*) AS n FROM sync_change',
    'SELECT COUNT(*) AS n FROM data_value_audit',
    'SELECT received_package, received_to_seq FROM sync_site ORDER BY site_id',
  ])
    parts.push(await context.storage.query(sql));
  return JSON.stringify(parts, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`sync packages (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let childDb: TestDatabase | undefined;
    let parentDb: TestDatabase | undefined;
    let child: FerryContext;
    let parent: FerryContext;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-sync-'));
      childDb = await createTestDatabase(kind);
      parentDb = await createTestDatabase(kind);
      child = contextFor(childDb.storage, childDb.dataDir);
      parent = contextFor(parentDb.storage, parentDb.dataDir);
      await loadMetadataPayloads(parentDb.storage, [syncMetadata(), TRACKER_FIXTURE_METADATA]);
      await linkSites({ context: child, id: 'facility' }, { context: parent, id: 'district' });
    });

    after(async () => {
      await child?.jobs.stop();
      await parent?.jobs.stop();
      await childDb?.dispose();
      await parentDb?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Exports for `to` at `from`, imports at `at`, applies the acknowledgement back at `from`. */
    async function deliver(from: FerryContext, to: string, at: FerryContext, name: string) {
      const output = join(dir, name);
      const exported = await exportPackage(from, undefined, { to, output });
      const result = await importPackage(at, undefined, exported.files[0]);
      const ack = await applyAcknowledgement(from, undefined, result.acknowledgement);
      return { exported, result, ack };
    }

    it('sends metadata down: the facility gets the parent’s org units, data set and program', async () => {
      const { exported, result, ack } = await deliver(parent, 'facility', child, 'meta-1.zip');
      assert.equal(exported.manifest.direction, 'down');
      assert.equal(exported.manifest.sequence, 1);
      assert.ok(result.counts.metadata!.created >= 8, JSON.stringify(result.counts));
      assert.equal(ack.advanced, true);
      assert.ok(await child.metadata.get('dataSets', 'SyncDSet001'));
      assert.ok(await child.metadata.get('programs', 'SyncProgEv1'));
      const facility = await child.metadata.get('organisationUnits', OU.facA);
      assert.equal(facility?.path, `/${OU.nation}/${OU.district}/${OU.facA}`);
    });

    it('sends a month of values and events up; the parent’s totals equal the facility’s', async () => {
      await enterValues(child, dir, 'jan', [
        { orgUnit: OU.facA, period: '202401', value: 10 },
        { orgUnit: OU.facB, period: '202401', value: 20 },
        { orgUnit: OU.facA, period: '202402', value: 5 },
      ]);
      await enterEvents(child, dir, 'jan-events', [
        { event: 'SyncEvent01', orgUnit: OU.facA, occurredAt: '2024-01-05', weight: 61 },
        { event: 'SyncEvent02', orgUnit: OU.facB, occurredAt: '2024-01-09', weight: 72 },
      ]);
      const { exported, result } = await deliver(child, 'district', parent, 'data-1.zip');
      assert.equal(exported.manifest.direction, 'up');
      assert.equal(exported.manifest.counts.dataValues, 3);
      assert.equal(exported.manifest.counts.events, 2);
      assert.equal(result.status, 'IMPORTED');
      assert.deepEqual(result.counts.dataValues, { created: 3, updated: 0, deleted: 0, unchanged: 0 });
      assert.deepEqual(await totals(parent), await totals(child));
      assert.deepEqual(
        await totals(parent),
        new Map([
          [OU.facA, 15],
          [OU.facB, 20],
        ]),
      );
      assert.deepEqual(await eventWeights(parent), await eventWeights(child));
      assert.equal((await eventWeights(parent)).get('SyncEvent02'), '72');
    });

    it('sends tracked entities with their enrollments, events and relationships up', async () => {
      const person = (id: string) => ({
        trackedEntity: id,
        trackedEntityType: 'PrZMWi7rBga',
        orgUnit: 'PSeMWi7rBgb',
        enrollments: [
          {
            enrollment: `SyncEnr${id.slice(-4)}`,
            program: 'XrZRFi7rU9e',
            orgUnit: 'PSeMWi7rBgb',
            status: 'ACTIVE',
            enrolledAt: '2024-01-02',
            occurredAt: '2024-01-02',
            events: [
              {
                event: `SyncEvt${id.slice(-4)}`,
                programStage: 'I8RRFi7rUps',
                orgUnit: 'PSeMWi7rBgb',
                status: 'COMPLETED',
                occurredAt: '2024-01-03',
                dataValues: [{ dataElement: 'trkDeNum001', value: '3.5' }],
              },
            ],
          },
        ],
      });
      writeFileSync(
        join(dir, 'tracker.json'),
        JSON.stringify({
          trackedEntities: [person('SyncTrkE001'), person('SyncTrkE002')],
          relationships: [
            {
              relationship: 'SyncTrkRel1',
              relationshipType: 'A4ORFi7rReL',
              from: { trackedEntity: { trackedEntity: 'SyncTrkE001' } },
              to: { trackedEntity: { trackedEntity: 'SyncTrkE002' } },
            },
          ],
        }),
      );
      const report = await importTracker(
        child,
        { path: join(dir, 'tracker.json'), fileName: 'tracker.json' },
        {},
        undefined,
      );
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
      const { result } = await deliver(child, 'district', parent, 'tracker-1.zip');
      assert.equal(result.counts.trackedEntities?.created, 2, JSON.stringify(result.counts));
      assert.equal(result.counts.enrollments?.created, 2);
      assert.equal(result.counts.events?.created, 2);
      assert.equal(result.counts.relationships?.created, 1);
      const rows = async (context: FerryContext) =>
        JSON.stringify(
          await context.storage.query(
            `SELECT te.uid AS te, en.uid AS en, ev.uid AS ev, ev.status AS status, r.uid AS rel
             FROM tracked_entity te JOIN enrollment en ON en.tracked_entity_id = te.tracked_entity_id
             JOIN event ev ON ev.enrollment_id = en.enrollment_id
             LEFT JOIN relationship r ON r.from_kind = 'TRACKED_ENTITY' AND r.from_id = te.tracked_entity_id
             ORDER BY te.uid`,
          ),
        );
      assert.equal(await rows(parent), await rows(child));
      assert.match(await rows(parent), /SyncTrkRel1/);
    });

    it('imports the same package twice: already imported, nothing changes', async () => {
      const file = join(dir, 'data-1.zip');
      const before = await fingerprint(parent);
      const again = await importPackage(parent, undefined, file);
      assert.equal(again.status, 'ALREADY_IMPORTED');
      assert.equal(await fingerprint(parent), before);
      const ack = await applyAcknowledgement(child, undefined, again.acknowledgement);
      assert.equal(ack.advanced, false);
    });

    it('refuses a package with any one byte changed, and writes nothing', async () => {
      await enterValues(child, dir, 'feb', [{ orgUnit: OU.facB, period: '202402', value: 7 }]);
      const good = join(dir, 'data-2.zip');
      await exportPackage(child, undefined, { to: 'district', output: good });
      const bytes = readFileSync(good);
      const before = await fingerprint(parent);
      const manifestAt = bytes.indexOf('"sequence"');
      const partAt = bytes.indexOf('parts/data-values.json.gz') + 60;
      // The manifest, a part, the zip's headers and central directory, the signature: and 30 more spread over the file.
      const positions = [10, manifestAt + 13, partAt, bytes.length - 30, bytes.length - 1];
      for (let i = 0; i < 30; i++) positions.push(Math.floor((i * bytes.length) / 30));
      for (const position of positions) {
        const bad = Buffer.from(bytes);
        bad[position] ^= 0x01;
        const path = join(dir, `tampered-${position}.zip`);
        writeFileSync(path, bad);
        await assert.rejects(importPackage(parent, undefined, path), (e: unknown) => {
          assert.ok(isFerryError(e), String(e));
          assert.ok(['F1903', 'F1904'].includes(e.code), `${position}: ${e.code} ${e.message}`);
          assert.match(e.message, /nothing was imported/);
          return true;
        });
      }
      assert.equal(await fingerprint(parent), before);
      const ok = await importPackage(parent, undefined, good);
      assert.equal(ok.status, 'IMPORTED');
      await applyAcknowledgement(child, undefined, ok.acknowledgement);
    });

    it('refuses a package addressed to another site and one from an unknown site', async () => {
      const forChild = join(dir, 'meta-for-child.zip');
      await exportPackage(parent, undefined, { to: 'facility', output: forChild });
      await rejects(importPackage(parent, undefined, forChild), 'F1905', /addressed to `facility`/);
      await parent.storage.execute("UPDATE sync_site SET site_id = 'renamed' WHERE site_id = 'facility'");
      try {
        await rejects(importPackage(parent, undefined, join(dir, 'data-2.zip')), 'F1906', /`facility`/);
      } finally {
        await parent.storage.execute("UPDATE sync_site SET site_id = 'facility' WHERE site_id = 'renamed'");
      }
      // The metadata package was never delivered: the facility takes it now, in order.
      const result = await importPackage(child, undefined, forChild);
      await applyAcknowledgement(parent, undefined, result.acknowledgement);
    });

    it('detects a missing package, names it, and takes a re-export from the acknowledged point', async () => {
      await enterValues(child, dir, 'mar-1', [{ orgUnit: OU.facA, period: '202403', value: 3 }]);
      const lost = await exportPackage(child, undefined, {
        to: 'district',
        output: join(dir, 'data-lost.zip'),
      });
      await enterValues(child, dir, 'mar-2', [{ orgUnit: OU.facB, period: '202403', value: 4 }]);
      const next = await exportPackage(child, undefined, {
        to: 'district',
        output: join(dir, 'data-next.zip'),
      });
      assert.equal(next.manifest.sequence, lost.manifest.sequence + 1);
      const before = await fingerprint(parent);
      await rejects(
        importPackage(parent, undefined, next.files[0]),
        'F1908',
        new RegExp(`package ${lost.manifest.sequence} is missing.*--from-ack`),
      );
      assert.equal(await fingerprint(parent), before);
      const again = await exportPackage(child, undefined, {
        to: 'district',
        output: join(dir, 'data-again.zip'),
        fromAck: true,
      });
      assert.equal(again.manifest.fromSeq, lost.manifest.fromSeq);
      const result = await importPackage(parent, undefined, again.files[0]);
      await applyAcknowledgement(child, undefined, result.acknowledgement);
      assert.deepEqual(await totals(parent), await totals(child));
      // The package that arrived late is older than what was imported since: refused as a replay.
      await rejects(importPackage(parent, undefined, lost.files[0]), 'F1907');
    });

    it('lists a value changed at both ends; the later writer wins and the other version is kept', async () => {
      // The district corrects facility A's January value; later the facility changes it too.
      await enterValues(parent, dir, 'district-fix', [{ orgUnit: OU.facA, period: '202401', value: 11 }]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await enterValues(child, dir, 'facility-fix', [{ orgUnit: OU.facA, period: '202401', value: 12 }]);
      const { result } = await deliver(child, 'district', parent, 'data-conflict.zip');
      assert.equal(result.conflicts, 1);
      const [conflict] = await listConflicts(parent, undefined, { site: 'facility' });
      assert.equal(conflict.kind, 'dataValue');
      assert.match(conflict.key, new RegExp(`dataElement=${DE} period=202401 orgUnit=${OU.facA}`));
      assert.equal(conflict.local.value, '11');
      assert.equal(conflict.incoming.value, '12');
      assert.equal(conflict.rule, 'last-writer');
      assert.equal(conflict.kept, 'incoming');
      assert.equal((await totals(parent)).get(OU.facA), 12 + 5 + 3);
      const status = await syncStatus(parent, undefined);
      assert.equal(status.sites.find((s) => s.site === 'facility')?.conflicts, 1);
    });

    it('lists an event changed at both ends; the later writer wins', async () => {
      await enterEvents(parent, dir, 'district-event-fix', [
        { event: 'SyncEvent01', orgUnit: OU.facA, occurredAt: '2024-01-05', weight: 62 },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await enterEvents(child, dir, 'facility-event-fix', [
        { event: 'SyncEvent01', orgUnit: OU.facA, occurredAt: '2024-01-05', weight: 63 },
      ]);
      const { result } = await deliver(child, 'district', parent, 'event-conflict.zip');
      assert.equal(result.conflicts, 1);
      const [conflict] = await listConflicts(parent, undefined, { site: 'facility' });
      assert.equal(conflict.kind, 'event');
      assert.equal(conflict.key, 'event=SyncEvent01');
      assert.equal(conflict.kept, 'incoming');
      assert.equal((await eventWeights(parent)).get('SyncEvent01'), '63');
    });

    it('splits a package to a size and joins the pieces; a missing piece is named', async () => {
      const many = Array.from({ length: 300 }, (_, i) => ({
        orgUnit: i % 2 ? OU.facA : OU.facB,
        period: `${2010 + Math.floor(i / 24)}${String((Math.floor(i / 2) % 12) + 1).padStart(2, '0')}`,
        value: i,
      }));
      await enterValues(child, dir, 'many', many);
      const output = join(dir, 'split', 'data-split.zip');
      const exported = await exportPackage(child, undefined, { to: 'district', output, splitSize: 1024 });
      assert.ok(exported.files.length > 1, `${exported.files.length} pieces`);
      for (const file of exported.files) assert.ok(readFileSync(file).length <= 1024);
      const hidden = `${exported.files[1]}.away`;
      copyFileSync(exported.files[1], hidden);
      rmSync(exported.files[1]);
      await rejects(importPackage(parent, undefined, exported.files[0]), 'F1911', /piece 2 is missing/);
      copyFileSync(hidden, exported.files[1]);
      rmSync(hidden);
      const result = await importPackage(parent, undefined, exported.files[exported.files.length - 1]);
      assert.equal(result.status, 'IMPORTED');
      await applyAcknowledgement(child, undefined, result.acknowledgement);
      assert.deepEqual(await totals(parent), await totals(child));
      assert.ok(readdirSync(join(dir, 'split')).every((name) => name.includes('.part-')));
    });

    it('encrypts for the receiver: no part is readable without its key', async () => {
      await enterValues(child, dir, 'secret', [{ orgUnit: OU.facA, period: '202404', value: 987654 }]);
      const output = join(dir, 'data-encrypted.zip');
      const exported = await exportPackage(child, undefined, { to: 'district', output, encrypt: true });
      assert.equal(exported.manifest.encryption?.algorithm, 'X25519-HKDF-SHA256-AES-256-GCM');
      const part = exported.manifest.parts.find((p) => p.name === 'dataValues')!;
      assert.ok(part.nonce && part.tag);
      // The zip stores parts uncompressed: the bytes after the local header are the part itself.
      const zip = readFileSync(output);
      const at = zip.indexOf(part.file) + part.file.length;
      const stored = zip.subarray(at, at + part.bytes);
      assert.throws(() => inflateRawSync(stored));
      assert.equal(zip.includes('987654'), false);
      const result = await importPackage(parent, undefined, output);
      assert.equal(result.counts.dataValues?.created, 1);
      await applyAcknowledgement(child, undefined, result.acknowledgement);
      assert.deepEqual(await totals(parent), await totals(child));
    });

    it('checks rights at the moment of export and import', async () => {
      const clerk = buildPrincipal({ id: 'syncClerk01', username: 'clerk' }, [
        { authorities: ['F_SYNC_EXPORT'] },
      ]);
      const exported = await exportPackage(child, clerk, { to: 'district', output: join(dir, 'clerk.zip') });
      await rejects(importPackage(parent, clerk, exported.files[0]), 'F1102', /F_SYNC_IMPORT/);
      const reader = buildPrincipal({ id: 'syncRead001', username: 'reader' }, [
        { authorities: ['F_SYNC_IMPORT'] },
      ]);
      await rejects(exportPackage(child, reader, { to: 'district', output: join(dir, 'no.zip') }), 'F1102');
      const result = await importPackage(parent, reader, exported.files[0]);
      assert.equal(result.status, 'IMPORTED');
    });
  });
}
