import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import { FerryError, type ErrorCode } from '../../errors.ts';
import { openInput } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { decodeGmlFeatures, type GeometryFeature } from '../../codecs/gml/gml-decoder.ts';
import { decodeGeoJsonFeatures } from '../../codecs/geojson/geojson-decoder.ts';
import { featureTypeOf, sameGeometry } from '../../domain/geometry/geometry.ts';
import type { MetadataObject, MetadataStore } from '../../storage/metadata-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type {
  ErrorReport,
  ImportReport,
  ImportStatus,
  ObjectReport,
} from '../../domain/metadata-import/import-report.ts';

export const ORG_UNIT_KLASS = 'org.hisp.dhis.organisationunit.OrganisationUnit';
export const ORG_UNIT_PROPERTIES = ['id', 'code', 'name'] as const;
export type OrgUnitProperty = (typeof ORG_UNIT_PROPERTIES)[number];

export interface GeometryImportInput {
  /** A file on disk (an upload spooled by the route, or the CLI's FILE); gzip and zip are unwrapped. */
  path: string;
  /** How errors name the file. */
  fileName: string;
}

export interface GeoJsonImportOptions {
  dryRun: boolean;
  /** DHIS2's `geoJsonId` (default true): the feature's `id` identifies the org unit. */
  geoJsonId: boolean;
  /** DHIS2's `geoJsonProperty`: the feature property identifying the org unit when `geoJsonId` is false. */
  geoJsonProperty?: string;
  /** DHIS2's `orgUnitProperty`: what the identifier is matched against. */
  orgUnitProperty: OrgUnitProperty;
  /** DHIS2's `attributeId`: store each geometry in this GEOJSON org unit attribute instead. */
  attributeId?: string;
}

/** How a job runs an import: cancellation, progress, and its lease check inside the transaction. */
export interface GeometryImportRun {
  signal?: AbortSignal;
  progress?: (progress: { stage: string; processed: number }) => void;
  beforeCommit?: (tx: SqlExecutor) => Promise<void>;
}

/** A feature with the identifier candidates to try, in order (GML: uid, then code, then name). */
interface PendingFeature extends GeometryFeature {
  candidates: { column: 'uid' | 'code' | 'name'; value: string }[];
}

/**
 * `POST /api/metadata/gml` (DHIS2 §5): sets the geometry of existing org units from the features of
 * a GML 2 or 3 file, matched by a uid, code or name element (uid before code before name, a uid
 * only when such an org unit exists). Never creates org units and changes nothing but `geometry`
 * and `featureType`. `principal` undefined means the local operator (CLI).
 */
export async function importGml(
  context: FerryContext,
  input: GeometryImportInput,
  options: { dryRun: boolean },
  principal?: Principal,
  run: GeometryImportRun = {},
): Promise<ImportReport> {
  requireImportAuthority(principal);
  return runImport(context, input, options.dryRun, run, async function* (text) {
    for await (const batch of decodeGmlFeatures(text, input.fileName)) {
      yield batch.map((feature) => ({
        ...feature,
        candidates: (['uid', 'code', 'name'] as const)
          .filter((key) => feature.identifiers[key] !== undefined)
          .map((key) => ({ column: key, value: feature.identifiers[key]! })),
      }));
    }
  });
}

/**
 * `POST /api/organisationUnits/geometry` (DHIS2's GeoJSON import): sets org unit geometry from a
 * FeatureCollection, each feature identified by its `id` (`geoJsonId=true`) or a property
 * (`geoJsonProperty`), matched by `orgUnitProperty` (id, code or name).
 */
export async function importGeoJson(
  context: FerryContext,
  input: GeometryImportInput,
  options: GeoJsonImportOptions,
  principal?: Principal,
  run: GeometryImportRun = {},
): Promise<ImportReport> {
  requireImportAuthority(principal);
  const column = options.orgUnitProperty === 'id' ? 'uid' : options.orgUnitProperty;
  if (options.attributeId !== undefined) {
    const refusal = await attributeRefusal(context, options.attributeId);
    if (refusal) return refusal;
  }
  const target = options.attributeId !== undefined ? { attributeId: options.attributeId } : {};
  return runImport(
    context,
    input,
    options.dryRun,
    run,
    async function* (text) {
      for await (const batch of decodeGeoJsonFeatures(text, {
        fileName: input.fileName,
        geoJsonId: options.geoJsonId,
        geoJsonProperty: options.geoJsonProperty,
      })) {
        yield batch.map((feature) => ({
          ...feature,
          identifiers: feature.key !== undefined ? { [column]: feature.key } : {},
          candidates: feature.key !== undefined ? [{ column, value: feature.key }] : [],
        }));
      }
    },
    target,
  );
}

/**
 * Why `attributeId` can't hold org unit geometry (DHIS2's E7702 unknown, E7703 not GEOJSON, E7704
 * not an org unit attribute), as a report refusing the whole import; undefined when it can.
 */
async function attributeRefusal(
  context: FerryContext,
  attributeId: string,
): Promise<ImportReport | undefined> {
  const [found] = await context.metadata.findBy('attributes', 'uid', [attributeId]);
  const attribute = found?.object;
  let refusal: { code: string; message: string; args: string[] } | undefined;
  if (!attribute) {
    refusal = {
      code: 'E7702',
      message: `GeoJSON attribute does not exist: ${attributeId}`,
      args: [attributeId],
    };
  } else if (attribute.valueType !== 'GEOJSON') {
    const valueType = String(attribute.valueType);
    refusal = {
      code: 'E7703',
      message: `GeoJSON attribute is not of type GEOJSON but: ${valueType}`,
      args: ['GEOJSON', valueType],
    };
  } else if (attribute.organisationUnitAttribute !== true) {
    refusal = {
      code: 'E7704',
      message: 'GeoJSON attribute is not applicable to organisation units',
      args: [],
    };
  }
  if (!refusal) return undefined;
  const stats = { created: 0, updated: 0, deleted: 0, ignored: 0, total: 0 };
  return {
    status: 'ERROR',
    stats: { ...stats },
    typeReports: [
      {
        klass: ORG_UNIT_KLASS,
        stats: { ...stats },
        objectReports: [
          {
            klass: ORG_UNIT_KLASS,
            index: -1,
            errorReports: [
              {
                message: refusal.message,
                mainKlass: ORG_UNIT_KLASS,
                errorCode: refusal.code as ErrorReport['errorCode'],
                errorProperty: 'attributeId',
                value: attributeId,
                args: refusal.args,
              },
            ],
          },
        ],
      },
    ],
  };
}

function requireImportAuthority(principal: Principal | undefined): void {
  if (principal && !principalHasAuthority(principal, 'F_METADATA_IMPORT')) {
    throw new FerryError('F1102', ['F_METADATA_IMPORT']);
  }
}

/** Features per look-up and write: bounded by count, since one national boundary can be megabytes. */
const BATCH_SIZE = 200;

/** Where a matched feature's geometry goes: the org unit's geometry, or one of its attributes. */
interface GeometryTarget {
  attributeId?: string;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function runImport(
  context: FerryContext,
  input: GeometryImportInput,
  dryRun: boolean,
  run: GeometryImportRun,
  features: (text: AsyncIterable<string>) => AsyncIterable<PendingFeature[]>,
  target: GeometryTarget = {},
): Promise<ImportReport> {
  const stats = { created: 0, updated: 0, deleted: 0, ignored: 0, total: 0 };
  const objectReports: ObjectReport[] = [];
  /** Org unit uid → the index of the feature that set it, to refuse a second feature for it. */
  const matchedBy = new Map<string, number>();
  try {
    // One transaction: a file that turns out malformed halfway writes nothing.
    await context.storage.transaction(async (tx) => {
      const store = context.metadata.withExecutor(tx);
      const opened = await openInput(input.path, input.fileName);
      let pending: PendingFeature[] = [];
      let processed = 0;
      const flush = async () => {
        const batch = pending;
        pending = [];
        run.signal?.throwIfAborted();
        const updates = await matchBatch(store, batch, matchedBy, stats, objectReports, target);
        if (!dryRun && updates.length > 0) await store.saveMany('organisationUnits', updates);
        processed += batch.length;
        run.progress?.({ stage: 'Importing geometry', processed });
      };
      for await (const batch of features(decodeUtf8(opened.chunks, input.fileName))) {
        for (const feature of batch) {
          pending.push(feature);
          if (pending.length >= BATCH_SIZE) await flush();
        }
      }
      await flush();
      await run.beforeCommit?.(tx);
    });
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
  stats.total = stats.created + stats.updated + stats.deleted + stats.ignored;
  const hasErrors = objectReports.length > 0;
  // ERROR only when no feature matched an org unit at all: then the file or the parameters are wrong.
  const status: ImportStatus = !hasErrors ? 'OK' : matchedBy.size > 0 ? 'WARNING' : 'ERROR';
  return {
    status,
    stats: { ...stats },
    typeReports: [{ klass: ORG_UNIT_KLASS, stats: { ...stats }, objectReports }],
  };
}

async function matchBatch(
  store: MetadataStore,
  batch: PendingFeature[],
  matchedBy: Map<string, number>,
  stats: { updated: number; ignored: number },
  objectReports: ObjectReport[],
  target: GeometryTarget,
): Promise<MetadataObject[]> {
  if (batch.length === 0) return [];
  const byColumn = { uid: new Map<string, MetadataObject[]>(), code: new Map(), name: new Map() } as Record<
    'uid' | 'code' | 'name',
    Map<string, MetadataObject[]>
  >;
  for (const column of ['uid', 'code', 'name'] as const) {
    const values = [
      ...new Set(batch.flatMap((f) => f.candidates.filter((c) => c.column === column).map((c) => c.value))),
    ];
    if (values.length === 0) continue;
    for (const { object } of await store.findBy('organisationUnits', column, values)) {
      const key = String(column === 'uid' ? object.id : object[column]);
      const list = byColumn[column].get(key);
      if (list) list.push(object);
      else byColumn[column].set(key, [object]);
    }
  }
  const updates = new Map<string, MetadataObject>();
  const now = new Date().toISOString();
  for (const feature of batch) {
    const fail = (code: ErrorCode | 'E5001', args: (string | number)[], uid?: string) => {
      stats.ignored++;
      objectReports.push(featureError(feature, code, args, uid));
    };
    if (feature.candidates.length === 0) {
      // No identifier: nothing to look up (DHIS2's E7705).
      objectReports.push(
        featureError(
          feature,
          'F1600',
          [describeFeature(feature), feature.problem ?? 'no identifier'],
          undefined,
          'id',
        ),
      );
      stats.ignored++;
      continue;
    }
    let match: MetadataObject | undefined;
    let ambiguous: { column: string; value: string; count: number } | undefined;
    for (const candidate of feature.candidates) {
      const found = byColumn[candidate.column].get(candidate.value) ?? [];
      if (found.length === 1) {
        match = found[0];
        break;
      }
      if (found.length > 1) {
        ambiguous = { ...candidate, count: found.length };
        break;
      }
    }
    if (ambiguous) {
      fail('F1602', [describeFeature(feature), ambiguous.count, ambiguous.column, ambiguous.value]);
      continue;
    }
    if (!match) {
      fail('E5001', [describeFeature(feature)]);
      continue;
    }
    // The org unit is found before its geometry is judged, as DHIS2 reports them.
    if (feature.problem !== undefined || feature.geometry === undefined) {
      fail('F1600', [describeFeature(feature), feature.problem ?? 'no geometry'], match.id);
      continue;
    }
    const earlier = matchedBy.get(match.id);
    if (earlier !== undefined) {
      fail('F1601', [describeFeature(feature), match.id, earlier + 1], match.id);
      continue;
    }
    matchedBy.set(match.id, feature.index);
    if (target.attributeId !== undefined) {
      // DHIS2's attributeId: the geometry goes to the org unit's GEOJSON attribute, as its text.
      const values = Array.isArray(match.attributeValues)
        ? (match.attributeValues as { attribute?: { id?: string }; value?: unknown }[])
        : [];
      const current = values.find((v) => v.attribute?.id === target.attributeId);
      const stored = typeof current?.value === 'string' ? safeParse(current.value) : undefined;
      if (sameGeometry(stored, feature.geometry)) {
        stats.ignored++;
        continue;
      }
      stats.updated++;
      updates.set(match.id, {
        ...match,
        attributeValues: [
          ...values.filter((v) => v.attribute?.id !== target.attributeId),
          { attribute: { id: target.attributeId }, value: JSON.stringify(feature.geometry) },
        ],
        lastUpdated: now,
      });
      continue;
    }
    if (sameGeometry(match.geometry, feature.geometry)) {
      stats.ignored++;
      continue;
    }
    stats.updated++;
    updates.set(match.id, {
      ...match,
      geometry: feature.geometry,
      featureType: featureTypeOf(feature.geometry),
      lastUpdated: now,
    });
  }
  return [...updates.values()];
}

/** `feature 3 (line 40, uid ImspTQPwCqd, code OU_1)`: enough to find it in the file. */
function describeFeature(feature: PendingFeature): string {
  const parts = [`line ${feature.line ?? '?'}`];
  for (const key of ['uid', 'code', 'name'] as const) {
    const value = feature.identifiers[key];
    if (value !== undefined) parts.push(`${key} ${JSON.stringify(value.slice(0, 100))}`);
  }
  if (parts.length === 1) parts.push('no uid, code or name');
  return `feature ${feature.index + 1} (${parts.join(', ')})`;
}

function featureError(
  feature: PendingFeature,
  code: ErrorCode | 'E5001',
  args: (string | number)[],
  uid?: string,
  property: 'id' | 'geometry' = code === 'F1600' ? 'geometry' : 'id',
): ObjectReport {
  const message =
    code === 'E5001'
      ? `No matching object for reference. Identifier was ${args[0]}, and object was OrganisationUnit.`
      : new FerryError(code, args).message;
  const identifier = feature.candidates[0]?.value;
  const report: ErrorReport = {
    message,
    mainKlass: ORG_UNIT_KLASS,
    ...(uid !== undefined ? { mainId: uid } : {}),
    errorCode: code,
    errorProperty: property,
    ...(identifier !== undefined ? { value: identifier } : {}),
    args: args.map(String),
  };
  return {
    klass: ORG_UNIT_KLASS,
    index: feature.index,
    ...(uid !== undefined ? { uid } : {}),
    errorReports: [report],
  };
}
