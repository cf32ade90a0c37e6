import type { SqlValue } from '../../storage/storage.ts';
import { incomingWins } from './sync-conflicts.ts';
import type { PartName } from './sync-package-format.ts';
import type { ImportScope } from './sync-import-scope.ts';
import {
  idColumnOf,
  jsonToColumn,
  RELATIONSHIP_END_TABLES,
  TRACKER_SPECS,
  type TrackerKind,
} from './sync-tracker-rows.ts';

/**
 * The tracker parts of a sync package (sync-package-importer.ts runs them): tracked entities,
 * enrollments, events and relationships upserted by UID, references resolved to this site's ids,
 * a tracked entity's attribute values and program owners replaced by the package's, and conflicts
 * (the object changed here since the last import from the sender) decided by the rule.
 */

async function trackerIds(
  scope: ImportScope,
  table: 'tracked_entity' | 'enrollment' | 'event',
  uids: readonly string[],
) {
  const out = new Map<string, number>();
  const key = idColumnOf(table);
  const unique = [...new Set(uids)];
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const rows = await scope.tx.query<Record<string, unknown>>(
      `SELECT ${key} AS id, uid FROM ${table} WHERE uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of rows) out.set(String(r.uid), Number(r.id));
  }
  return out;
}

export async function importTrackerBatch(
  scope: ImportScope,
  kind: TrackerKind,
  part: PartName,
  batch: Array<{ row: number; object: Record<string, unknown> }>,
): Promise<void> {
  const count = scope.count(part);
  const spec = TRACKER_SPECS[kind];
  for (const column of spec.columns)
    if (column.metadata)
      await scope.sids.load(
        column.metadata,
        batch.map((b) => String(b.object[column.property] ?? '')),
      );
  const refs = new Map<string, Map<string, number>>();
  for (const column of spec.columns)
    if (column.tracker)
      refs.set(
        column.property,
        await trackerIds(
          scope,
          column.tracker,
          batch.map((b) => String(b.object[column.property] ?? '')),
        ),
      );
  const existingRows = new Map<string, Record<string, unknown>>();
  const uids = batch.map((b) => String(b.object[spec.uidProperty] ?? ''));
  for (let i = 0; i < uids.length; i += 500) {
    const chunk = uids.slice(i, i + 500);
    const rows = await scope.tx.query<Record<string, unknown>>(
      `SELECT * FROM ${spec.table} WHERE uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of rows) existingRows.set(String(r.uid), r);
  }
  for (const { row, object } of batch) {
    const uid = String(object[spec.uidProperty] ?? '');
    if (!/^[A-Za-z][A-Za-z0-9]{10}$/.test(uid))
      scope.refuse(part, row, `\`${spec.uidProperty}\` is not a UID`);
    const values: Record<string, SqlValue> = {};
    for (const column of spec.columns) {
      const raw = object[column.property];
      if (column.metadata) {
        if (raw === null || raw === undefined) values[column.column] = null;
        else {
          const sid = scope.sids.get(column.metadata, String(raw));
          if (sid === undefined)
            scope.refuse(
              part,
              row,
              `${column.property} \`${String(raw)}\` is not known at this site (send its metadata first)`,
            );
          values[column.column] = sid;
        }
      } else if (column.tracker) {
        if (raw === null || raw === undefined) values[column.column] = null;
        else {
          const id = refs.get(column.property)?.get(String(raw));
          if (id === undefined)
            scope.refuse(
              part,
              row,
              `${column.property} \`${String(raw)}\` is neither stored here nor earlier in the package`,
            );
          values[column.column] = id;
        }
      } else values[column.column] = jsonToColumn(column, raw);
    }
    if (kind === 'relationship') {
      for (const end of ['from', 'to'] as const) {
        const table = RELATIONSHIP_END_TABLES[String(object[`${end}Kind`])];
        const endUid = String(object[end] ?? '');
        const id = table ? (await trackerIds(scope, table, [endUid])).get(endUid) : undefined;
        if (id === undefined) scope.refuse(part, row, `relationship ${end} \`${endUid}\` is not stored here`);
        values[`${end}_id`] = id;
      }
    }
    const existing = existingRows.get(uid);
    if (existing) {
      const unchanged =
        String(existing.updated) === String(values.updated) &&
        Number(existing.deleted) === Number(values.deleted);
      if (unchanged) {
        count.unchanged++;
        continue;
      }
      const localId = Number(existing[spec.idColumn]);
      if (await scope.changedLocally(kind, [localId])) {
        const takeIncoming = incomingWins(
          scope.rule,
          scope.localIsParent,
          String(existing.updated),
          (values.updated as string | null) ?? null,
        );
        scope.conflicts.push({
          siteId: scope.site.siteId,
          packageSequence: scope.pkg.manifest.sequence,
          kind,
          objectKey: `${spec.uidProperty}=${uid}`,
          localValue: kind === 'event' ? existing.data_values : { updated: existing.updated },
          localUpdated: String(existing.updated),
          incomingValue: kind === 'event' ? object.dataValues : { updatedAt: object.updatedAt },
          incomingUpdated: (values.updated as string | null) ?? null,
          rule: scope.rule,
          kept: takeIncoming ? 'incoming' : 'local',
        });
        if (!takeIncoming) {
          count.unchanged++;
          continue;
        }
      }
      const columns = Object.keys(values);
      await scope.tx.execute(
        `UPDATE ${spec.table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${spec.idColumn} = ?`,
        [...columns.map((c) => values[c]), localId],
      );
      if (kind === 'trackedEntity') await trackedEntityExtras(scope, localId, object, part, row);
      if (Number(values.deleted) === 1 && Number(existing.deleted) !== 1) count.deleted++;
      else count.updated++;
      continue;
    }
    const columns = ['uid', ...Object.keys(values)];
    const inserted = await scope.tx.queryOne<Record<string, unknown>>(
      `INSERT INTO ${spec.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
         RETURNING ${spec.idColumn} AS id`,
      [uid, ...Object.keys(values).map((c) => values[c])],
    );
    if (kind === 'trackedEntity') await trackedEntityExtras(scope, Number(inserted!.id), object, part, row);
    count.created++;
  }
}

/** A tracked entity's attribute values and program owners, replaced by the package's. */
async function trackedEntityExtras(
  scope: ImportScope,
  id: number,
  object: Record<string, unknown>,
  part: PartName,
  row: number,
): Promise<void> {
  const attributes = Array.isArray(object.attributes) ? (object.attributes as Record<string, unknown>[]) : [];
  const owners = Array.isArray(object.programOwners)
    ? (object.programOwners as Record<string, unknown>[])
    : [];
  await scope.sids.load(
    'trackedEntityAttributes',
    attributes.map((a) => String(a.attribute ?? '')),
  );
  await scope.sids.load(
    'programs',
    owners.map((o) => String(o.program ?? '')),
  );
  await scope.sids.load(
    'organisationUnits',
    owners.map((o) => String(o.orgUnit ?? '')),
  );
  await scope.tx.execute('DELETE FROM tracked_entity_attribute_value WHERE tracked_entity_id = ?', [id]);
  await scope.tx.execute('DELETE FROM tracked_entity_program_owner WHERE tracked_entity_id = ?', [id]);
  for (const a of attributes) {
    const attribute = scope.sids.get('trackedEntityAttributes', String(a.attribute ?? ''));
    if (attribute === undefined)
      scope.refuse(part, row, `attribute \`${String(a.attribute)}\` is not known at this site`);
    await scope.tx.execute(
      `INSERT INTO tracked_entity_attribute_value (tracked_entity_id, attribute_id, value, created, updated, stored_by)
         VALUES (?, ?, ?, ?, ?, ?)`,
      [
        id,
        attribute,
        String(a.value ?? ''),
        String(a.createdAt),
        String(a.updatedAt),
        (a.storedBy as string | null) ?? null,
      ],
    );
  }
  for (const o of owners) {
    const program = scope.sids.get('programs', String(o.program ?? ''));
    const orgUnit = scope.sids.get('organisationUnits', String(o.orgUnit ?? ''));
    if (program === undefined || orgUnit === undefined)
      scope.refuse(
        part,
        row,
        `program owner \`${String(o.program)}\`/\`${String(o.orgUnit)}\` is not known at this site`,
      );
    await scope.tx.execute(
      `INSERT INTO tracked_entity_program_owner (tracked_entity_id, program_id, org_unit_id, created, updated)
         VALUES (?, ?, ?, ?, ?)`,
      [id, program, orgUnit, String(o.createdAt), String(o.updatedAt)],
    );
  }
}
