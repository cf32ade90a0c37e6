import type { FastifyInstance } from 'fastify';

/**
 * Every route an app serves, as `METHOD /path` (Fastify's `:param` written `{param}`, as DHIS2's
 * documentation writes it), sorted, from the router's own tree (`printRoutes`), so a list made from
 * it cannot miss a route that was registered. HEAD twins of GET routes are left out.
 */
export function servedRoutes(app: FastifyInstance): string[] {
  const lines = app.printRoutes({ commonPrefix: false }).split('\n');
  const stack: string[] = [];
  const out = new Set<string>();
  for (const line of lines) {
    const match = /^([\s│]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2];
    stack[depth] = path;
    if (!match[3]) continue;
    for (const method of match[3].split(', ')) {
      if (method === 'HEAD') continue;
      out.add(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  // The root node prints as `└── / (GET, HEAD)` at depth 0 and its children continue it: `/api/...`.
  return [...out].map((route) => route.replace(/ \/\/+/, ' /')).sort();
}

/**
 * The same list with compressed twins folded: `GET /api/metadata.json`, `.json.gz` and `.json.zip`
 * as one line `GET /api/metadata.json[.gz|.zip]`.
 */
export function foldCompressedRoutes(routes: readonly string[]): string[] {
  const all = new Set(routes);
  const out: string[] = [];
  for (const route of routes) {
    if (/\.(gz|zip)$/.test(route) && all.has(route.replace(/\.(gz|zip)$/, ''))) continue;
    const gz = all.has(`${route}.gz`);
    const zip = all.has(`${route}.zip`);
    out.push(gz && zip ? `${route}[.gz|.zip]` : gz ? `${route}[.gz]` : zip ? `${route}[.zip]` : route);
  }
  return out;
}
