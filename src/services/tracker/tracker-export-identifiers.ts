import type { FerryContext } from '../ferry-context-types.ts';
import { FerryError } from '../../errors.ts';
import { formatIdScheme, identifierUnderScheme, type IdScheme } from '../../domain/identifiers/id-scheme.ts';
import {
  parseTrackerIdSchemes,
  TrackerParameterError,
  type TrackerIdSchemeKind,
  type TrackerIdSchemes,
} from '../../domain/tracker/tracker-import-params.ts';

/** The metadata collection behind each reference an exported event or tracked entity makes. */
const COLLECTIONS = {
  orgUnit: 'organisationUnits',
  program: 'programs',
  programStage: 'programStages',
  dataElement: 'dataElements',
  categoryOptionCombo: 'categoryOptionCombos',
  trackedEntityType: 'trackedEntityTypes',
  attribute: 'trackedEntityAttributes',
} as const;
type Reference = keyof typeof COLLECTIONS;

/** The scheme parameter of each reference (tracked entity types and attributes follow `idScheme`). */
const KIND_OF: Record<Reference, TrackerIdSchemeKind> = {
  orgUnit: 'orgUnit',
  program: 'program',
  programStage: 'programStage',
  dataElement: 'dataElement',
  categoryOptionCombo: 'categoryOptionCombo',
  trackedEntityType: 'other',
  attribute: 'other',
};

/** DHIS2's own label for each kind in its "missing identifiers" message. */
const LABEL: Record<Reference, string> = {
  orgUnit: 'OrganisationUnit',
  program: 'Program',
  programStage: 'ProgramStage',
  dataElement: 'DataElement',
  categoryOptionCombo: 'CategoryOptionCombo',
  trackedEntityType: 'TrackedEntityType',
  attribute: 'TrackedEntityAttribute',
};

type Row = Record<string, unknown>;

/**
 * The output identifier schemes of the event and tracked entity exports (`idScheme`,
 * `orgUnitIdScheme`, `programIdScheme`, `programStageIdScheme`, `dataElementIdScheme`,
 * `categoryOptionComboIdScheme`): the export's UIDs rewritten, batch by batch, to codes, names or
 * attribute values, looked up in bulk and remembered for the whole export. As DHIS2, only the
 * references on the object itself and `dataValues[].dataElement` / `attributes[].attribute` are
 * rewritten; nested enrollments, events and relationships keep UIDs. Undefined when every scheme is
 * UID (the usual case: nothing to do). A parameter with an unknown scheme is F1000.
 */
export function trackerExportIdentifiers(
  context: FerryContext,
  query: Record<string, unknown>,
): TrackerExportIdentifiers | undefined {
  let schemes: TrackerIdSchemes | undefined;
  try {
    schemes = parseTrackerIdSchemes(query);
  } catch (error) {
    if (error instanceof TrackerParameterError)
      throw new FerryError('F1000', [error.parameter, error.given, error.allowed]);
    throw error;
  }
  return schemes ? new TrackerExportIdentifiers(context, schemes) : undefined;
}

export class TrackerExportIdentifiers {
  private readonly context: FerryContext;
  private readonly schemes: TrackerIdSchemes;
  /** reference → UID → identifier under its scheme (null: the object has none). */
  private readonly known = new Map<Reference, Map<string, string | null>>();

  constructor(context: FerryContext, schemes: TrackerIdSchemes) {
    this.context = context;
    this.schemes = schemes;
  }

  private schemeOf(reference: Reference): IdScheme {
    return this.schemes[KIND_OF[reference]];
  }

  /** Events as `readEvents` yields them, rewritten in place. */
  async events<T extends Row>(batch: T[]): Promise<T[]> {
    const fields: Array<[string, Reference]> = [
      ['orgUnit', 'orgUnit'],
      ['program', 'program'],
      ['programStage', 'programStage'],
      ['attributeOptionCombo', 'categoryOptionCombo'],
    ];
    await this.rewrite(batch, fields, 'dataValues', 'dataElement', 'dataElement');
    return batch;
  }

  /** Tracked entities as `readTrackedEntities` yields them, rewritten in place. */
  async trackedEntities<T extends Row>(batch: T[]): Promise<T[]> {
    const fields: Array<[string, Reference]> = [
      ['orgUnit', 'orgUnit'],
      ['trackedEntityType', 'trackedEntityType'],
    ];
    await this.rewrite(batch, fields, 'attributes', 'attribute', 'attribute');
    return batch;
  }

  private async rewrite(
    batch: readonly Row[],
    fields: Array<[string, Reference]>,
    listField: string,
    itemField: string,
    itemReference: Reference,
  ): Promise<void> {
    const wanted = new Map<Reference, Set<string>>();
    const want = (reference: Reference, uid: unknown) => {
      if (typeof uid !== 'string' || this.schemeOf(reference).kind === 'UID') return;
      if (this.known.get(reference)?.has(uid)) return;
      let set = wanted.get(reference);
      if (!set) wanted.set(reference, (set = new Set()));
      set.add(uid);
    };
    const items = (row: Row): Row[] => (Array.isArray(row[listField]) ? (row[listField] as Row[]) : []);
    for (const row of batch) {
      for (const [field, reference] of fields) want(reference, row[field]);
      for (const item of items(row)) want(itemReference, item[itemField]);
    }
    for (const [reference, uids] of wanted) await this.lookUp(reference, [...uids]);
    const missing: string[] = [];
    const mapped = (reference: Reference, uid: unknown): unknown => {
      if (typeof uid !== 'string' || this.schemeOf(reference).kind === 'UID') return uid;
      const identifier = this.known.get(reference)?.get(uid);
      if (identifier === null || identifier === undefined) {
        missing.push(`${LABEL[reference]}[${formatIdScheme(this.schemeOf(reference))}]=${uid}`);
        return uid;
      }
      return identifier;
    };
    for (const row of batch) {
      for (const [field, reference] of fields) if (field in row) row[field] = mapped(reference, row[field]);
      for (const item of items(row))
        if (itemField in item) item[itemField] = mapped(itemReference, item[itemField]);
    }
    // DHIS2 refuses the export rather than mixing schemes (422, naming what lacks an identifier).
    if (missing.length > 0) throw new FerryError('F1202', [[...new Set(missing)].slice(0, 10).join(', ')]);
  }

  private async lookUp(reference: Reference, uids: string[]): Promise<void> {
    let map = this.known.get(reference);
    if (!map) this.known.set(reference, (map = new Map()));
    const rows = await this.context.metadata.findBy(COLLECTIONS[reference], 'uid', uids);
    const scheme = this.schemeOf(reference);
    for (const uid of uids) map.set(uid, null);
    for (const { object } of rows) {
      const identifier = identifierUnderScheme(object as Parameters<typeof identifierUnderScheme>[0], scheme);
      map.set(object.id, identifier ?? null);
    }
  }
}
