import type { FerryContext } from '../ferry-context-types.ts';
import { formatIdScheme, identifierUnderScheme, type IdScheme } from '../../domain/identifiers/id-scheme.ts';
import type { TrackerBundle } from '../../domain/tracker/tracker-objects.ts';
import type { TrackerIdSchemeKind, TrackerIdSchemes } from '../../domain/tracker/tracker-import-params.ts';

/** The metadata collection behind each kind of reference a tracker payload makes. */
const COLLECTIONS = {
  orgUnit: 'organisationUnits',
  program: 'programs',
  programStage: 'programStages',
  dataElement: 'dataElements',
  categoryOptionCombo: 'categoryOptionCombos',
  categoryOption: 'categoryOptions',
  trackedEntityType: 'trackedEntityTypes',
  attribute: 'trackedEntityAttributes',
  relationshipType: 'relationshipTypes',
} as const;
type Reference = keyof typeof COLLECTIONS;

/** The scheme parameter that governs each reference (the last three follow `idScheme`). */
const KIND_OF: Record<Reference, TrackerIdSchemeKind> = {
  orgUnit: 'orgUnit',
  program: 'program',
  programStage: 'programStage',
  dataElement: 'dataElement',
  categoryOptionCombo: 'categoryOptionCombo',
  categoryOption: 'categoryOption',
  trackedEntityType: 'other',
  attribute: 'other',
  relationshipType: 'other',
};

type Raw = Record<string, unknown>;

/**
 * Turns the metadata references of a payload named by CODE, NAME or ATTRIBUTE:<uid> (DHIS2's
 * `idScheme`, `orgUnitIdScheme`, `programIdScheme`, ...) into UIDs, in place, before the preheat and
 * validation, which work on UIDs. Identifiers are looked up in bulk per chunk and remembered for the
 * whole import. One that names nothing under its scheme is left as given: when it is a UID it is
 * taken as one (a file that names some objects by code and others by UID still reads), else
 * validation reports it with DHIS2's code for a reference not found (E1010, E1011, E1013, E1304,
 * E1115, ...) naming what the file said.
 */
export class TrackerIdentifierResolver {
  private readonly context: FerryContext;
  private readonly schemes: TrackerIdSchemes;
  /** `<collection>|<scheme>` → identifier → UID (null: looked up, not found). */
  private readonly known = new Map<string, Map<string, string | null>>();

  constructor(context: FerryContext, schemes: TrackerIdSchemes) {
    this.context = context;
    this.schemes = schemes;
  }

  async resolve(bundle: TrackerBundle): Promise<void> {
    const wanted = new Map<Reference, Set<string>>();
    const want = (reference: Reference, value: string | undefined) => {
      if (!value || this.schemeOf(reference).kind === 'UID') return;
      let set = wanted.get(reference);
      if (!set) wanted.set(reference, (set = new Set()));
      set.add(value);
    };
    for (const te of bundle.trackedEntities) {
      want('trackedEntityType', te.trackedEntityType);
      want('orgUnit', te.orgUnit);
      for (const a of te.attributes) want('attribute', a.attribute);
    }
    for (const en of bundle.enrollments) {
      want('program', en.program);
      want('orgUnit', en.orgUnit);
      for (const a of en.attributes) want('attribute', a.attribute);
    }
    for (const ev of bundle.events) {
      want('program', ev.program);
      want('programStage', ev.programStage);
      want('orgUnit', ev.orgUnit);
      want('categoryOptionCombo', ev.attributeOptionCombo);
      for (const option of ev.attributeCategoryOptions ?? []) want('categoryOption', option);
      for (const dv of ev.dataValues) want('dataElement', dv.dataElement);
    }
    for (const r of bundle.relationships) want('relationshipType', r.relationshipType);
    if (wanted.size === 0) return;

    const maps = new Map<Reference, Map<string, string | null>>();
    for (const [reference, values] of wanted) maps.set(reference, await this.lookUp(reference, values));
    const uid = <T extends string | undefined>(reference: Reference, value: T): T | string => {
      if (!value) return value;
      return maps.get(reference)?.get(value) ?? value;
    };
    for (const te of bundle.trackedEntities) {
      te.trackedEntityType = uid('trackedEntityType', te.trackedEntityType);
      te.orgUnit = uid('orgUnit', te.orgUnit);
      for (const a of te.attributes) a.attribute = uid('attribute', a.attribute);
    }
    for (const en of bundle.enrollments) {
      en.program = uid('program', en.program);
      en.orgUnit = uid('orgUnit', en.orgUnit);
      for (const a of en.attributes) a.attribute = uid('attribute', a.attribute);
    }
    for (const ev of bundle.events) {
      ev.program = uid('program', ev.program);
      ev.programStage = uid('programStage', ev.programStage);
      ev.orgUnit = uid('orgUnit', ev.orgUnit);
      ev.attributeOptionCombo = uid('categoryOptionCombo', ev.attributeOptionCombo);
      if (ev.attributeCategoryOptions)
        ev.attributeCategoryOptions = ev.attributeCategoryOptions.map((o) => uid('categoryOption', o));
      for (const dv of ev.dataValues) dv.dataElement = uid('dataElement', dv.dataElement);
    }
    for (const r of bundle.relationships) r.relationshipType = uid('relationshipType', r.relationshipType);
  }

  private schemeOf(reference: Reference): IdScheme {
    return this.schemes[KIND_OF[reference]];
  }

  /** The UIDs of `values` under the reference's scheme, from memory or in one query per 500. */
  private async lookUp(reference: Reference, values: Set<string>): Promise<Map<string, string | null>> {
    const collection = COLLECTIONS[reference];
    const scheme = this.schemeOf(reference);
    const key = `${collection}|${formatIdScheme(scheme)}`;
    let map = this.known.get(key);
    if (!map) this.known.set(key, (map = new Map()));
    const missing = [...values].filter((v) => !map.has(v));
    if (missing.length === 0) return map;
    if (scheme.kind === 'ATTRIBUTE') {
      // Every object of the type that has the attribute, read once: few objects carry one.
      const rows = await this.context.storage.query<{ uid: string; body: unknown }>(
        `SELECT o.uid AS uid, o.body AS body FROM metadata_reference r
           JOIN metadata_object o ON o.sid = r.source_sid
          WHERE r.target_type = 'attributes' AND r.target_uid = ?
            AND r.property = 'attributeValues.attribute' AND o.type = ?
          ORDER BY o.sid`,
        [scheme.attributeUid, collection],
      );
      for (const row of rows) {
        const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as Raw;
        const identifier = identifierUnderScheme(
          { id: String(row.uid), attributeValues: body.attributeValues as never },
          scheme,
        );
        if (identifier !== undefined && !map.has(identifier)) map.set(identifier, String(row.uid));
      }
    } else {
      const column = scheme.kind === 'CODE' ? 'code' : scheme.kind === 'NAME' ? 'name' : 'uid';
      // In sid order: a NAME two objects share names the older one, as the data value import.
      const rows = await this.context.metadata.findBy(collection, column, missing);
      rows.sort((a, b) => a.sid - b.sid);
      for (const row of rows) {
        const identifier = identifierUnderScheme(row.object as never, scheme);
        if (identifier !== undefined && !map.has(identifier)) map.set(identifier, row.object.id);
      }
    }
    for (const value of missing) if (!map.has(value)) map.set(value, null);
    return map;
  }
}
