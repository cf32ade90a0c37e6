import type { Principal } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import { DataValueStore, type DataValueAuditRow, type DataValueRow } from '../../storage/data-value-store.ts';
import type { PeriodStore } from '../../storage/period-store.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import type { Transaction } from '../../storage/storage.ts';
import { maxSeq } from '../../storage/sync-change-store.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { signAcknowledgement } from './sync-acknowledgements.ts';
import { canonical, SidCache, type ImportScope } from './sync-import-scope.ts';
import type { PartCounts } from './sync-import-counts.ts';
import { importTrackerBatch } from './sync-tracker-importer.ts';
import {
  conflictRule,
  incomingWins,
  recordConflicts,
  type ConflictRecord,
  type ConflictRule,
} from './sync-conflicts.ts';
import type { AcknowledgementFile, PartName } from './sync-package-format.ts';
import { openVerifiedPackage, partObjects, type VerifiedPackage } from './sync-package-reader.ts';
import {
  requireIdentity,
  requireSite,
  requireSyncAuthority,
  type SiteIdentity,
  type SiteRow,
} from './sync-site-registry.ts';

const BATCH = 1000;

export type { PartCounts } from './sync-import-counts.ts';

export interface ImportPackageResult {
  status: 'IMPORTED' | 'ALREADY_IMPORTED';
  source: string;
  sequence: number;
  counts: Partial<Record<PartName, PartCounts>>;
  conflicts: number;
  acknowledgement: AcknowledgementFile;
}

/**
 * Imports a sync package (docs/sync.md, "Import"): verified whole first (sync-package-reader.ts),
 * then in one transaction: replay and gap checks against what was last imported from the sender
 * (under a row lock on PostgreSQL, so two imports of one site queue), every part, the conflicts,
 * and the link's new state. Any error rolls everything back. The answer carries the signed
 * acknowledgement for the sender, also for a package that was already imported (its first
 * acknowledgement may be the one that got lost).
 */
export async function importPackage(
  context: FerryContext,
  principal: Principal | undefined,
  file: string,
): Promise<ImportPackageResult> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  const identity = await requireIdentity(context.storage);
  const pkg = await openVerifiedPackage(context.storage, identity, file, context.config.dataDir);
  try {
    const { manifest } = pkg;
    const expected = pkg.sender.role === 'child' ? 'up' : 'down';
    if (manifest.direction !== expected)
      throw new FerryError('F1904', [
        pkg.label,
        `\`${pkg.sender.siteId}\` is a ${pkg.sender.role} of this site, so its packages go ${expected}, this one goes ${manifest.direction}`,
      ]);
    const rule = conflictRule();
    let periods: PeriodStore | undefined;
    const outcome = await context.storage.transaction(async (tx) => {
      const site = await requireSite(tx, pkg.sender.siteId, true);
      if (manifest.sequence <= site.receivedPackage) {
        const earlier = await tx.queryOne<{ digest: string }>(
          "SELECT digest FROM sync_package WHERE direction = 'in' AND site_id = ? AND sequence = ?",
          [site.siteId, manifest.sequence],
        );
        if (earlier?.digest === pkg.manifestSha256)
          return { status: 'ALREADY_IMPORTED' as const, counts: {}, conflicts: 0 };
        throw new FerryError('F1907', [pkg.label, manifest.sequence, site.siteId]);
      }
      if (manifest.fromSeq > site.receivedToSeq) throw gapError(pkg, site, identity);
      periods = context.periods.withExecutor(tx);
      const run = new PackageImport(tx, pkg, site, identity, periods, rule, context.metadata);
      await run.importAll();
      const now = new Date().toISOString();
      await tx.execute(
        `UPDATE sync_site SET received_package = ?, received_to_seq = ?, received_at = ?, local_seq_after_import = ?
         WHERE site_id = ?`,
        [manifest.sequence, Math.max(site.receivedToSeq, manifest.toSeq), now, await maxSeq(tx), site.siteId],
      );
      await tx.execute(
        `INSERT INTO sync_package (direction, site_id, sequence, from_seq, to_seq, digest, counts, bytes, file_path, created)
         VALUES ('in', ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
        [
          site.siteId,
          manifest.sequence,
          manifest.fromSeq,
          manifest.toSeq,
          pkg.manifestSha256,
          JSON.stringify(run.counts),
          manifest.parts.reduce((sum, p) => sum + p.bytes, 0),
          now,
        ],
      );
      await recordConflicts(tx, run.conflicts);
      return { status: 'IMPORTED' as const, counts: run.counts, conflicts: run.conflicts.length };
    });
    periods?.markCommitted();
    const acknowledgement = signAcknowledgement(identity, {
      target: pkg.sender.siteId,
      sequence: manifest.sequence,
      toSeq: manifest.toSeq,
      manifestSha256: pkg.manifestSha256,
      status: outcome.status,
      counts: Object.fromEntries(
        Object.entries(outcome.counts).map(([name, c]) => [name, c.created + c.updated + c.deleted]),
      ),
      conflicts: outcome.conflicts,
    });
    return {
      status: outcome.status,
      source: pkg.sender.siteId,
      sequence: manifest.sequence,
      counts: outcome.counts,
      conflicts: outcome.conflicts,
      acknowledgement,
    };
  } finally {
    await pkg.dispose();
  }
}

function gapError(pkg: VerifiedPackage, site: SiteRow, identity: SiteIdentity): FerryError {
  const first = site.receivedPackage + 1;
  const last = pkg.manifest.sequence - 1;
  const missing =
    last < first
      ? `the changes after ${site.receivedToSeq} are`
      : first === last
        ? `package ${first} is`
        : `packages ${first} to ${last} are`;
  return new FerryError('F1908', [
    pkg.manifest.sequence,
    site.siteId,
    missing,
    site.receivedPackage === 0 ? 'none' : String(site.receivedPackage),
    identity.siteId,
  ]);
}

class PackageImport implements ImportScope {
  readonly counts: Partial<Record<PartName, PartCounts>> = {};
  readonly conflicts: ConflictRecord[] = [];
  readonly tx: Transaction;
  readonly pkg: VerifiedPackage;
  readonly site: SiteRow;
  private readonly identity: SiteIdentity;
  private readonly periods: PeriodStore;
  readonly rule: ConflictRule;
  readonly sids: SidCache;
  /** Data flows up: the sender is a child, so this site's version is the parent's. */
  readonly localIsParent: boolean;
  private readonly modifiedBy: string;
  private readonly metadataTx: MetadataStore;

  constructor(
    tx: Transaction,
    pkg: VerifiedPackage,
    site: SiteRow,
    identity: SiteIdentity,
    periods: PeriodStore,
    rule: ConflictRule,
    metadata: MetadataStore,
  ) {
    this.metadataTx = metadata.withExecutor(tx);
    this.tx = tx;
    this.pkg = pkg;
    this.site = site;
    this.identity = identity;
    this.periods = periods;
    this.rule = rule;
    this.sids = new SidCache(tx);
    this.localIsParent = site.role === 'child';
    this.modifiedBy = `sync:${site.siteId}`;
  }

  count(part: PartName): PartCounts {
    return (this.counts[part] ??= { created: 0, updated: 0, deleted: 0, unchanged: 0 });
  }

  refuse(part: PartName, row: number, message: string): never {
    throw new FerryError('F1909', [this.pkg.label, part, row, message]);
  }

  async importAll(): Promise<void> {
    for (const part of this.pkg.manifest.parts) {
      for await (const batch of this.batches(part.name)) {
        switch (part.name) {
          case 'metadata':
            await this.metadata(batch);
            break;
          case 'metadataDeletions':
            await this.metadataDeletions(batch);
            break;
          case 'dataValues':
            await this.dataValues(batch);
            break;
          case 'completeDataSetRegistrations':
            await this.completions(batch);
            break;
          case 'trackedEntities':
            await importTrackerBatch(this, 'trackedEntity', part.name, batch);
            break;
          case 'enrollments':
            await importTrackerBatch(this, 'enrollment', part.name, batch);
            break;
          case 'events':
            await importTrackerBatch(this, 'event', part.name, batch);
            break;
          case 'relationships':
            await importTrackerBatch(this, 'relationship', part.name, batch);
            break;
        }
      }
    }
  }

  private async *batches(
    part: PartName,
  ): AsyncGenerator<Array<{ row: number; object: Record<string, unknown> }>> {
    let batch: Array<{ row: number; object: Record<string, unknown> }> = [];
    for await (const item of partObjects(this.pkg, part, this.identity.boxPrivate)) {
      batch.push(item);
      if (batch.length >= BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** Whether a change log row for the key was written here after the last import from the sender. */
  async changedLocally(kind: string, keys: readonly number[]): Promise<boolean> {
    const where = keys.map((_, i) => `k${i + 1} = ?`).join(' AND ');
    const row = await this.tx.queryOne(
      `SELECT 1 AS found FROM sync_change WHERE kind = ? AND ${where} AND seq > ? LIMIT 1`,
      [kind, ...keys, this.site.localSeqAfterImport],
    );
    return row !== undefined;
  }

  private async metadata(batch: Array<{ row: number; object: Record<string, unknown> }>): Promise<void> {
    const count = this.count('metadata');
    const byCollection = new Map<string, Array<Record<string, unknown> & { id: string }>>();
    for (const { row, object } of batch) {
      const collection = String(object.collection ?? '');
      const body = object.object as (Record<string, unknown> & { id: string }) | undefined;
      if (!body || typeof body.id !== 'string' || collection === '')
        this.refuse('metadata', row, 'an entry without `collection` and `object.id`');
      const list = byCollection.get(collection) ?? [];
      list.push(body);
      byCollection.set(collection, list);
    }
    for (const [collection, objects] of byCollection) {
      const stored = new Map<string, string>();
      const uids = objects.map((o) => o.id);
      for (let i = 0; i < uids.length; i += 500) {
        const chunk = uids.slice(i, i + 500);
        const rows = await this.tx.query<{ uid: string; body: unknown }>(
          `SELECT uid, body FROM metadata_object WHERE type = ? AND uid IN (${chunk.map(() => '?').join(', ')})`,
          [collection, ...chunk],
        );
        for (const r of rows)
          stored.set(r.uid, canonical(typeof r.body === 'string' ? JSON.parse(r.body) : r.body));
      }
      const changed = objects.filter((o) => stored.get(o.id) !== canonical(o));
      count.unchanged += objects.length - changed.length;
      for (const o of changed) {
        if (stored.has(o.id)) count.updated++;
        else count.created++;
      }
      if (changed.length > 0) await this.metadataStore().saveMany(collection, changed);
    }
  }

  private metadataStore(): MetadataStore {
    return this.metadataTx;
  }

  private async metadataDeletions(
    batch: Array<{ row: number; object: Record<string, unknown> }>,
  ): Promise<void> {
    const count = this.count('metadataDeletions');
    for (const { row, object } of batch) {
      if (typeof object.collection !== 'string' || typeof object.id !== 'string')
        this.refuse('metadataDeletions', row, 'an entry without `collection` and `id`');
      const n = await this.metadataStore().delete(object.collection, [object.id]);
      if (n > 0) count.deleted++;
      else count.unchanged++;
    }
  }

  private async dataValues(batch: Array<{ row: number; object: Record<string, unknown> }>): Promise<void> {
    const count = this.count('dataValues');
    const field = (o: Record<string, unknown>, name: string) => String(o[name] ?? '');
    await this.sids.load(
      'organisationUnits',
      batch.map((b) => field(b.object, 'orgUnit')),
    );
    await this.sids.load(
      'dataElements',
      batch.map((b) => field(b.object, 'dataElement')),
    );
    await this.sids.load(
      'categoryOptionCombos',
      batch.flatMap((b) => [field(b.object, 'categoryOptionCombo'), field(b.object, 'attributeOptionCombo')]),
    );
    const periodIds = await this.periods.idsFor(batch.map((b) => field(b.object, 'period')));
    const incoming: Array<{ row: number; data: DataValueRow }> = [];
    for (const { row, object } of batch) {
      const need = (collection: string, name: string) => {
        const sid = this.sids.get(collection, field(object, name));
        if (sid === undefined)
          this.refuse(
            'dataValues',
            row,
            `${name} \`${field(object, name)}\` is not known at this site (send its metadata first)`,
          );
        return sid;
      };
      const period = periodIds.get(field(object, 'period'));
      if (period === undefined)
        this.refuse('dataValues', row, `period \`${field(object, 'period')}\` is not a period`);
      incoming.push({
        row,
        data: {
          orgUnit: need('organisationUnits', 'orgUnit'),
          period,
          dataElement: need('dataElements', 'dataElement'),
          categoryOptionCombo: need('categoryOptionCombos', 'categoryOptionCombo'),
          attributeOptionCombo: need('categoryOptionCombos', 'attributeOptionCombo'),
          value: (object.value as string | null) ?? null,
          storedBy: (object.storedBy as string | null) ?? null,
          created: String(object.created ?? object.lastUpdated ?? new Date().toISOString()),
          lastUpdated: String(object.lastUpdated ?? new Date().toISOString()),
          comment: (object.comment as string | null) ?? null,
          followUp: object.followup === true,
          deleted: object.deleted === true,
        },
      });
    }
    const stored = await this.storedValues(incoming.map((i) => i.data));
    const writes: DataValueRow[] = [];
    const audits: DataValueAuditRow[] = [];
    const now = new Date().toISOString();
    for (const { data } of incoming) {
      const key = [
        data.orgUnit,
        data.period,
        data.dataElement,
        data.categoryOptionCombo,
        data.attributeOptionCombo,
      ];
      const local = stored.get(key.join(':'));
      const same =
        local !== undefined &&
        local.value === data.value &&
        local.comment === data.comment &&
        local.followUp === data.followUp &&
        local.deleted === data.deleted;
      if (same || (local === undefined && data.deleted)) {
        count.unchanged++;
        continue;
      }
      if (local !== undefined && (await this.changedLocally('dataValue', key))) {
        const takeIncoming = incomingWins(this.rule, this.localIsParent, local.lastUpdated, data.lastUpdated);
        this.conflicts.push({
          siteId: this.site.siteId,
          packageSequence: this.pkg.manifest.sequence,
          kind: 'dataValue',
          objectKey: await this.describeValueKey(data),
          localValue: local.deleted ? null : local.value,
          localUpdated: local.lastUpdated,
          incomingValue: data.deleted ? null : data.value,
          incomingUpdated: data.lastUpdated,
          rule: this.rule,
          kept: takeIncoming ? 'incoming' : 'local',
        });
        if (!takeIncoming) {
          count.unchanged++;
          continue;
        }
      }
      writes.push(data);
      const auditType = data.deleted ? 'DELETE' : local === undefined || local.deleted ? 'CREATE' : 'UPDATE';
      if (auditType === 'DELETE') count.deleted++;
      else if (auditType === 'CREATE') count.created++;
      else count.updated++;
      audits.push({
        orgUnit: data.orgUnit,
        period: data.period,
        dataElement: data.dataElement,
        categoryOptionCombo: data.categoryOptionCombo,
        attributeOptionCombo: data.attributeOptionCombo,
        auditType,
        previousValue: local?.value ?? null,
        newValue: data.deleted ? null : data.value,
        modifiedBy: this.modifiedBy,
        created: now,
        jobId: null,
      });
    }
    const byKey = (a: DataValueRow, b: DataValueRow) =>
      a.orgUnit - b.orgUnit ||
      a.period - b.period ||
      a.dataElement - b.dataElement ||
      a.categoryOptionCombo - b.categoryOptionCombo ||
      a.attributeOptionCombo - b.attributeOptionCombo;
    const store = new DataValueStore(this.tx);
    await store.upsert(writes.sort(byKey));
    await store.insertAudits(audits);
  }

  private async describeValueKey(data: DataValueRow): Promise<string> {
    const rows = await this.tx.query<{ sid: number | string; uid: string }>(
      'SELECT sid, uid FROM metadata_object WHERE sid IN (?, ?, ?, ?)',
      [data.orgUnit, data.dataElement, data.categoryOptionCombo, data.attributeOptionCombo],
    );
    const uid = new Map(rows.map((r) => [Number(r.sid), r.uid]));
    const period = await this.tx.queryOne<{ iso: string }>('SELECT iso FROM period WHERE period_id = ?', [
      data.period,
    ]);
    return [
      `dataElement=${uid.get(data.dataElement)}`,
      `period=${period?.iso}`,
      `orgUnit=${uid.get(data.orgUnit)}`,
      `categoryOptionCombo=${uid.get(data.categoryOptionCombo)}`,
      `attributeOptionCombo=${uid.get(data.attributeOptionCombo)}`,
    ].join(' ');
  }

  private async storedValues(rows: readonly DataValueRow[]): Promise<
    Map<
      string,
      {
        value: string | null;
        comment: string | null;
        followUp: boolean;
        deleted: boolean;
        lastUpdated: string;
      }
    >
  > {
    const out = new Map<
      string,
      {
        value: string | null;
        comment: string | null;
        followUp: boolean;
        deleted: boolean;
        lastUpdated: string;
      }
    >();
    // One look-up per (org unit, period): a batch from one site holds few of them.
    const groups = new Map<string, { orgUnit: number; period: number }>();
    for (const r of rows) groups.set(`${r.orgUnit}:${r.period}`, { orgUnit: r.orgUnit, period: r.period });
    for (const { orgUnit, period } of groups.values()) {
      const stored = await this.tx.query<Record<string, unknown>>(
        `SELECT data_element_id, category_option_combo_id, attribute_option_combo_id, value, comment, follow_up,
           deleted, last_updated FROM data_value WHERE org_unit_id = ? AND period_id = ?`,
        [orgUnit, period],
      );
      for (const s of stored)
        out.set(
          [orgUnit, period, s.data_element_id, s.category_option_combo_id, s.attribute_option_combo_id]
            .map(Number)
            .join(':'),
          {
            value: (s.value as string | null) ?? null,
            comment: (s.comment as string | null) ?? null,
            followUp: Number(s.follow_up) === 1,
            deleted: Number(s.deleted) === 1,
            lastUpdated: String(s.last_updated),
          },
        );
    }
    return out;
  }

  private async completions(batch: Array<{ row: number; object: Record<string, unknown> }>): Promise<void> {
    const count = this.count('completeDataSetRegistrations');
    const field = (o: Record<string, unknown>, name: string) => String(o[name] ?? '');
    await this.sids.load(
      'dataSets',
      batch.map((b) => field(b.object, 'dataSet')),
    );
    await this.sids.load(
      'organisationUnits',
      batch.map((b) => field(b.object, 'organisationUnit')),
    );
    await this.sids.load(
      'categoryOptionCombos',
      batch.map((b) => field(b.object, 'attributeOptionCombo')),
    );
    const periodIds = await this.periods.idsFor(batch.map((b) => field(b.object, 'period')));
    for (const { row, object } of batch) {
      const need = (collection: string, name: string) => {
        const sid = this.sids.get(collection, field(object, name));
        if (sid === undefined)
          this.refuse(
            'completeDataSetRegistrations',
            row,
            `${name} \`${field(object, name)}\` is not known at this site (send its metadata first)`,
          );
        return sid;
      };
      const period = periodIds.get(field(object, 'period'));
      if (period === undefined)
        this.refuse(
          'completeDataSetRegistrations',
          row,
          `period \`${field(object, 'period')}\` is not a period`,
        );
      const key = [
        need('dataSets', 'dataSet'),
        period,
        need('organisationUnits', 'organisationUnit'),
        need('categoryOptionCombos', 'attributeOptionCombo'),
      ];
      const where = 'data_set_id = ? AND period_id = ? AND org_unit_id = ? AND attribute_option_combo_id = ?';
      const existing = await this.tx.queryOne<Record<string, unknown>>(
        `SELECT completed_date, stored_by FROM complete_registration WHERE ${where}`,
        key,
      );
      if (object.completed === false) {
        if (!existing) count.unchanged++;
        else {
          await this.tx.execute(`DELETE FROM complete_registration WHERE ${where}`, key);
          count.deleted++;
        }
        continue;
      }
      if (
        existing &&
        existing.completed_date === object.date &&
        existing.stored_by === (object.storedBy ?? null)
      ) {
        count.unchanged++;
        continue;
      }
      await this.tx.execute(
        `INSERT INTO complete_registration (data_set_id, period_id, org_unit_id, attribute_option_combo_id,
           completed_date, stored_by, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (data_set_id, period_id, org_unit_id, attribute_option_combo_id) DO UPDATE SET
           completed_date = excluded.completed_date, stored_by = excluded.stored_by, last_updated = excluded.last_updated`,
        [
          ...key,
          String(object.date ?? object.lastUpdated),
          (object.storedBy as string | null) ?? null,
          String(object.lastUpdated ?? new Date().toISOString()),
        ],
      );
      if (existing) count.updated++;
      else count.created++;
    }
  }
}
