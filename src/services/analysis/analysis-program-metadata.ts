import type { FerryContext } from '../ferry-context-types.ts';
import { FerryError } from '../../errors.ts';
import {
  analysisKindOf,
  booleanCodes,
  type AnalysisValueLabel,
  type AnalysisVariable,
} from '../../domain/analysis/analysis-variables.ts';
import { canDataRead, type SharingSubject } from '../../domain/access/data-sharing.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';

/**
 * A program as an analysis export sees it: its stages with their data elements and its tracked
 * entity attributes as variables (names from codes, else names; labels and value labels in the
 * requested language where the metadata has a translation), with the stages the requester may read.
 */

export interface ProgramElement {
  uid: string;
  variable: AnalysisVariable;
}

export interface ProgramStageShape {
  uid: string;
  sid: number;
  name: string;
  /** A stem for the stage's file name (code, else name). */
  stem: string;
  repeatable: boolean;
  elements: ProgramElement[];
}

export interface ProgramShape {
  program: MetadataObject;
  sid: number;
  name: string;
  stem: string;
  version: number | undefined;
  tracker: boolean;
  stages: ProgramStageShape[];
  /** Stages left out because the requester may not read their data (program stage sharing). */
  hiddenStages: string[];
  /** Tracker programs: the program's attributes, with their sids (attribute values are keyed by sid). */
  attributes: (ProgramElement & { sid: number })[];
  trackedEntityType?: { uid: string; sid: number; name: string };
  levelNames: Map<number, string>;
}

const ref = (value: unknown): string | undefined =>
  (value as { id?: unknown } | undefined)?.id as string | undefined;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** DHIS2's translation property names of the fields an analysis label uses. */
const PROPERTIES: Record<string, string> = {
  name: 'NAME',
  formName: 'FORM_NAME',
  shortName: 'SHORT_NAME',
};

/**
 * `field` of `object` in `locale` when its `translations` hold one (the exact locale, else its
 * language: `pt` for `pt_BR`), else the field itself.
 */
export function translated(object: MetadataObject | undefined, field: string, locale?: string): string {
  if (!object) return '';
  if (locale && Array.isArray(object.translations)) {
    const property = PROPERTIES[field] ?? field.toUpperCase();
    const entries = (
      object.translations as { property?: unknown; locale?: unknown; value?: unknown }[]
    ).filter((t) => t && t.property === property && typeof t.value === 'string' && t.value !== '');
    const norm = (l: unknown) => text(l).replace('-', '_').toLowerCase();
    const wanted = norm(locale);
    const exact = entries.find((t) => norm(t.locale) === wanted);
    const language = entries.find((t) => norm(t.locale).split('_')[0] === wanted.split('_')[0]);
    const hit = exact ?? language;
    if (hit) return String(hit.value);
  }
  return text(object[field]);
}

async function loadAll(
  context: FerryContext,
  collection: string,
  uids: readonly string[],
): Promise<Map<string, MetadataObject>> {
  if (uids.length === 0) return new Map();
  const found = await context.metadata.findBy(collection, 'uid', [...new Set(uids)]);
  return new Map(found.map(({ object }) => [object.id, object]));
}

/** Option codes as numbers: the codes themselves when all are whole numbers, else 1..n in sort order. */
async function optionSetCodes(
  context: FerryContext,
  optionSetUid: string,
  locale: string | undefined,
): Promise<{ codes: Map<string, number>; valueLabels: AnalysisValueLabel[] } | undefined> {
  const set = await context.metadata.get('optionSets', optionSetUid);
  if (!set) return undefined;
  const uids = (Array.isArray(set.options) ? set.options : []).map(ref).filter((id): id is string => !!id);
  const options = [...(await loadAll(context, 'options', uids)).values()];
  options.sort(
    (a, b) => Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0) || text(a.code).localeCompare(text(b.code)),
  );
  const numeric = options.every((o) => /^-?\d{1,9}$/.test(text(o.code)));
  const codes = new Map<string, number>();
  const valueLabels = options.map((option, i) => {
    const value = numeric ? Number(option.code) : i + 1;
    codes.set(text(option.code), value);
    return { value, label: translated(option, 'name', locale) || text(option.code) };
  });
  return { codes, valueLabels };
}

/** A data element's or attribute's variable: name from code, label from form name or name. */
async function variableOf(
  context: FerryContext,
  object: MetadataObject,
  locale: string | undefined,
): Promise<AnalysisVariable> {
  const valueType = text(object.valueType);
  const optionSet = ref(object.optionSet);
  const coded = optionSet
    ? await optionSetCodes(context, optionSet, locale)
    : valueType === 'BOOLEAN' || valueType === 'TRUE_ONLY'
      ? booleanCodes()
      : undefined;
  return {
    name: text(object.code) || text(object.name) || object.id,
    label: translated(object, 'formName', locale) || translated(object, 'name', locale) || object.id,
    kind: coded ? 'integer' : analysisKindOf(valueType),
    ...(coded ?? {}),
  };
}

/**
 * Loads the program for an export: F1200 when it does not exist, F1300 when `version` is not the one
 * in force, E1096-like refusal (E2010's wording for programs) when the requester may not read its
 * data. Stages the requester may not read are left out (listed in `hiddenStages`).
 */
export async function loadProgramShape(
  context: FerryContext,
  programUid: string,
  options: { version?: number; locale?: string; sharing?: SharingSubject },
): Promise<ProgramShape> {
  const found = await context.metadata.findBy('programs', 'uid', [programUid]);
  if (found.length === 0) throw new FerryError('F1200', ['Program', programUid]);
  const { object: program, sid } = found[0];
  const version = program.version === undefined ? undefined : Number(program.version);
  if (options.version !== undefined && version !== options.version)
    throw new FerryError('F1300', [
      `Program \`${programUid}\` is at version ${version ?? 'none'}, not ${options.version}: ask again for the version in force`,
    ]);
  if (options.sharing && !canDataRead(program, options.sharing))
    throw new FerryError('F1300', [`User has no data read access to program: \`${programUid}\``]);
  const locale = options.locale;
  const stageUids = (Array.isArray(program.programStages) ? program.programStages : [])
    .map(ref)
    .filter((id): id is string => !!id);
  const stageRows = await context.metadata.findBy('programStages', 'uid', stageUids);
  const stageSids = new Map(stageRows.map((r) => [r.object.id, r.sid]));
  const stageObjects = stageRows
    .map((r) => r.object)
    .sort((a, b) => Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0) || a.id.localeCompare(b.id));
  const stages: ProgramStageShape[] = [];
  const hiddenStages: string[] = [];
  for (const stage of stageObjects) {
    if (options.sharing && !canDataRead(stage, options.sharing)) {
      hiddenStages.push(stage.id);
      continue;
    }
    const psdes = (Array.isArray(stage.programStageDataElements) ? stage.programStageDataElements : []) as {
      dataElement?: unknown;
      sortOrder?: unknown;
    }[];
    const ordered = [...psdes].sort((a, b) => Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0));
    const elementUids = ordered.map((p) => ref(p.dataElement)).filter((id): id is string => !!id);
    const elements = await loadAll(context, 'dataElements', elementUids);
    const list: ProgramElement[] = [];
    for (const uid of elementUids) {
      const element = elements.get(uid);
      if (element) list.push({ uid, variable: await variableOf(context, element, locale) });
    }
    stages.push({
      uid: stage.id,
      sid: stageSids.get(stage.id)!,
      name: translated(stage, 'name', locale) || stage.id,
      stem: text(stage.code) || text(stage.name) || stage.id,
      repeatable: stage.repeatable === true,
      elements: list,
    });
  }
  const tracker = text(program.programType) === 'WITH_REGISTRATION';
  const attributes: ProgramShape['attributes'] = [];
  let trackedEntityType: ProgramShape['trackedEntityType'];
  if (tracker) {
    const ptas = (
      Array.isArray(program.programTrackedEntityAttributes) ? program.programTrackedEntityAttributes : []
    ) as { trackedEntityAttribute?: unknown; sortOrder?: unknown }[];
    const ordered = [...ptas].sort((a, b) => Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0));
    const uids = ordered.map((p) => ref(p.trackedEntityAttribute)).filter((id): id is string => !!id);
    const rows = await context.metadata.findBy('trackedEntityAttributes', 'uid', uids);
    const byUid = new Map(rows.map((r) => [r.object.id, r]));
    for (const uid of uids) {
      const row = byUid.get(uid);
      if (row)
        attributes.push({ uid, sid: row.sid, variable: await variableOf(context, row.object, locale) });
    }
    const typeUid = ref(program.trackedEntityType);
    if (typeUid) {
      const typeRows = await context.metadata.findBy('trackedEntityTypes', 'uid', [typeUid]);
      if (typeRows[0]) {
        if (options.sharing && !canDataRead(typeRows[0].object, options.sharing))
          throw new FerryError('F1300', [
            `User has no data read access to tracked entity type: \`${typeUid}\``,
          ]);
        trackedEntityType = {
          uid: typeUid,
          sid: typeRows[0].sid,
          name: translated(typeRows[0].object, 'name', locale) || typeUid,
        };
      }
    }
  }
  const levelNames = new Map<number, string>();
  for await (const batch of context.metadata.stream('organisationUnitLevels')) {
    for (const { object } of batch)
      levelNames.set(Number(object.level), translated(object, 'name', locale) || text(object.name));
  }
  return {
    program,
    sid,
    name: translated(program, 'name', locale) || programUid,
    stem: text(program.code) || text(program.name) || programUid,
    version,
    tracker,
    stages,
    hiddenStages,
    attributes,
    ...(trackedEntityType ? { trackedEntityType } : {}),
    levelNames,
  };
}
