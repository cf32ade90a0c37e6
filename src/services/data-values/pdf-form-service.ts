import type { FerryContext } from '../ferry-context-types.ts';
import { FerryError } from '../../errors.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { parsePeriod } from '../../domain/periods/periods.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import { canDataRead, type SharingSubject } from '../../domain/access/data-sharing.ts';
import { DEFAULT_CATEGORY_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { encodePdfForm, type PdfFormRow } from '../../codecs/pdf-form/pdf-form-encoder.ts';
import { translatedField } from '../../domain/metadata-translations/translated-field.ts';

export interface DataEntryFormRequest {
  /** Data set UID (or code). */
  dataSet: string;
  orgUnit?: string;
  period?: string;
  /** The user's data view scope; undefined: no limit (operator, superuser). */
  viewOrgUnitUids?: readonly string[];
  /** The data set must be data-readable by this subject (E2010); undefined: no check. */
  sharing?: SharingSubject;
  /** Labels in this locale where the metadata has translations (`fr`, `pt_BR`); default: as stored. */
  locale?: string;
}

export interface DataEntryForm {
  fileName: string;
  bytes: Uint8Array;
}

async function findOne(
  context: FerryContext,
  collection: string,
  parameter: string,
  identifier: string,
): Promise<MetadataObject> {
  const [byUid] = await context.metadata.findBy(collection, 'uid', [identifier]);
  const found = byUid ?? (await context.metadata.findBy(collection, 'code', [identifier]))[0];
  if (!found) throw new FerryError('F1200', [parameter, identifier]);
  return found.object;
}

function refId(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

function refIds(value: unknown): string[] {
  return Array.isArray(value) ? value.map(refId).filter((id): id is string => id !== undefined) : [];
}

/**
 * The option combos of a category combo in DHIS2's order: by the position of their options in the
 * combo's categories, first category slowest.
 */
async function optionCombosOf(
  context: FerryContext,
  comboUid: string,
  cache: Map<string, Array<{ id: string; name: string }>>,
): Promise<Array<{ id: string; name: string }>> {
  const cached = cache.get(comboUid);
  if (cached) return cached;
  const combo = await context.metadata.get('categoryCombos', comboUid);
  const categories = await context.metadata.findBy('categories', 'uid', refIds(combo?.categories));
  const categoryOrder = refIds(combo?.categories).map(
    (id) => categories.find((c) => c.object.id === id)?.object,
  );
  const referrers = await context.metadata.referrers('categoryCombos', comboUid);
  const cocUids = referrers.filter((r) => r.collection === 'categoryOptionCombos').map((r) => r.uid);
  const cocs = (await context.metadata.findBy('categoryOptionCombos', 'uid', cocUids)).map((c) => c.object);
  const rank = (coc: MetadataObject): number[] => {
    const options = new Set(refIds(coc.categoryOptions));
    return categoryOrder.map((category) => {
      const list = refIds(category?.categoryOptions);
      const index = list.findIndex((id) => options.has(id));
      return index < 0 ? list.length : index;
    });
  };
  const sorted = cocs
    .map((coc) => ({ coc, rank: rank(coc) }))
    .sort((a, b) => {
      for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
      return String(a.coc.name).localeCompare(String(b.coc.name));
    })
    .map(({ coc }) => ({
      id: coc.id,
      name: comboUid === DEFAULT_CATEGORY_COMBO_UID ? '' : String(coc.name ?? coc.id),
    }));
  cache.set(comboUid, sorted);
  return sorted;
}

/**
 * A fillable PDF data entry form for a data set (DHIS2's `GET /api/dataSets/{uid}/form.pdf`), laid
 * out by its sections in sort order (one section with every element when it has none), a field per
 * data element and option combo. The org unit and period, when given, are filled in.
 */
export async function generateDataEntryForm(
  context: FerryContext,
  request: DataEntryFormRequest,
): Promise<DataEntryForm> {
  const dataSet = await findOne(context, 'dataSets', 'Data set', request.dataSet);
  // Refused as the data value export refuses it: the form shows the data set's structure for data
  // entry, which a user who may not read its data has no use for.
  if (request.sharing && !canDataRead(dataSet, request.sharing)) throw new FerryError('E2010', [dataSet.id]);
  let orgUnit: MetadataObject | undefined;
  if (request.orgUnit) {
    orgUnit = await findOne(context, 'organisationUnits', 'Organisation unit', request.orgUnit);
    const path = typeof orgUnit.path === 'string' ? orgUnit.path : `/${orgUnit.id}`;
    if (request.viewOrgUnitUids && !isInScope(path, request.viewOrgUnitUids)) {
      throw new FerryError('E2012', [orgUnit.id]);
    }
  }
  let periodIso: string | undefined;
  if (request.period) {
    const period = parsePeriod(request.period);
    if (!period) throw new FerryError('F1000', ['period', request.period, 'an ISO period such as 202401']);
    if (period.type !== dataSet.periodType) {
      throw new FerryError('F1000', ['period', request.period, `a ${String(dataSet.periodType)} period`]);
    }
    periodIso = period.iso;
  }

  const elementCombos = new Map<string, string | undefined>();
  for (const dse of Array.isArray(dataSet.dataSetElements) ? dataSet.dataSetElements : []) {
    const id = refId((dse as Record<string, unknown>).dataElement);
    if (id) elementCombos.set(id, refId((dse as Record<string, unknown>).categoryCombo));
  }
  const elements = new Map(
    (await context.metadata.findBy('dataElements', 'uid', [...elementCombos.keys()])).map((e) => [
      e.object.id,
      e.object,
    ]),
  );
  const sectionUids = (await context.metadata.referrers('dataSets', dataSet.id))
    .filter((r) => r.collection === 'sections' && r.property === 'dataSet')
    .map((r) => r.uid);
  const locale = request.locale;
  const sections = (await context.metadata.findBy('sections', 'uid', sectionUids))
    .map((s) => s.object)
    .sort(
      (a, b) =>
        Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0) || String(a.name).localeCompare(String(b.name)),
    );
  const layout: Array<{ name: string; elementUids: string[] }> = sections.map((s) => ({
    name: (locale && translatedField(s, 'name', locale)) || String(s.displayName ?? s.name ?? s.id),
    elementUids: refIds(s.dataElements).filter((id) => elementCombos.has(id)),
  }));
  const placed = new Set(layout.flatMap((s) => s.elementUids));
  const rest = [...elementCombos.keys()]
    .filter((id) => !placed.has(id) && elements.has(id))
    .sort((a, b) => String(elements.get(a)!.name).localeCompare(String(elements.get(b)!.name)));
  if (rest.length > 0)
    layout.push({
      name: sections.length > 0 ? 'Other' : translatedField(dataSet, 'name', locale) || String(dataSet.name),
      elementUids: rest,
    });

  const comboCache = new Map<string, Array<{ id: string; name: string }>>();
  const model = {
    title:
      (locale && translatedField(dataSet, 'name', locale)) ||
      String(dataSet.displayName ?? dataSet.name ?? dataSet.id),
    dataSetId: dataSet.id,
    orgUnitId: orgUnit?.id,
    orgUnitLabel: orgUnit ? String(orgUnit.name ?? '') : undefined,
    periodId: periodIso,
    periodLabel: periodIso,
    sections: [] as Array<{ name: string; rows: PdfFormRow[] }>,
  };
  for (const section of layout) {
    const rows: PdfFormRow[] = [];
    for (const uid of section.elementUids) {
      const element = elements.get(uid);
      if (!element) continue;
      const comboUid = elementCombos.get(uid) ?? refId(element.categoryCombo) ?? DEFAULT_CATEGORY_COMBO_UID;
      const combos = await optionCombosOf(context, comboUid, comboCache);
      rows.push({
        dataElementId: uid,
        label:
          (locale &&
            (translatedField(element, 'formName', locale) || translatedField(element, 'name', locale))) ||
          String(element.formName ?? element.displayName ?? element.name ?? uid),
        valueType: String(element.valueType ?? 'TEXT'),
        fields: combos.map((c) => ({ optionComboId: c.id, label: c.name })),
      });
    }
    model.sections.push({ name: section.name, rows });
  }
  const bytes = await encodePdfForm(model);
  const fileName = ['dataSet', dataSet.id, orgUnit?.id, periodIso].filter(Boolean).join('_') + '.pdf';
  return { fileName, bytes };
}
