import type { FerryContext } from '../ferry-context-types.ts';
import { isValidUid } from '../../domain/identifiers/uid.ts';
import { FerryError } from '../../errors.ts';

export interface GeometrySelection {
  /** Only org units at this hierarchy level (1 = root). */
  level?: number;
  /** Only descendants of these org units (any depth; with `level`, those at that level). */
  parents?: readonly string[];
  /** Only these org units. */
  orgUnits?: readonly string[];
  /**
   * Only org units at or below these (the caller's data view scope); undefined for a superuser or
   * the operator. An empty list selects nothing, as an empty scope does everywhere else.
   */
  viewScope?: readonly string[];
}

/** A signed-in caller's limit: none with ALL, else the view scope (capture scope when unset). */
export function geometryViewScope(principal: {
  authorities: ReadonlySet<string>;
  viewOrgUnits: readonly string[];
}): readonly string[] | undefined {
  return principal.authorities.has('ALL') ? undefined : principal.viewOrgUnits;
}

const BATCH_SIZE = 200;

/**
 * `GET /api/organisationUnits.geojson`: org units with a geometry as a GeoJSON FeatureCollection,
 * streamed from a cursor (a national boundary file never sits whole in memory). Each feature has
 * the org unit uid as `id` and `name`, `code`, `level`, `parent` in its properties. Only org units
 * inside `viewScope` leave, whatever the other parameters ask for.
 */
export async function* exportOrgUnitGeoJson(
  context: FerryContext,
  selection: GeometrySelection,
): AsyncIterable<string> {
  for (const uid of [...(selection.parents ?? []), ...(selection.orgUnits ?? [])]) {
    if (!isValidUid(uid)) throw new FerryError('F1000', ['ou/parent', uid, 'organisation unit uids']);
  }
  const where = ['type = ?'];
  const params: string[] = ['organisationUnits'];
  if (selection.orgUnits && selection.orgUnits.length > 0) {
    where.push(`uid IN (${selection.orgUnits.map(() => '?').join(', ')})`);
    params.push(...selection.orgUnits);
  }
  if (selection.parents && selection.parents.length > 0) {
    // Paths are '/root/child/...': uids are [A-Za-z0-9], so LIKE needs no escaping.
    where.push(`(${selection.parents.map(() => 'path LIKE ?').join(' OR ')})`);
    params.push(...selection.parents.map((uid) => `%/${uid}/%`));
  }
  if (selection.viewScope !== undefined) {
    // The unit itself (path ends in its uid) or anything below it.
    if (selection.viewScope.length === 0) where.push('1 = 0');
    else {
      where.push(`(${selection.viewScope.map(() => 'path LIKE ? OR path LIKE ?').join(' OR ')})`);
      params.push(...selection.viewScope.flatMap((uid) => [`%/${uid}`, `%/${uid}/%`]));
    }
  }
  yield '{"type":"FeatureCollection","features":[';
  let first = true;
  for await (const rows of context.storage.stream<{ body: unknown }>(
    `SELECT body FROM metadata_object WHERE ${where.join(' AND ')} ORDER BY path, uid`,
    params,
    BATCH_SIZE,
  )) {
    let out = '';
    for (const row of rows) {
      const orgUnit = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as Record<
        string,
        unknown
      >;
      if (!orgUnit.geometry) continue;
      const path = typeof orgUnit.path === 'string' ? orgUnit.path : '';
      const level = typeof orgUnit.level === 'number' ? orgUnit.level : path.split('/').length - 1;
      if (selection.level !== undefined && level !== selection.level) continue;
      const parent = (orgUnit.parent as { id?: string } | undefined)?.id;
      const feature = {
        type: 'Feature',
        id: orgUnit.id,
        geometry: orgUnit.geometry,
        properties: {
          name: orgUnit.name ?? null,
          code: orgUnit.code ?? null,
          level,
          parent: parent ?? null,
        },
      };
      out += (first ? '\n' : ',\n') + JSON.stringify(feature);
      first = false;
    }
    if (out) yield out;
  }
  yield '\n]}\n';
}
