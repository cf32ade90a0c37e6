import {
  EVENT_ENTITY_TYPE,
  TRACKED_ENTITY_ENTITY_TYPE,
  type DedupeEntityType,
} from './dedupe-entity-types.ts';
import { DedupeParameterError, parseDedupeUse, type DedupeMode } from './dedupe-use.ts';

/**
 * How the tracker import uses a pool (`dedupePool`, `dedupeKey`, `dedupeMode` on POST /api/tracker
 * and POST /api/events; docs/formats/dedupe-pools.md). One payload holds several kinds of object,
 * so the key is per kind: without `dedupeKey` events are keyed by their UID and tracked entities by
 * theirs; a `dedupeKey` names the fields of one kind only (events or tracked entities), and that
 * kind alone is checked. `dataElement:<uid>` and `attribute:<uid>` name a value, so that a record
 * sent again under new UIDs is still recognised.
 */
export interface TrackerDedupeUse {
  pool: string;
  mode: DedupeMode;
  /** Key fields of events, or undefined when events are not checked. */
  events?: readonly string[];
  /** Key fields of tracked entities, or undefined when they are not checked. */
  trackedEntities?: readonly string[];
}

const UID = /^[A-Za-z][A-Za-z0-9]{10}$/;

/** Whether `field` is one of the type's key fields, `<uid>` standing for any UID. */
function allowedFor(type: DedupeEntityType, field: string): boolean {
  const colon = field.indexOf(':');
  if (colon < 0) return !field.includes('<') && type.keyFields.includes(field);
  return type.keyFields.includes(`${field.slice(0, colon)}:<uid>`) && UID.test(field.slice(colon + 1));
}

function single(params: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const raw = params[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value).trim();
}

/** The pool use the tracker import's parameters ask for, or undefined without `dedupePool`. */
export function parseTrackerDedupeUse(
  params: Readonly<Record<string, unknown>>,
): TrackerDedupeUse | undefined {
  // Pool and mode are checked as for every import; the key is the tracker's own.
  const keyText = single(params, 'dedupeKey');
  const base = parseDedupeUse({ ...params, dedupeKey: undefined });
  if (!base) {
    if (keyText !== undefined) throw new DedupeParameterError('dedupeKey', keyText, 'only with dedupePool');
    return undefined;
  }
  const use: TrackerDedupeUse = { pool: base.pool, mode: base.mode };
  if (keyText === undefined)
    return { ...use, events: [EVENT_ENTITY_TYPE.keyFields[0]], trackedEntities: ['trackedEntity'] };
  const fields = keyText.split(',').map((f) => f.trim());
  const distinct = new Set(fields).size === fields.length && !fields.includes('');
  const forEvents = distinct && fields.every((f) => allowedFor(EVENT_ENTITY_TYPE, f));
  const forEntities = distinct && fields.every((f) => allowedFor(TRACKED_ENTITY_ENTITY_TYPE, f));
  // Fields both kinds have (orgUnit alone) do not say which kind is meant.
  if (forEvents === forEntities)
    throw new DedupeParameterError(
      'dedupeKey',
      keyText,
      `distinct fields of one kind, comma-separated: events ${EVENT_ENTITY_TYPE.keyFields.join(', ')}; ` +
        `tracked entities ${TRACKED_ENTITY_ENTITY_TYPE.keyFields.join(', ')}`,
    );
  return forEvents ? { ...use, events: fields } : { ...use, trackedEntities: fields };
}
