import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { hasAuthority, isAuthority } from '../../../domain/access/authorities.ts';

const ids = (uids: readonly string[]) => uids.map((id) => ({ id }));

/** DHIS2's `/api/me`: the signed-in user, its authorities and org unit scope. */
export async function registerMeRoutes(app: FastifyInstance, _context: FerryContext): Promise<void> {
  app.get('/api/me', async (request) => {
    const principal = requirePrincipal(request);
    const user = principal.user;
    return {
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
      userRoles: Array.isArray(user.userRoles) ? user.userRoles : [],
      userGroups: Array.isArray(user.userGroups) ? user.userGroups : [],
      organisationUnits: ids(principal.captureOrgUnits),
      // The effective view scope: DHIS2 lists only explicitly assigned units here (see docs/api.md).
      dataViewOrganisationUnits: ids(principal.viewOrgUnits),
    };
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
