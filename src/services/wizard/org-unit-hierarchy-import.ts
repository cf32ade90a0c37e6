import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import { normaliseName } from '../../domain/wizard/name-matching.ts';
import { fieldValue, parseDateText, type WizardMappingBody } from '../../domain/wizard/wizard-mapping.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { importMetadataObjects } from '../metadata/metadata-import-service.ts';
import type { DataValueImportRun } from '../data-values/data-value-import-types.ts';
import { SourceConfigError } from './sources/wizard-source.ts';
import type { WizardIssue } from './aggregate-mapper.ts';
import {
  MAX_ISSUES,
  openMappingSource,
  type WizardImportReport,
  type WizardRunOptions,
} from './wizard-report.ts';

/**
 * An org unit list builds (or updates) a hierarchy: each record names a unit and the units above
 * it (region / district / facility columns) or a parent to match. A level that does not exist under
 * its parent is created; a unit that exists (same name under the same parent, or its UID or code)
 * is updated only when its code, short name or opening date differ, so a re-run changes nothing.
 * The objects go through the real metadata importer (VALIDATE for a dry run), parents first.
 */
interface Planned {
  object: Record<string, unknown>;
  /** Source rows that named it. */
  rows: number[];
  isNew: boolean;
}

type Body = Record<string, unknown>;

export async function importOrgUnitHierarchy(
  context: FerryContext,
  body: WizardMappingBody,
  mapping: WizardImportReport['mapping'],
  options: WizardRunOptions,
  principal: Principal | undefined,
  run: DataValueImportRun,
): Promise<WizardImportReport> {
  const t = body.target;
  if (t.kind !== 'organisationUnits') throw new Error('not an org unit mapping');
  const report: WizardImportReport = {
    responseType: 'WizardImportReport',
    mapping,
    dryRun: options.dryRun,
    status: 'SUCCESS',
    records: 0,
    values: 0,
    counts: { new: 0, updated: 0, unchanged: 0, deleted: 0, heldBack: 0, dropped: 0 },
    issues: [],
    issuesOmitted: 0,
    unmatched: [],
    preview: [],
  };
  const issue = (i: WizardIssue) => {
    if (report.issues.length < MAX_ISSUES) report.issues.push(i);
    else report.issuesOmitted++;
  };
  // The hierarchy as stored: every unit by UID, and children by parent and normalised name.
  const existing = new Map<string, Body>();
  const byCode = new Map<string, string>();
  const children = new Map<string, string>();
  const childKey = (parent: string | undefined, name: string) => `${parent ?? ''}/${normaliseName(name)}`;
  for await (const batch of context.metadata.streamMatching('organisationUnits', [], 2_000)) {
    for (const { object } of batch) {
      const o = object as Body;
      const id = String(o.id);
      existing.set(id, o);
      if (typeof o.code === 'string') byCode.set(o.code, id);
      const parent = (o.parent as { id?: string } | undefined)?.id;
      children.set(childKey(parent, String(o.name ?? '')), id);
    }
  }
  const planned = new Map<string, Planned>();
  const plan = (id: string, object: Body, row: number, isNew: boolean) => {
    const had = planned.get(id);
    if (had) {
      had.rows.push(row);
      Object.assign(had.object, object);
    } else planned.set(id, { object, rows: [row], isNew });
  };
  const levelOf = (parent: string | undefined): number => {
    if (!parent) return 1;
    const p = planned.get(parent)?.object ?? existing.get(parent);
    return Number(p?.level ?? 1) + 1;
  };
  const matchParent = (value: string): string | undefined => {
    if (isValidUid(value) && (existing.has(value) || planned.has(value))) return value;
    const code = byCode.get(value);
    if (code) return code;
    const named = [...existing.values()].filter(
      (o) => normaliseName(String(o.name ?? '')) === normaliseName(value),
    );
    return named.length === 1 ? String(named[0].id) : undefined;
  };
  const touched = new Set<string>();
  try {
    for await (const record of openMappingSource(body, options, run.signal)) {
      report.records++;
      const { values, locator } = record;
      const fail = (field: string, message: string, value?: string) => {
        report.counts.heldBack++;
        issue({
          kind: 'error',
          row: locator.row,
          ...(locator.sheet ? { sheet: locator.sheet } : {}),
          field,
          ...(value !== undefined ? { value } : {}),
          message,
        });
      };
      const name = fieldValue(t.name, values);
      if (!name) {
        fail('name', 'no name; the record is held back');
        continue;
      }
      let parent: string | undefined;
      if (t.parent) {
        const parentText = fieldValue(t.parent.source, values);
        parent = parentText ? matchParent(parentText) : undefined;
        if (!parent) {
          fail(
            'parent',
            `parent \`${parentText ?? ''}\` matches no org unit (by UID, code or name); the record is held back`,
            parentText ?? undefined,
          );
          continue;
        }
      }
      // Each level above the unit: found under its parent, or created.
      for (const column of t.path ?? []) {
        const levelName = values[column]?.trim();
        if (!levelName) continue;
        const key = childKey(parent, levelName);
        let id = children.get(key);
        if (!id) {
          id = generateUid();
          children.set(key, id);
          plan(
            id,
            {
              id,
              name: levelName,
              shortName: levelName.slice(0, 50),
              openingDate: '1970-01-01',
              level: levelOf(parent),
              ...(parent ? { parent: { id: parent } } : {}),
            },
            locator.row,
            true,
          );
        }
        parent = id;
      }
      const code = t.code ? fieldValue(t.code, values) : null;
      const givenId = t.id ? fieldValue(t.id, values) : null;
      if (givenId !== null && !isValidUid(givenId)) {
        fail('id', `\`${givenId}\` is not a UID; the record is held back`, givenId);
        continue;
      }
      const shortName = t.shortName ? fieldValue(t.shortName, values) : null;
      const openingText = t.openingDate ? fieldValue(t.openingDate, values) : null;
      const openingDate = openingText ? parseDateText(openingText) : undefined;
      if (openingText && !openingDate) {
        fail('openingDate', `\`${openingText}\` is not a date; the record is held back`, openingText);
        continue;
      }
      const id =
        (givenId && existing.has(givenId) ? givenId : undefined) ??
        (code ? byCode.get(code) : undefined) ??
        children.get(childKey(parent, name)) ??
        givenId ??
        undefined;
      const stored = id ? existing.get(id) : undefined;
      if (stored) {
        const changes: Body = {};
        if (code && stored.code !== code) changes.code = code;
        if (shortName && stored.shortName !== shortName) changes.shortName = shortName;
        if (openingDate && String(stored.openingDate ?? '').slice(0, 10) !== openingDate)
          changes.openingDate = openingDate;
        if (String(stored.name) !== name) changes.name = name;
        if (Object.keys(changes).length === 0) {
          if (!touched.has(id!)) report.counts.unchanged++;
          touched.add(id!);
          continue;
        }
        touched.add(id!);
        plan(id!, { ...structuredClone(stored), ...changes }, locator.row, false);
        continue;
      }
      const newId = id ?? generateUid();
      children.set(childKey(parent, name), newId);
      if (code) byCode.set(code, newId);
      plan(
        newId,
        {
          id: newId,
          name,
          shortName: (shortName ?? name).slice(0, 50),
          openingDate: openingDate ?? '1970-01-01',
          level: levelOf(parent),
          ...(code ? { code } : {}),
          ...(parent ? { parent: { id: parent } } : {}),
        },
        locator.row,
        true,
      );
    }
  } catch (error) {
    if (error instanceof InputError || error instanceof SourceConfigError) {
      report.status = 'ERROR';
      report.error = error.message;
      return report;
    }
    throw error;
  }
  // Parents before children: the importer resolves a parent created in the same payload either way,
  // but a level order reads well in the preview too.
  const objects = [...planned.values()].sort((a, b) => Number(a.object.level) - Number(b.object.level));
  report.values = objects.length;
  report.preview = objects.slice(0, options.previewSize ?? 50).map((p) => ({
    row: p.rows[0],
    column: 'organisationUnit',
    dataElement: '',
    period: '',
    orgUnit: String(p.object.id),
    value: `${p.isNew ? 'new' : 'update'}: ${String(p.object.name)}${p.object.parent ? ` under ${String((p.object.parent as { id: string }).id)}` : ''}`,
  }));
  if (objects.length === 0) return finish(report);
  const payload = objects.map((p) => {
    const { level: _level, ...object } = p.object;
    return object;
  });
  const result = await importMetadataObjects(
    context,
    { organisationUnits: payload },
    {
      importMode: options.dryRun ? 'VALIDATE' : 'COMMIT',
      importStrategy: 'CREATE_AND_UPDATE',
      atomicMode: 'NONE',
      importReportMode: 'FULL',
    },
    principal,
  );
  const stats = result.stats;
  report.counts.new = stats.created;
  report.counts.updated = stats.updated;
  if (options.dryRun && stats.created + stats.updated === 0) {
    // VALIDATE may leave the stats at zero: count what would be written.
    report.counts.new = objects.filter((p) => p.isNew).length;
    report.counts.updated = objects.length - report.counts.new;
  }
  for (const typeReport of result.typeReports)
    for (const objectReport of typeReport.objectReports) {
      const p = objects[objectReport.index];
      for (const e of objectReport.errorReports)
        issue({
          kind: 'error',
          row: p?.rows[0] ?? 0,
          field: e.errorProperty ?? 'organisationUnit',
          value: String(p?.object.name ?? ''),
          message: e.message,
          code: e.errorCode,
        });
    }
  if (result.status === 'ERROR') report.status = 'ERROR';
  return finish(report);
}

function finish(report: WizardImportReport): WizardImportReport {
  if (report.status !== 'ERROR' && (report.issues.length > 0 || report.issuesOmitted > 0))
    report.status = 'WARNING';
  return report;
}
