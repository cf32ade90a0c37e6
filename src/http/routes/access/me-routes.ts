import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { hasAuthority, isAuthority } from '../../../domain/access/authorities.ts';
import { sharingSubjectOf, type Principal } from '../../../domain/access/principal.ts';
import { canDataRead } from '../../../domain/access/data-sharing.ts';
import { parseFieldSelection } from '../../../domain/metadata-query/field-selection.ts';
import { asFerryError, MetadataProjector } from '../../../services/metadata/metadata-projection.ts';
import { SettingsService } from '../../../services/settings/settings-service.ts';

const ids = (uids: readonly string[]) => uids.map((id) => ({ id }));

/** Repeated `fields=` parameters are one list, as in DHIS2 and the metadata reads. */
function joinFields(fields: string | string[] | undefined): string | undefined {
  return Array.isArray(fields) ? fields.join(',') : fields;
}

/**
 * DHIS2's `/api/me`: the signed-in user, its authorities, org unit scope and settings, in the
 * shape DHIS2's header bar and app platform read. `fields=` selects as on the metadata reads (the
 * same parser and projector: nested selections such as `userGroups[id,name]` expand references);
 * without it, every field.
 */
export async function registerMeRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const settings = new SettingsService(context.storage);
  const projector = new MetadataProjector(context.metadata, context.registry);

  /** UIDs of the objects of `collection` whose sharing lets the user read data (DHIS2's lists). */
  const readableUids = async (principal: Principal, collection: string): Promise<string[]> => {
    if (!context.registry.byCollection(collection)) return [];
    const subject = sharingSubjectOf(principal);
    const { objects } = await context.metadata.list(collection);
    return objects.filter((o) => canDataRead(o, subject)).map((o) => o.id);
  };

  app.get<{ Querystring: { fields?: string | string[] } }>('/api/me', async (request) => {
    const principal = requirePrincipal(request);
    const fields = joinFields(request.query.fields);
    // Parsed first: a bad `fields=` is 400 before any work.
    const selection = fields ? asFerryError(() => parseFieldSelection(fields)) : undefined;
    const wants = (name: string): boolean =>
      !selection || selection.all || (selection.fields.has(name) && !selection.excluded.has(name));
    const user = principal.user;
    const userRoles = Array.isArray(user.userRoles) ? user.userRoles : [];
    const me: Record<string, unknown> = {
      id: user.id,
      username: principal.username,
      firstName: user.firstName,
      surname: user.surname,
      name: user.name,
      displayName: user.name ?? `${String(user.firstName ?? '')} ${String(user.surname ?? '')}`.trim(),
      ...(user.email !== undefined ? { email: user.email } : {}),
      created: user.created,
      lastUpdated: user.lastUpdated,
      ...(user.passwordLastUpdated !== undefined ? { passwordLastUpdated: user.passwordLastUpdated } : {}),
      authorities: [...principal.authorities].sort(),
      userRoles,
      userGroups: ids(principal.userGroupUids),
      organisationUnits: ids(principal.captureOrgUnits),
      // The effective view scope: DHIS2 lists only explicitly assigned units here (see docs/api.md).
      dataViewOrganisationUnits: ids(principal.viewOrgUnits),
      teiSearchOrganisationUnits: [],
      // What the user may do with their own user object, as DHIS2 answers it for oneself.
      access: { manage: false, externalize: false, write: true, read: true, update: true, delete: false },
      // DHIS2 2.36's nesting, still read by older clients.
      userCredentials: {
        id: user.id,
        username: principal.username,
        userRoles,
        disabled: user.disabled === true,
        externalAuth: false,
        twoFA: false,
        ...(user.passwordLastUpdated !== undefined ? { passwordLastUpdated: user.passwordLastUpdated } : {}),
      },
    };
    // Queried only when asked for: every app's header bar asks for `settings`, few for the rest.
    if (wants('settings')) me.settings = await settings.userSettings(principal.uid);
    if (wants('dataSets')) me.dataSets = await readableUids(principal, 'dataSets');
    if (wants('programs')) me.programs = await readableUids(principal, 'programs');
    if (!selection) return me;
    const [projected] = await projector.project('users', [me], selection);
    return projected;
  });

  // The header bar's counters. Ferry has no interpretations or messages.
  app.get('/api/me/dashboard', async (request) => {
    requirePrincipal(request);
    return { unreadInterpretations: 0, unreadMessageConversations: 0 };
  });

  app.get('/api/me/authorization', async (request) => [...requirePrincipal(request).authorities].sort());

  app.get<{ Params: { authority: string } }>('/api/me/authorization/:authority', async (request) => {
    const principal = requirePrincipal(request);
    const authority = request.params.authority;
    return isAuthority(authority)
      ? hasAuthority(principal.authorities, authority)
      : principal.authorities.has(authority);
  });
}
