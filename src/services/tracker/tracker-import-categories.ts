import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
} from '../../domain/category/default-category-model.ts';
import { optionSetKey } from '../../domain/category/category-option-combos.ts';
import { canDataWrite, type SharingSubject } from '../../domain/access/data-sharing.ts';
import type { EventInput, TrackerBundle } from '../../domain/tracker/tracker-objects.ts';
import { trackerError, type TrackerErrorReport } from '../../domain/tracker/tracker-import-report.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { Meta, TrackerPreheat } from './tracker-import-preheat.ts';

type Raw = Record<string, unknown>;

const refId = (value: unknown): string | undefined => {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
};
const refIds = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(refId).filter((id): id is string => id !== undefined) : [];
const bodyOf = (body: unknown): Raw => (typeof body === 'string' ? JSON.parse(body) : body) as Raw;

/** A program's category combo: DHIS2's default when it names none. */
export function programCategoryCombo(program: Meta): string {
  return refId(program.object.categoryCombo) ?? DEFAULT_CATEGORY_COMBO_UID;
}

/**
 * The attribute side of the events' programs: the option combos of each program's category combo
 * (by their options) and the category options' start and end dates. Loaded per chunk in three
 * queries; the option combos are also put into the preheat, so the writer finds one that an event
 * named only by its options (`attributeCategoryOptions`).
 */
export interface EventCategories {
  /** Category combo UID → option key (sorted option UIDs) → option combo UID. */
  combos: Map<string, Map<string, string>>;
  /** Option combo UID → its category combo and options. */
  optionCombos: Map<string, { categoryCombo: string | undefined; options: string[] }>;
  /** Category option UID → its dates (ISO text) and its body (for its sharing), when it is found. */
  options: Map<string, { startDate?: string; endDate?: string; object: Raw }>;
}

export async function loadEventCategories(
  db: SqlExecutor,
  bundle: TrackerBundle,
  preheat: TrackerPreheat,
): Promise<EventCategories> {
  const out: EventCategories = { combos: new Map(), optionCombos: new Map(), options: new Map() };
  if (bundle.events.length === 0) return out;
  const comboUids = new Set<string>();
  for (const program of preheat.metadata.get('programs')?.values() ?? [])
    comboUids.add(programCategoryCombo(program));
  let cocMap = preheat.metadata.get('categoryOptionCombos');
  if (!cocMap) preheat.metadata.set('categoryOptionCombos', (cocMap = new Map()));
  const addCombo = (sid: number, object: Raw) => {
    const uid = String(object.id);
    cocMap.set(uid, { sid, object: object as Meta['object'] });
    const options = refIds(object.categoryOptions);
    const categoryCombo = refId(object.categoryCombo);
    out.optionCombos.set(uid, { categoryCombo, options });
    if (categoryCombo) {
      let byKey = out.combos.get(categoryCombo);
      if (!byKey) out.combos.set(categoryCombo, (byKey = new Map()));
      byKey.set(optionSetKey(options), uid);
    }
  };
  const combos = [...comboUids];
  for (let i = 0; i < combos.length; i += 500) {
    const chunk = combos.slice(i, i + 500);
    const rows = await db.query<{ sid: number; body: unknown }>(
      `SELECT o.sid AS sid, o.body AS body FROM metadata_reference r
         JOIN metadata_object o ON o.sid = r.source_sid
        WHERE r.target_type = 'categoryCombos' AND r.property = 'categoryCombo'
          AND o.type = 'categoryOptionCombos'
          AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) addCombo(Number(row.sid), bodyOf(row.body));
  }
  // Option combos the events name that belong to other combos (refused with E1054 below).
  for (const meta of cocMap.values())
    if (!out.optionCombos.has(meta.object.id)) addCombo(meta.sid, meta.object as Raw);

  const optionUids = new Set<string>();
  for (const coc of out.optionCombos.values()) for (const o of coc.options) optionUids.add(o);
  for (const ev of bundle.events) for (const o of ev.attributeCategoryOptions ?? []) optionUids.add(o);
  const options = [...optionUids];
  for (let i = 0; i < options.length; i += 500) {
    const chunk = options.slice(i, i + 500);
    const rows = await db.query<{ uid: string; body: unknown }>(
      `SELECT uid, body FROM metadata_object WHERE type = 'categoryOptions'
          AND uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) {
      const body = bodyOf(row.body);
      out.options.set(String(row.uid), {
        startDate: typeof body.startDate === 'string' ? body.startDate : undefined,
        endDate: typeof body.endDate === 'string' ? body.endDate : undefined,
        object: body,
      });
    }
  }
  return out;
}

const DAY_MS = 86_400_000;

/**
 * DHIS2's checks of an event's attribute option combo against its program's category combo:
 * E1115 an option combo that does not exist, E1054 one of another category combo, E1055 none (or
 * the default) for a program with a category combo of its own, E1116 an unknown category option,
 * E1117 options that make no option combo of the program's combo (or not the one given beside
 * them), E1056/E1057 an event date outside an option's start and end dates (the end moved by the
 * program's `openDaysAfterCoEndDate`). An event named by its options alone gets their option combo.
 */
export function checkEventCategories(
  ev: EventInput,
  uid: string,
  program: Meta | undefined,
  categories: EventCategories,
  errors: TrackerErrorReport[],
  /** validationMode=SKIP (superusers): the options' dates are not checked. */
  skipDates = false,
  /** The importing user (none: the operator, who may write anything) and the name reports give it. */
  subject?: { sharing: SharingSubject; who: string },
): void {
  const given = ev.attributeOptionCombo;
  if (given && !categories.optionCombos.has(given)) {
    errors.push(trackerError('E1115', 'EVENT', uid, [given]));
    return;
  }
  if (!program) return;
  const combo = programCategoryCombo(program);
  const isDefault = combo === DEFAULT_CATEGORY_COMBO_UID;
  let aoc = given;
  if (ev.attributeCategoryOptions) {
    const missing = ev.attributeCategoryOptions.filter((o) => !categories.options.has(o));
    if (missing.length > 0) {
      for (const o of missing) errors.push(trackerError('E1116', 'EVENT', uid, [o]));
      return;
    }
    const found = categories.combos.get(combo)?.get(optionSetKey(ev.attributeCategoryOptions));
    if (!found || (given && given !== found)) {
      errors.push(trackerError('E1117', 'EVENT', uid, [`${combo} ${ev.attributeCategoryOptions.join(';')}`]));
      return;
    }
    aoc = found;
  }
  if (!aoc) {
    if (!isDefault) errors.push(trackerError('E1055', 'EVENT', uid, []));
    // As DHIS2, an event of a default-combo program is stored with the default option combo, and
    // exported with it (every metadata import stores the default model, so it is found here).
    else if (categories.optionCombos.has(DEFAULT_CATEGORY_OPTION_COMBO_UID))
      ev.attributeOptionCombo = DEFAULT_CATEGORY_OPTION_COMBO_UID;
    return;
  }
  const coc = categories.optionCombos.get(aoc)!;
  if (coc.categoryCombo !== combo) {
    if (!isDefault && coc.categoryCombo === DEFAULT_CATEGORY_COMBO_UID)
      errors.push(trackerError('E1055', 'EVENT', uid, []));
    else errors.push(trackerError('E1054', 'EVENT', uid, [aoc, combo]));
    return;
  }
  ev.attributeOptionCombo = aoc;
  // DHIS2's E1099: writing data of an option combo takes data write on each of its options.
  if (subject)
    for (const optionUid of coc.options) {
      const option = categories.options.get(optionUid);
      if (option && !canDataWrite(option.object, subject.sharing))
        errors.push(trackerError('E1099', 'EVENT', uid, [subject.who, optionUid]));
    }
  if (skipDates) return;
  const date = ev.occurredAt ?? ev.scheduledAt;
  const at = date ? Date.parse(date) : NaN;
  if (Number.isNaN(at)) return;
  const openDays = Number(program.object.openDaysAfterCoEndDate ?? 0) || 0;
  for (const optionUid of coc.options) {
    const option = categories.options.get(optionUid);
    if (option?.startDate && at < Date.parse(option.startDate))
      errors.push(trackerError('E1056', 'EVENT', uid, [date, option.startDate, optionUid]));
    if (option?.endDate && at > Date.parse(option.endDate) + (openDays + 1) * DAY_MS - 1)
      errors.push(trackerError('E1057', 'EVENT', uid, [date, option.endDate, optionUid]));
  }
}
