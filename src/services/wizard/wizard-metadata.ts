import type { MetadataStore } from '../../storage/metadata-store.ts';
import { NameMatcher, normaliseName, type MatchCandidate } from '../../domain/wizard/name-matching.ts';

/**
 * What a wizard run matches source values against, loaded once per run: data elements, category
 * option combos, option sets and the org unit hierarchy, each indexed by UID, code and names. A
 * national hierarchy (tens of thousands of units) is a few MiB here; the records stream past it.
 */
export interface WizardDataElement {
  id: string;
  name: string;
  valueType: string;
  categoryCombo: string | undefined;
  optionSet: string | undefined;
  /** Code, short name, form name: what a column header may also say. */
  otherNames: string[];
}

export interface WizardOrgUnit {
  id: string;
  name: string;
  code: string | undefined;
  /** UIDs from the root to the unit, `/`-separated, as DHIS2's `path`. */
  path: string;
  level: number;
}

type Body = Record<string, unknown>;

function ref(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function candidate(object: Body): MatchCandidate {
  const names = [object.name, object.code, object.shortName, object.formName, object.id, object.displayName]
    .map(textOf)
    .filter((n): n is string => n !== undefined);
  const aliases = Array.isArray(object.aliases)
    ? object.aliases.map(textOf).filter((n): n is string => !!n)
    : [];
  return { id: String(object.id), label: String(object.name ?? object.id), names: [...names, ...aliases] };
}

async function all(metadata: MetadataStore, collection: string): Promise<Body[]> {
  const out: Body[] = [];
  for await (const batch of metadata.streamMatching(collection, [], 2_000))
    for (const row of batch) out.push(row.object as Body);
  return out;
}

export class WizardMetadata {
  readonly dataElements = new Map<string, WizardDataElement>();
  readonly dataElementMatcher: NameMatcher;
  readonly comboMatcher: NameMatcher;
  /** Category option combos by category combo. */
  readonly combosOf = new Map<string, string[]>();
  readonly comboNames = new Map<string, string>();
  readonly options = new Map<string, NameMatcher>();
  readonly orgUnits = new Map<string, WizardOrgUnit>();
  readonly orgUnitByCode = new Map<string, string>();
  readonly orgUnitMatcher: NameMatcher;
  /** Normalised name → units of that name: the path match's starting points. */
  readonly orgUnitsByName = new Map<string, string[]>();

  private constructor(
    dataElements: Body[],
    combos: Body[],
    optionSets: Body[],
    options: Body[],
    orgUnits: Body[],
  ) {
    for (const de of dataElements) {
      const id = String(de.id);
      this.dataElements.set(id, {
        id,
        name: String(de.name ?? id),
        valueType: String(de.valueType ?? 'TEXT'),
        categoryCombo: ref(de.categoryCombo),
        optionSet: ref(de.optionSet),
        otherNames: [de.code, de.shortName, de.formName].map(textOf).filter((n): n is string => !!n),
      });
    }
    this.dataElementMatcher = new NameMatcher(dataElements.map(candidate));
    for (const coc of combos) {
      const id = String(coc.id);
      this.comboNames.set(id, String(coc.name ?? id));
      const cc = ref(coc.categoryCombo);
      if (cc) this.combosOf.set(cc, [...(this.combosOf.get(cc) ?? []), id]);
    }
    this.comboMatcher = new NameMatcher(combos.map(candidate));
    const optionById = new Map(options.map((o) => [String(o.id), o]));
    for (const set of optionSets) {
      const members = Array.isArray(set.options)
        ? set.options.map((o) => optionById.get(String(ref(o)))).filter((o): o is Body => o !== undefined)
        : options.filter((o) => ref(o.optionSet) === set.id);
      // An option answers as its code: that is what a data value stores.
      this.options.set(
        String(set.id),
        new NameMatcher(
          members.map((o) => ({
            id: String(o.code ?? o.id),
            label: String(o.name ?? o.code),
            names: [o.code, o.name, o.id].map(textOf).filter((n): n is string => !!n),
          })),
        ),
      );
    }
    for (const ou of orgUnits) {
      const id = String(ou.id);
      const path = typeof ou.path === 'string' ? ou.path : `/${id}`;
      const unit = {
        id,
        name: String(ou.name ?? id),
        code: textOf(ou.code),
        path,
        level: path.split('/').length - 1,
      };
      this.orgUnits.set(id, unit);
      if (unit.code) this.orgUnitByCode.set(unit.code, id);
      for (const name of [ou.name, ou.shortName].map(textOf)) {
        if (!name) continue;
        const key = normaliseName(name);
        const list = this.orgUnitsByName.get(key) ?? [];
        if (!list.includes(id)) list.push(id);
        this.orgUnitsByName.set(key, list);
      }
    }
    this.orgUnitMatcher = new NameMatcher(
      orgUnits.map((ou) => ({
        id: String(ou.id),
        label: String(ou.name ?? ou.id),
        names: [ou.name, ou.shortName].map(textOf).filter((n): n is string => !!n),
      })),
    );
  }

  static async load(metadata: MetadataStore, parts: { orgUnits?: boolean } = {}): Promise<WizardMetadata> {
    const [dataElements, combos, optionSets, options, orgUnits] = await Promise.all([
      all(metadata, 'dataElements'),
      all(metadata, 'categoryOptionCombos'),
      all(metadata, 'optionSets'),
      all(metadata, 'options'),
      parts.orgUnits === false ? Promise.resolve([]) : all(metadata, 'organisationUnits'),
    ]);
    return new WizardMetadata(dataElements, combos, optionSets, options, orgUnits);
  }

  /** The org unit's ancestors' normalised names, from the root, and its own. */
  pathNames(id: string): string[] {
    const unit = this.orgUnits.get(id);
    if (!unit) return [];
    return unit.path
      .split('/')
      .filter(Boolean)
      .map((uid) => normaliseName(this.orgUnits.get(uid)?.name ?? ''));
  }
}
