import { parsePeriod, periodContaining } from '../../domain/periods/periods.ts';
import { isValidUid } from '../../domain/identifiers/uid.ts';
import { normaliseName, type MatchSuggestion } from '../../domain/wizard/name-matching.ts';
import {
  fieldValue,
  parseBooleanText,
  parseDateText,
  type AggregateTarget,
  type FieldSource,
  type OrgUnitField,
  type WizardMappingBody,
} from '../../domain/wizard/wizard-mapping.ts';
import type { SourceLocator, SourceRecord } from './sources/wizard-source.ts';
import type { WizardMetadata } from './wizard-metadata.ts';

/**
 * Turns source records into aggregate data values with a mapping: the org unit, period, data
 * element and combos resolved to UIDs, option and boolean values mapped to what DHIS2 stores. What
 * cannot be resolved is reported with the record's locator: an error when a mandatory field fails
 * (the record is held back), a conflict when one value is dropped. Values that match nothing are
 * also gathered per distinct value (with suggestions), the wizard's "unmapped values" list.
 */
export interface MappedValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string | undefined;
  attributeOptionCombo: string | undefined;
  value: string;
  comment: string | undefined;
  /** The source column the value came from (wide tables and forms: one per value). */
  column: string;
}

export type WizardIssueKind = 'error' | 'conflict';

export interface WizardIssue {
  kind: WizardIssueKind;
  row: number;
  sheet?: string;
  /** A cell address or JSON path. */
  where?: string;
  /** The mapping field (orgUnit, period, dataElement, value) or the column. */
  field: string;
  value?: string;
  message: string;
  /** The importer's code, for issues the importer found (E7619, ...). */
  code?: string;
}

export type UnmatchedKind =
  'orgUnit' | 'dataElement' | 'categoryOptionCombo' | 'attributeOptionCombo' | 'option' | 'period';

export interface UnmatchedValue {
  kind: UnmatchedKind;
  column: string;
  value: string;
  count: number;
  /** The first rows it appears on. */
  rows: number[];
  suggestions: MatchSuggestion[];
}

const MAX_UNMATCHED_ROWS = 10;
const MAX_UNMATCHED_VALUES = 1_000;

type Resolved = { id: string } | { error: string; suggestions?: MatchSuggestion[] };

export function columnLabel(field: FieldSource | undefined): string {
  if (!field) return '';
  if ('constant' in field) return `constant ${field.constant}`;
  if ('columns' in field) return field.columns.join(' + ');
  return field.column;
}

function whereOf(locator: SourceLocator, column: string | undefined): string | undefined {
  if (column && locator.cells?.[column]) return locator.cells[column];
  return locator.path;
}

export class AggregateMapper {
  private readonly target: AggregateTarget;
  private readonly valueMaps: WizardMappingBody['valueMaps'];
  private readonly metadata: WizardMetadata;
  private readonly cache = new Map<string, Resolved>();
  private readonly unmatchedValues = new Map<string, UnmatchedValue>();

  constructor(body: WizardMappingBody, metadata: WizardMetadata) {
    if (body.target.kind !== 'aggregate') throw new Error('AggregateMapper needs an aggregate target');
    this.target = body.target;
    this.valueMaps = body.valueMaps;
    this.metadata = metadata;
  }

  unmatched(): UnmatchedValue[] {
    return [...this.unmatchedValues.values()].sort((a, b) => b.count - a.count);
  }

  /** A field's value after the column's value map; `skip` when the map says to skip it. */
  private read(field: FieldSource, values: SourceRecord['values']): string | null | 'skip' {
    const raw = fieldValue(field, values);
    if (raw === null) return null;
    const column =
      'column' in field ? field.column : 'columns' in field ? field.columns.join('+') : undefined;
    return this.mapValue(column, raw);
  }

  private mapValue(column: string | undefined, raw: string): string | null | 'skip' {
    const map = column !== undefined ? this.valueMaps[column] : undefined;
    if (!map) return raw;
    if (Object.hasOwn(map, raw)) return map[raw] ?? 'skip';
    const normal = normaliseName(raw);
    for (const [from, to] of Object.entries(map)) if (normaliseName(from) === normal) return to ?? 'skip';
    return raw;
  }

  private note(
    kind: UnmatchedKind,
    column: string,
    value: string,
    row: number,
    suggestions: MatchSuggestion[] = [],
  ): void {
    const key = `${kind}\u0000${column}\u0000${value}`;
    const had = this.unmatchedValues.get(key);
    if (had) {
      had.count++;
      if (had.rows.length < MAX_UNMATCHED_ROWS) had.rows.push(row);
      return;
    }
    if (this.unmatchedValues.size >= MAX_UNMATCHED_VALUES) return;
    this.unmatchedValues.set(key, { kind, column, value, count: 1, rows: [row], suggestions });
  }

  private cached(key: string, resolve: () => Resolved): Resolved {
    let found = this.cache.get(key);
    if (!found) {
      found = resolve();
      if (this.cache.size < 100_000) this.cache.set(key, found);
    }
    return found;
  }

  private resolveOrgUnit(field: OrgUnitField, value: string, values: SourceRecord['values']): Resolved {
    const m = this.metadata;
    if (field.match === 'path' && 'columns' in field.source) {
      const columns = field.source.columns;
      const names = columns.map((c) => normaliseName(values[c] ?? '')).filter(Boolean);
      const key = `ou:path:${names.join('/')}`;
      return this.cached(key, () => {
        const leaf = names[names.length - 1];
        const candidates = (m.orgUnitsByName.get(leaf) ?? []).filter((id) => {
          const path = m.pathNames(id);
          // Every named level appears in the unit's path, in order (levels between may be skipped).
          let at = 0;
          for (const name of names) {
            at = path.indexOf(name, at);
            if (at === -1) return false;
            at++;
          }
          return true;
        });
        if (candidates.length === 1) return { id: candidates[0] };
        if (candidates.length > 1)
          return { error: `matches ${candidates.length} org units (${candidates.slice(0, 3).join(', ')})` };
        return {
          error: 'matches no org unit by this path',
          suggestions: m.orgUnitMatcher.suggest(values[columns[columns.length - 1]] ?? ''),
        };
      });
    }
    return this.cached(`ou:${field.match}:${value}`, () => {
      if ((field.match === 'uid' || field.match === 'auto') && m.orgUnits.has(value)) return { id: value };
      if (field.match === 'code' || field.match === 'auto') {
        const id = m.orgUnitByCode.get(value);
        if (id) return { id };
      }
      if (field.match === 'name' || field.match === 'auto') {
        const ids = m.orgUnitsByName.get(normaliseName(value)) ?? [];
        if (ids.length === 1) return { id: ids[0] };
        if (ids.length > 1)
          return {
            error: `names ${ids.length} org units (${ids.slice(0, 3).join(', ')}); match by path or code`,
            suggestions: [],
          };
      }
      return {
        error: `matches no org unit by ${field.match === 'auto' ? 'UID, code or name' : field.match}`,
        suggestions: m.orgUnitMatcher.suggest(value),
      };
    });
  }

  private resolveDataElement(value: string): Resolved {
    return this.cached(`de:${value}`, () => {
      if (this.metadata.dataElements.has(value)) return { id: value };
      const sure = this.metadata.dataElementMatcher.sureMatch(value);
      if (sure) return { id: sure.id };
      return {
        error: 'matches no data element by UID, code or name',
        suggestions: this.metadata.dataElementMatcher.suggest(value),
      };
    });
  }

  private resolveCombo(value: string, comboOf: string | undefined, label: string): Resolved {
    return this.cached(`coc:${comboOf ?? ''}:${value}`, () => {
      const m = this.metadata;
      const allowed = comboOf ? new Set(m.combosOf.get(comboOf) ?? []) : undefined;
      if (m.comboNames.has(value) && (!allowed || allowed.has(value))) return { id: value };
      const found = m.comboMatcher.suggest(value, 20, false).filter((s) => !allowed || allowed.has(s.id));
      if (found.length === 1) return { id: found[0].id };
      return {
        error: `matches no ${label} by UID, code or name${found.length > 1 ? ' (several do)' : ''}`,
        suggestions: m.comboMatcher.suggest(value).filter((s) => !allowed || allowed.has(s.id)),
      };
    });
  }

  private resolvePeriod(value: string): Resolved {
    const fromDate = this.target.period.fromDate;
    return this.cached(`pe:${value}`, () => {
      if (fromDate) {
        const date = parseDateText(value);
        if (!date) return { error: 'is not a date (YYYY-MM-DD, DD/MM/YYYY or an Excel serial number)' };
        const period = periodContaining(fromDate, date);
        return period ? { id: period.iso } : { error: `has no ${fromDate} period` };
      }
      const period = parsePeriod(value);
      return period
        ? { id: period.iso }
        : {
            error:
              'is not a DHIS2 period (202403, 2024Q1, 2024W12, ...); set a period type to derive it from a date',
          };
    });
  }

  /** A value for a data element as DHIS2 stores it: booleans as true/false, options as their code. */
  private convertValue(
    dataElement: string,
    value: string,
  ): { value: string } | { error: string; suggestions?: MatchSuggestion[]; kind: UnmatchedKind } | undefined {
    const de = this.metadata.dataElements.get(dataElement);
    if (!de) return { value };
    if (de.optionSet) {
      const matcher = this.metadata.options.get(de.optionSet);
      const sure = matcher?.sureMatch(value);
      if (sure) return { value: sure.id };
      return {
        error: `is not an option of ${de.name}`,
        suggestions: matcher?.suggest(value) ?? [],
        kind: 'option',
      };
    }
    if (de.valueType === 'BOOLEAN' || de.valueType === 'TRUE_ONLY') {
      const b = parseBooleanText(value);
      if (b === 'false' && de.valueType === 'TRUE_ONLY') return undefined;
      if (b) return { value: b };
      return { error: `is not a yes/no value for ${de.name}`, kind: 'option', suggestions: [] };
    }
    return { value };
  }

  /** The values of one record, and what went wrong with it. */
  map(record: SourceRecord): { values: MappedValue[]; issues: WizardIssue[] } {
    const t = this.target;
    const { values: source, locator } = record;
    const issues: WizardIssue[] = [];
    const sourceIssue = (column: string) => record.issues?.find((i) => i.column === column);
    const problem = (
      kind: WizardIssueKind,
      field: string,
      column: string | undefined,
      value: string | undefined,
      message: string,
    ) => {
      issues.push({
        kind,
        row: locator.row,
        ...(locator.sheet ? { sheet: locator.sheet } : {}),
        ...(whereOf(locator, column) ? { where: whereOf(locator, column) } : {}),
        field,
        ...(value !== undefined ? { value } : {}),
        message,
      });
    };
    // A mandatory field: its column's value, resolved, or an error that holds the record back.
    const mandatory = (
      name: string,
      field: FieldSource,
      resolve: (value: string) => Resolved,
      kind: UnmatchedKind,
    ): string | undefined => {
      const column = columnLabel(field);
      const read = this.read(field, source);
      if (read === 'skip') return undefined;
      if (read === null) {
        const fromSource = 'column' in field ? sourceIssue(field.column) : undefined;
        problem(
          'error',
          name,
          'column' in field ? field.column : undefined,
          undefined,
          fromSource ? fromSource.message : `no value in ${column}; the record is held back`,
        );
        return undefined;
      }
      const found = resolve(read);
      if ('id' in found) return found.id;
      this.note(kind, column, read, locator.row, found.suggestions);
      problem(
        'error',
        name,
        'column' in field ? field.column : undefined,
        read,
        `${column} \`${read}\` ${found.error}; the record is held back`,
      );
      return undefined;
    };
    const orgUnit = mandatory(
      'orgUnit',
      t.orgUnit.source,
      (v) => this.resolveOrgUnit(t.orgUnit, v, source),
      'orgUnit',
    );
    const period = mandatory('period', t.period.source, (v) => this.resolvePeriod(v), 'period');
    const aoc = t.attributeOptionCombo
      ? mandatory(
          'attributeOptionCombo',
          t.attributeOptionCombo,
          (v) => this.resolveCombo(v, undefined, 'attribute option combo'),
          'attributeOptionCombo',
        )
      : undefined;
    const comment = t.comment ? this.read(t.comment, source) : null;
    const out: MappedValue[] = [];
    const push = (dataElement: string, coc: string | undefined, raw: string, column: string) => {
      const converted = this.convertValue(dataElement, raw);
      if (converted === undefined) return;
      if ('error' in converted) {
        this.note(converted.kind, column, raw, locator.row, converted.suggestions);
        problem(
          'conflict',
          column,
          column,
          raw,
          `\`${raw}\` ${converted.error}; the value is not imported (map it in the values step)`,
        );
        return;
      }
      out.push({
        dataElement,
        period: period!,
        orgUnit: orgUnit!,
        categoryOptionCombo: coc,
        attributeOptionCombo: aoc,
        value: converted.value,
        comment: comment === null || comment === 'skip' ? undefined : comment,
        column,
      });
    };
    if (t.layout === 'long') {
      const dataElement = mandatory(
        'dataElement',
        t.dataElement!,
        (v) => this.resolveDataElement(v),
        'dataElement',
      );
      if (issues.some((i) => i.kind === 'error') || !orgUnit || !period || !dataElement)
        return { values: [], issues };
      let coc: string | undefined;
      if (t.categoryOptionCombo) {
        const read = this.read(t.categoryOptionCombo, source);
        if (read !== null && read !== 'skip') {
          const found = this.resolveCombo(
            read,
            this.metadata.dataElements.get(dataElement)?.categoryCombo,
            'category option combo',
          );
          if ('id' in found) coc = found.id;
          else {
            this.note(
              'categoryOptionCombo',
              columnLabel(t.categoryOptionCombo),
              read,
              locator.row,
              found.suggestions,
            );
            problem(
              'error',
              'categoryOptionCombo',
              undefined,
              read,
              `category option combo \`${read}\` ${found.error}; the record is held back`,
            );
            return { values: [], issues };
          }
        }
      }
      const valueColumn = columnLabel(t.value);
      const value = this.read(t.value!, source);
      if (value === 'skip') return { values: [], issues };
      if (value === null) {
        const fromSource = t.value && 'column' in t.value ? sourceIssue(t.value.column) : undefined;
        if (fromSource)
          problem(
            'conflict',
            'value',
            valueColumn,
            undefined,
            `${fromSource.message}; the value is not imported`,
          );
        return { values: [], issues };
      }
      push(dataElement, coc, value, valueColumn);
      return { values: out, issues };
    }
    if (issues.some((i) => i.kind === 'error') || !orgUnit || !period) return { values: [], issues };
    for (const v of t.valueColumns ?? []) {
      const raw = source[v.column];
      if (raw === null || raw === undefined || raw.trim() === '') {
        const fromSource = sourceIssue(v.column);
        if (fromSource)
          problem(
            'conflict',
            v.column,
            v.column,
            undefined,
            `${fromSource.message}; the value is not imported`,
          );
        continue;
      }
      const mapped = this.mapValue(v.column, raw.trim());
      if (mapped === 'skip' || mapped === null) continue;
      if (!isValidUid(v.dataElement)) continue;
      push(v.dataElement, v.categoryOptionCombo, mapped, v.column);
    }
    return { values: out, issues };
  }
}
