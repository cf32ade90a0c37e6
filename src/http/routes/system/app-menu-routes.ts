import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Ferry's logo for DHIS2's header bar (`<img src=".../api/staticContent/logo_banner">`): a small
 * SVG, so no binary asset. DHIS2 serves an uploaded image or redirects to its default one.
 */
const LOGO_BANNER = `<svg xmlns="http://www.w3.org/2000/svg" width="144" height="48" viewBox="0 0 144 48" role="img" aria-label="Ferry">
<rect width="144" height="48" fill="#2c6693"/>
<path d="M10 30h36l-5 8H15z" fill="#ffffff"/>
<path d="M22 12h10v14H22z" fill="#ffffff"/>
<path d="M32 14l10 10H32z" fill="#c2e0f4"/>
<text x="54" y="32" font-family="Roboto, Arial, sans-serif" font-size="20" font-weight="bold" fill="#ffffff">Ferry</text>
</svg>
`;

function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * What DHIS2's header bar fetches besides the API proper: the apps menu
 * (`/dhis-web-commons/menu/getModules.action`) and the banner logo.
 */
export async function registerAppMenuRoutes(app: FastifyInstance): Promise<void> {
  // The apps menu: Ferry's own web app, the only app Ferry serves. Outside `/api`, so not behind
  // the sign-in check (DHIS2 asks for one); it lists nothing but that app, the same for everyone.
  app.get('/dhis-web-commons/menu/getModules.action', async (request) => {
    const base = baseUrlOf(request);
    return {
      modules: [
        {
          name: 'ferry',
          namespace: 'ferry',
          defaultAction: `${base}/`,
          displayName: 'Ferry',
          icon: `${base}/api/staticContent/logo_banner`,
          description: 'Import and export DHIS2 metadata and data',
        },
      ],
    };
  });

  // Public in DHIS2 too: the sign-in page shows it before anyone is signed in.
  app.get('/api/staticContent/logo_banner', { config: { public: true } }, async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=3600').send(LOGO_BANNER),
  );
}
