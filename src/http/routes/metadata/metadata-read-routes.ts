import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import { referenceIds, type Principal } from '../../../domain/access/principal.ts';
import type { MetadataListRequest } from '../../../services/metadata/metadata-query-service.ts';

interface ReadQuery {
  fields?: string | string[];
  filter?: string | string[];
  paging?: string;
  page?: string;
  pageSize?: string;
  level?: string;
  maxLevel?: string;
  userOnly?: string;
  userDataViewOnly?: string;
  withinUserHierarchy?: string;
  withinUserSearchHierarchy?: string;
}

/** `/api/dataElements.json` is `/api/dataElements`: DHIS2 clients often add the suffix. */
function stripJsonSuffix(segment: string): string {
  return segment.endsWith('.json') ? segment.slice(0, -'.json'.length) : segment;
}

function integerParameter(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new FerryError('F1000', [name, value, 'a positive integer']);
  return Number(value);
}

/** An org unit level: 1 is a root, so 0 is refused rather than matching nothing. */
function levelParameter(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new FerryError('F1000', [name, String(value), 'an integer from 1']);
  return Number(value);
}

/** DHIS2's org unit list parameters; read for `organisationUnits` only, as DHIS2 does. */
function orgUnitListRequest(query: ReadQuery, principal: Principal): MetadataListRequest['orgUnits'] {
  return {
    parameters: {
      level: levelParameter('level', query.level),
      maxLevel: levelParameter('maxLevel', query.maxLevel),
      userOnly: parseBooleanParameter('userOnly', query.userOnly),
      userDataViewOnly: parseBooleanParameter('userDataViewOnly', query.userDataViewOnly),
      withinUserHierarchy: parseBooleanParameter('withinUserHierarchy', query.withinUserHierarchy),
      withinUserSearchHierarchy: parseBooleanParameter(
        'withinUserSearchHierarchy',
        query.withinUserSearchHierarchy,
      ),
    },
    user: {
      capture: principal.captureOrgUnits,
      dataView: referenceIds(principal.user.dataViewOrganisationUnits),
      search: referenceIds(principal.user.teiSearchOrganisationUnits),
    },
  };
}

/** Repeated `fields=` parameters are one list, as in DHIS2. */
function joinFields(fields: string | string[] | undefined): string | undefined {
  return Array.isArray(fields) ? fields.join(',') : fields;
}

/**
 * DHIS2's metadata read endpoints for every collection in the schema registry that has one:
 * `GET /api/{collection}` (with `fields`, `filter`, `paging`, `page`, `pageSize` and the `pager`
 * envelope; `organisationUnits` also takes DHIS2's `level`, `maxLevel`, `userOnly`,
 * `userDataViewOnly`, `withinUserHierarchy` and `withinUserSearchHierarchy`) and
 * `GET /api/{collection}/{uid}`. Any signed-in user may read metadata, as in DHIS2;
 * routes with a fixed path (`/api/metadata`, `/api/schemas`, ...) win over these parametric ones.
 */
export async function registerMetadataReadRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get<{ Params: { collection: string }; Querystring: ReadQuery }>('/api/:collection', async (request) => {
    const principal = requirePrincipal(request);
    const collection = stripJsonSuffix(request.params.collection);
    if (!context.metadataQuery.readableSchema(collection)) throw new FerryError('F1201', [request.url]);
    const query = request.query;
    const filters =
      query.filter === undefined ? [] : Array.isArray(query.filter) ? query.filter : [query.filter];
    const result = await context.metadataQuery.list(collection, {
      fields: joinFields(query.fields),
      filters,
      paging: parseBooleanParameter('paging', query.paging, true),
      page: integerParameter('page', query.page),
      pageSize: integerParameter('pageSize', query.pageSize),
      ...(collection === 'organisationUnits' ? { orgUnits: orgUnitListRequest(query, principal) } : {}),
    });
    return result.pager
      ? { pager: result.pager, [collection]: result.objects }
      : { [collection]: result.objects };
  });

  app.get<{ Params: { collection: string; uid: string }; Querystring: ReadQuery }>(
    '/api/:collection/:uid',
    async (request) => {
      requirePrincipal(request);
      const collection = request.params.collection;
      if (!context.metadataQuery.readableSchema(collection)) throw new FerryError('F1201', [request.url]);
      return context.metadataQuery.get(
        collection,
        stripJsonSuffix(request.params.uid),
        joinFields(request.query.fields),
      );
    },
  );
}
