import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { sharingSubjectOf } from '../../domain/access/principal.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import {
  canUsePool,
  creatorSharing,
  DedupePoolInputError,
  parsePoolSharing,
  POOL_ACCESS_NEEDS,
  type DedupePoolSharing,
} from '../../domain/dedupe/dedupe-pool.ts';
import { NameMatcher, normaliseName, type MatchSuggestion } from '../../domain/wizard/name-matching.ts';
import {
  parseWizardMapping,
  WizardMappingError,
  type WizardMappingBody,
} from '../../domain/wizard/wizard-mapping.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { WizardStore, type WizardMappingRow } from '../../storage/wizard-store.ts';
import { FerryError } from '../../errors.ts';
import { WizardMetadata } from './wizard-metadata.ts';

/**
 * Saved mappings: list, read, create, change (each save a new version), copy, delete, export and
 * import as JSON, and suggestions for a source's columns. Sharing is DHIS2's object sharing, read
 * as for de-duplication pools: metadata read sees (and runs) a mapping, metadata write changes it;
 * the data a run writes is checked by the importer against the runner's own data rights.
 * `principal` undefined is the operator at the command line.
 */
export type MappingSharing = DedupePoolSharing;

export interface WizardMapping extends WizardMappingBody {
  id: string;
  version: number;
  sharing: MappingSharing;
  created: string;
  lastUpdated: string;
}

export type MappingAccess = 'see' | 'manage';

type MappingPrincipal = Pick<Principal, 'uid' | 'userGroupUids' | 'authorities'>;

export function mappingFromRow(row: WizardMappingRow, body = row.body): WizardMapping {
  return {
    id: row.uid,
    version: row.version,
    ...(JSON.parse(body) as WizardMappingBody),
    sharing: JSON.parse(row.sharing) as MappingSharing,
    created: row.created,
    lastUpdated: row.lastUpdated,
  };
}

function parseBody(body: unknown): WizardMappingBody {
  try {
    return parseWizardMapping(body);
  } catch (error) {
    if (error instanceof WizardMappingError) throw new FerryError('F1950', [error.message]);
    throw error;
  }
}

function parseSharing(body: unknown): MappingSharing | undefined {
  try {
    return parsePoolSharing((body as { sharing?: unknown } | null)?.sharing);
  } catch (error) {
    if (error instanceof DedupePoolInputError) throw new FerryError('F1950', [error.message]);
    throw error;
  }
}

/** The mapping by UID or name, checked for `access`; one the caller may not see answers 404. */
export async function requireMapping(
  db: SqlExecutor,
  principal: MappingPrincipal | undefined,
  ref: string,
  access: MappingAccess,
): Promise<WizardMappingRow> {
  const store = new WizardStore(db);
  const row = (isValidUid(ref) ? await store.byUid(ref) : undefined) ?? (await store.byName(ref));
  const subject = principal ? sharingSubjectOf(principal) : undefined;
  const sharing = row ? { sharing: JSON.parse(row.sharing) as MappingSharing } : undefined;
  if (!row || !sharing || !canUsePool(sharing, subject, 'see'))
    throw new FerryError('F1200', ['Import mapping', ref]);
  if (!canUsePool(sharing, subject, access))
    throw new FerryError('F1952', [row.name, POOL_ACCESS_NEEDS[access]]);
  return row;
}

export async function listMappings(
  context: FerryContext,
  principal: Principal | undefined,
): Promise<Array<Omit<WizardMapping, 'valueMaps'>>> {
  const subject = principal ? sharingSubjectOf(principal) : undefined;
  const out: Array<Omit<WizardMapping, 'valueMaps'>> = [];
  for (const row of await new WizardStore(context.storage).list()) {
    const mapping = mappingFromRow(row);
    if (!canUsePool(mapping, subject, 'see')) continue;
    const { valueMaps: _valueMaps, ...rest } = mapping;
    out.push(rest);
  }
  return out;
}

/** The mapping, at its current version or an earlier one. */
export async function getMapping(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  version?: number,
): Promise<WizardMapping> {
  const row = await requireMapping(context.storage, principal, ref, 'see');
  if (version === undefined || version === row.version) return mappingFromRow(row);
  const body = await new WizardStore(context.storage).versionBody(row.mappingId, version);
  if (body === undefined) throw new FerryError('F1200', ['Import mapping version', `${row.uid} v${version}`]);
  return { ...mappingFromRow(row, body), version };
}

export async function mappingVersions(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
): Promise<Array<{ version: number; saved: string; savedBy: string | null }>> {
  const row = await requireMapping(context.storage, principal, ref, 'see');
  return new WizardStore(context.storage).versions(row.mappingId);
}

/** Which columns went to which targets, remembered for the next file with the same columns. */
function memoryOf(
  body: WizardMappingBody,
): Array<{ columnKey: string; targetKind: string; targetId: string }> {
  const out: Array<{ columnKey: string; targetKind: string; targetId: string }> = [];
  const t = body.target;
  if (t.kind !== 'aggregate') return out;
  for (const v of t.valueColumns ?? [])
    out.push({
      columnKey: normaliseName(v.column),
      targetKind: 'aggregateValue',
      targetId: `${v.dataElement}.${v.categoryOptionCombo ?? ''}`,
    });
  const roles: Array<[string, unknown]> = [
    ['orgUnit', t.orgUnit.source],
    ['period', t.period.source],
    ['dataElement', t.dataElement],
    ['categoryOptionCombo', t.categoryOptionCombo],
    ['attributeOptionCombo', t.attributeOptionCombo],
    ['value', t.value],
    ['comment', t.comment],
  ];
  for (const [role, field] of roles) {
    const column = (field as { column?: string } | undefined)?.column;
    if (column) out.push({ columnKey: normaliseName(column), targetKind: 'field', targetId: role });
  }
  return out.filter((p) => p.columnKey !== '');
}

/** Creates a mapping (an exported one keeps its id when free). Needs F_DATAVALUE_ADD or F_METADATA_IMPORT. */
export async function createMapping(
  context: FerryContext,
  principal: Principal | undefined,
  input: unknown,
): Promise<WizardMapping> {
  const body = parseBody(input);
  requireWriterAuthority(principal, body);
  const requested = (input as { id?: unknown }).id;
  if (requested !== undefined && !isValidUid(requested))
    throw new FerryError('F1000', ['id', String(requested), 'a UID, or leave it out']);
  const sharing = parseSharing(input) ?? creatorSharing(principal?.uid ?? null);
  if (sharing.owner === null && principal) sharing.owner = principal.uid;
  const now = new Date().toISOString();
  const uid = await context.storage.transaction(async (tx) => {
    const store = new WizardStore(tx);
    if (tx.kind === 'postgres')
      await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', ['wizard_mapping']);
    if (await store.byName(body.name))
      throw new FerryError('F1300', [`An import mapping named '${body.name}' exists already`]);
    const uid =
      requested !== undefined && !(await store.byUid(requested as string))
        ? (requested as string)
        : generateUid();
    await store.insert({
      uid,
      name: body.name,
      version: 1,
      body: JSON.stringify(body),
      sharing: JSON.stringify(sharing),
      created: now,
      lastUpdated: now,
      createdBy: principal?.uid ?? null,
    });
    await store.remember(memoryOf(body), now);
    return uid;
  });
  return getMapping(context, principal, uid);
}

/** Saves a new version of a mapping; needs metadata write on it. Sharing changes only when given. */
export async function updateMapping(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  input: unknown,
): Promise<WizardMapping> {
  const body = parseBody(input);
  const given = parseSharing(input);
  const uid = await context.storage.transaction(async (tx) => {
    const row = await requireMapping(tx, principal, ref, 'manage');
    const store = new WizardStore(tx);
    if (tx.kind === 'postgres')
      await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', ['wizard_mapping']);
    const other = await store.byName(body.name);
    if (other && other.mappingId !== row.mappingId)
      throw new FerryError('F1300', [`An import mapping named '${body.name}' exists already`]);
    const old = JSON.parse(row.sharing) as MappingSharing;
    const sharing = given ? { ...given, owner: given.owner ?? old.owner } : old;
    const now = new Date().toISOString();
    await store.update(
      {
        ...row,
        name: body.name,
        version: row.version + 1,
        body: JSON.stringify(body),
        sharing: JSON.stringify(sharing),
        lastUpdated: now,
      },
      principal?.uid ?? null,
    );
    await store.remember(memoryOf(body), now);
    return row.uid;
  });
  return getMapping(context, principal, uid);
}

/** A copy under a new name, owned by the caller (sharing is not copied). */
export async function copyMapping(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  name: string | undefined,
): Promise<WizardMapping> {
  const source = await getMapping(context, principal, ref);
  const { id: _id, version: _version, sharing: _sharing, created: _c, lastUpdated: _l, ...body } = source;
  return createMapping(context, principal, { ...body, name: name ?? `${source.name} (copy)` });
}

export async function deleteMapping(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
): Promise<WizardMapping> {
  return context.storage.transaction(async (tx) => {
    const row = await requireMapping(tx, principal, ref, 'manage');
    await new WizardStore(tx).delete(row.mappingId);
    return mappingFromRow(row);
  });
}

/** Creating a mapping: the authority to import what it targets. */
export function requireWriterAuthority(principal: Principal | undefined, body: WizardMappingBody): void {
  if (!principal) return;
  const authority = body.target.kind === 'organisationUnits' ? 'F_METADATA_IMPORT' : 'F_DATAVALUE_ADD';
  if (!principal.authorities.has('ALL') && !principal.authorities.has(authority))
    throw new FerryError('F1102', [authority]);
}

export interface ColumnSuggestions {
  column: string;
  /** The aggregate field a column looks like (orgUnit, period, dataElement, value, ...). */
  field: MatchSuggestion[];
  /** Wide tables: the data element and option combo (`id` is `<element>.<combo>`). */
  value: MatchSuggestion[];
}

const FIELD_WORDS: Record<string, string[]> = {
  orgUnit: [
    'org unit',
    'organisation unit',
    'organization unit',
    'orgunit',
    'facility',
    'health facility',
    'site',
    'clinic',
    'ou',
  ],
  period: ['period', 'month', 'date', 'week', 'quarter', 'year', 'reporting period', 'pe'],
  dataElement: ['data element', 'dataelement', 'indicator', 'variable', 'de'],
  categoryOptionCombo: ['category option combo', 'categoryoptioncombo', 'disaggregation', 'coc'],
  attributeOptionCombo: ['attribute option combo', 'attributeoptioncombo', 'funding', 'partner', 'aoc'],
  value: ['value', 'count', 'number', 'total', 'amount'],
  comment: ['comment', 'remarks', 'note', 'notes'],
};

/**
 * Suggestions for a source's columns: remembered matches of the same column names first (most
 * used), then exact, normalised and fuzzy matches against the data elements (with their option
 * combos, for wide tables) and the aggregate fields. Every suggestion has a confidence.
 */
export async function suggestColumns(
  context: FerryContext,
  columns: readonly string[],
): Promise<ColumnSuggestions[]> {
  const metadata = await WizardMetadata.load(context.metadata, { orgUnits: false });
  const candidates = [];
  for (const de of metadata.dataElements.values()) {
    const combos = de.categoryCombo ? (metadata.combosOf.get(de.categoryCombo) ?? []) : [];
    const deNames = [de.name, ...de.otherNames];
    if (combos.length <= 1)
      candidates.push({ id: `${de.id}.${combos[0] ?? ''}`, label: de.name, names: deNames });
    for (const coc of combos.length > 1 ? combos : []) {
      const cocName = metadata.comboNames.get(coc) ?? coc;
      candidates.push({
        id: `${de.id}.${coc}`,
        label: `${de.name} ${cocName}`,
        names: deNames.map((n) => `${n} ${cocName}`),
      });
    }
  }
  const valueMatcher = new NameMatcher(candidates);
  const fieldMatcher = new NameMatcher(
    Object.entries(FIELD_WORDS).map(([id, words]) => ({ id, label: id, names: words })),
  );
  const store = new WizardStore(context.storage);
  const keys = columns.map(normaliseName);
  const rememberedValues = await store.remembered(keys, 'aggregateValue');
  const rememberedFields = await store.remembered(keys, 'field');
  const labelOf = new Map(candidates.map((c) => [c.id, c.label]));
  return columns.map((column, i) => {
    const remembered = (
      ids: string[] | undefined,
      label: (id: string) => string | undefined,
    ): MatchSuggestion[] =>
      (ids ?? []).flatMap((id) => {
        const l = label(id);
        return l === undefined
          ? []
          : [{ id, label: l, method: 'remembered' as const, confidence: 1, matchedOn: column }];
      });
    const merge = (first: MatchSuggestion[], rest: MatchSuggestion[]) => {
      const seen = new Set(first.map((s) => s.id));
      return [...first, ...rest.filter((s) => !seen.has(s.id))].slice(0, 3);
    };
    return {
      column,
      field: merge(
        remembered(rememberedFields.get(keys[i]), (id) => (FIELD_WORDS[id] ? id : undefined)),
        fieldMatcher.suggest(column),
      ),
      value: merge(
        remembered(rememberedValues.get(keys[i]), (id) => labelOf.get(id)),
        valueMatcher.suggest(column),
      ),
    };
  });
}
