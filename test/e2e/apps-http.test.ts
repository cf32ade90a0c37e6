import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { APP_CONTENT_SECURITY_POLICY } from '../../src/http/routes/apps/app-routes.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { corsAllowlistFrom } from '../../src/config.ts';

interface ZipFile {
  name: string;
  data?: Buffer;
  /** Deflate the data (the default stores it). */
  deflate?: boolean;
  /** The uncompressed size the headers claim; the real one unless a test lies. */
  declaredSize?: number;
  /** Unix mode for the external attributes (0o120777 makes a symbolic link). */
  mode?: number;
}

/**
 * A zip written byte by byte, so a test can make what a zip library refuses to: `..` and absolute
 * names, symbolic links, sizes that lie.
 */
function buildZip(files: ZipFile[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const data = file.data ?? Buffer.alloc(0);
    const body = file.deflate ? deflateRawSync(data) : data;
    const name = Buffer.from(file.name, 'utf8');
    const size = file.declaredSize ?? data.length;
    const crc = crc32(data);
    const method = file.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = file.mode ?? (file.name.endsWith('/') ? 0o040755 : 0o100644);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const INDEX_HTML =
  '<!DOCTYPE html><html><head><meta name="dhis2-base-url" content="__DHIS2_BASE_URL__" />' +
  '<script type="module" src="./assets/app.js"></script></head><body>Hello app</body></html>';

function manifest(fields: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      appType: 'APP',
      short_name: 'test-app',
      name: 'Test App',
      version: '1.2.3',
      launch_path: 'index.html',
      activities: { dhis: { href: '*' } },
      ...fields,
    }),
  );
}

function appZip(extra: ZipFile[] = [], manifestFields: Record<string, unknown> = {}): Buffer {
  return buildZip([
    { name: 'manifest.webapp', data: manifest(manifestFields) },
    { name: 'index.html', data: Buffer.from(INDEX_HTML), deflate: true },
    { name: 'assets/', mode: 0o040755 },
    { name: 'assets/app.js', data: Buffer.from('console.log("app");\n') },
    { name: 'assets/style.css', data: Buffer.from('body{margin:0}\n') },
    ...extra,
  ]);
}

describe('apps hosted by Ferry over HTTP (sqlite)', () => {
  let started: TestApp | undefined;
  let app: FastifyInstance;
  let appsRoot: string;
  let uploadsRoot: string;

  const upload = (body: Buffer, auth = ADMIN_AUTH, type = 'application/zip') =>
    app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { authorization: auth, 'content-type': type, 'x-file-name': 'app.zip' },
      payload: body,
    });
  const visibleApps = async () => (await readdir(appsRoot).catch(() => [] as string[])).sort();

  before(async () => {
    started = await startTestApp('sqlite', {
      setup: async (context) => {
        await context.metadata.save('userRoles', [
          { id: 'appMgrRole1', name: 'App manager', authorities: ['M_dhis-web-app-management'] },
          { id: 'plainRole01', name: 'Plain', authorities: ['F_METADATA_EXPORT'] },
        ]);
        await context.users.createUser({
          id: 'appManager1',
          username: 'app.manager',
          password: 'manager-password',
          firstName: 'App',
          surname: 'Manager',
          roles: ['appMgrRole1'],
          orgUnits: [],
        });
        await context.users.createUser({
          id: 'plainUser01',
          username: 'plain.user',
          password: 'plain-password',
          firstName: 'Plain',
          surname: 'User',
          roles: ['plainRole01'],
          orgUnits: [],
        });
      },
    });
    app = started.app;
    appsRoot = join(started.context.config.dataDir, 'apps');
    uploadsRoot = join(started.context.config.dataDir, 'uploads');
    await app.ready();
  });
  after(() => stopTestApp(started));

  it('installs an app zip, lists it as DHIS2 does and serves it at both URLs', async () => {
    const installed = await upload(appZip());
    assert.equal(installed.statusCode, 201, installed.body);
    assert.equal(installed.headers.location, '/api/apps/test-app');
    assert.deepEqual(await visibleApps(), ['test-app']);

    const list = await app.inject({
      method: 'GET',
      url: '/api/41/apps',
      headers: { authorization: ADMIN_AUTH },
    });
    assert.equal(list.statusCode, 200);
    const [item, ...others] = list.json<Record<string, unknown>[]>();
    assert.equal(others.length, 0);
    assert.equal(item.key, 'test-app');
    assert.equal(item.name, 'Test App');
    assert.equal(item.version, '1.2.3');
    assert.equal(item.appType, 'APP');
    assert.equal(item.baseUrl, 'http://localhost:80/api/apps/test-app');
    assert.equal(item.launchUrl, 'http://localhost:80/api/apps/test-app/index.html');
    assert.deepEqual(item.activities, { dhis: { href: 'http://localhost:80' } });

    for (const base of ['/api/apps/test-app', '/dhis-web-test-app']) {
      const redirect = await app.inject({ method: 'GET', url: base });
      assert.equal(redirect.statusCode, 302, `${base}: ${redirect.body}`);
      assert.equal(redirect.headers.location, `${base}/`);

      const index = await app.inject({ method: 'GET', url: `${base}/` });
      assert.equal(index.statusCode, 200, index.body);
      assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(index.headers['x-content-type-options'], 'nosniff');
      assert.equal(index.headers['content-security-policy'], APP_CONTENT_SECURITY_POLICY);
      // The platform's placeholder holds Ferry's address, as DHIS2 fills it in.
      assert.match(index.body, /<meta name="dhis2-base-url" content="http:\/\/localhost:80" \/>/);
      assert.match(index.body, /Hello app/);

      const script = await app.inject({ method: 'GET', url: `${base}/assets/app.js` });
      assert.equal(script.statusCode, 200);
      assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(script.body, 'console.log("app");\n');
      const style = await app.inject({ method: 'GET', url: `${base}/assets/style.css` });
      assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');

      const webapp = await app.inject({ method: 'GET', url: `${base}/manifest.webapp` });
      assert.equal(webapp.statusCode, 200);
      assert.equal(
        webapp.json<{ activities: { dhis: { href: string } } }>().activities.dhis.href,
        'http://localhost:80',
      );

      for (const bad of [
        '/assets/missing.js',
        '/../manifest.webapp',
        '/%2e%2e/%2e%2e/ferry.db',
        '/assets%2f..%2fapp.js',
      ]) {
        const missing = await app.inject({ method: 'GET', url: `${base}${bad}` });
        // 404, or 401 where the router finds no route at all under /api (nothing public matched).
        assert.ok([401, 404].includes(missing.statusCode), `${base}${bad}: ${missing.statusCode}`);
      }
    }
    // The versioned path works as DHIS2's clients send it.
    const versioned = await app.inject({ method: 'GET', url: '/api/41/apps/test-app/assets/app.js' });
    assert.equal(versioned.statusCode, 200);
  });

  it('replaces an app installed again and uninstalls it with DELETE', async () => {
    const again = await upload(appZip([], { version: '1.2.4' }));
    assert.equal(again.statusCode, 200, again.body);
    const list = await app.inject({
      method: 'GET',
      url: '/api/apps',
      headers: { authorization: ADMIN_AUTH },
    });
    assert.deepEqual(
      list.json<{ version: string }[]>().map((item) => item.version),
      ['1.2.4'],
    );
    assert.deepEqual(await visibleApps(), ['test-app']);

    const deleted = await app.inject({
      method: 'DELETE',
      url: '/api/apps/test-app',
      headers: { authorization: ADMIN_AUTH },
    });
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.deepEqual(await visibleApps(), []);
    const gone = await app.inject({ method: 'GET', url: '/api/apps/test-app/' });
    assert.equal(gone.statusCode, 404);
    const again404 = await app.inject({
      method: 'DELETE',
      url: '/api/apps/test-app',
      headers: { authorization: ADMIN_AUTH },
    });
    assert.equal(again404.statusCode, 404);
  });

  it('refuses hostile or broken zips with F1800 and writes nothing', async () => {
    const zeros = Buffer.alloc(65 * 1024 ** 2 + 1);
    const cases: [string, Buffer, RegExp][] = [
      ['a .. name', appZip([{ name: '../escaped.js', data: Buffer.from('x') }]), /\.\.|relative|invalid/i],
      [
        'a nested .. name',
        appZip([{ name: 'assets/../../escaped.js', data: Buffer.from('x') }]),
        /\.\.|relative|invalid/i,
      ],
      ['an absolute name', appZip([{ name: '/tmp/escaped.js', data: Buffer.from('x') }]), /absolute/i],
      [
        'a backslash name',
        appZip([{ name: '..\\escaped.js', data: Buffer.from('x') }]),
        /backslash|malformed|invalid/i,
      ],
      [
        'a symbolic link',
        appZip([{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]),
        /symbolic link/,
      ],
      [
        'a zip bomb (honest sizes)',
        appZip([{ name: 'bomb.js', data: zeros, deflate: true }]),
        /expands to more than/,
      ],
      [
        'a zip bomb (lying sizes)',
        appZip([{ name: 'bomb.js', data: zeros, deflate: true, declaredSize: 10 }]),
        /corrupt|too many bytes/i,
      ],
      [
        'too many entries',
        appZip(Array.from({ length: 10_000 }, (_, i) => ({ name: `f/${i}.txt`, data: Buffer.from('x') }))),
        /entries; at most 10000/,
      ],
      [
        'no manifest',
        buildZip([{ name: 'index.html', data: Buffer.from(INDEX_HTML) }]),
        /no manifest\.webapp/,
      ],
      ['a manifest without a version', appZip([], { version: undefined }), /has no 'version'/],
      [
        'a manifest that is not JSON',
        buildZip([{ name: 'manifest.webapp', data: Buffer.from('{nope') }]),
        /not JSON/,
      ],
      [
        'no launch page',
        buildZip([{ name: 'manifest.webapp', data: manifest() }]),
        /launch page 'index\.html'/,
      ],
      ['not a zip', Buffer.from('just text, no archive'), /not a readable zip/],
      ['a duplicate entry', appZip([{ name: 'INDEX.html', data: Buffer.from('x') }]), /appears twice/],
    ];
    for (const [label, body, reason] of cases) {
      const response = await upload(body);
      assert.equal(response.statusCode, 409, `${label}: ${response.body}`);
      const message = response.json<{ errorCode: string; message: string }>();
      assert.equal(message.errorCode, 'F1800', label);
      assert.match(message.message, /^App `app\.zip` is refused: /, label);
      assert.match(message.message, reason, `${label}: ${message.message}`);
      assert.deepEqual(await visibleApps(), [], `${label} left something under apps/`);
      assert.deepEqual(await readdir(uploadsRoot).catch(() => []), [], `${label} left its upload`);
    }
    const badType = await upload(appZip(), ADMIN_AUTH, 'text/csv');
    assert.equal(badType.statusCode, 415);
  });

  it('installs from a multipart form as DHIS2 app tools send it (the form field `file`)', async () => {
    const boundary = 'ferryTestBoundary42';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="my-app.zip"\r\n`),
      Buffer.from('Content-Type: application/zip\r\n\r\n'),
      appZip([], { version: '2.0.0' }),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const installed = await upload(body, ADMIN_AUTH, `multipart/form-data; boundary=${boundary}`);
    assert.equal(installed.statusCode, 201, installed.body);
    const script = await app.inject({ method: 'GET', url: '/api/apps/test-app/assets/app.js' });
    assert.equal(script.body, 'console.log("app");\n');
    // The part's own file name names the upload in a refusal.
    const broken = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="../evil.zip"\r\n\r\n`,
      ),
      buildZip([{ name: 'index.html', data: Buffer.from(INDEX_HTML) }]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const refused = await upload(broken, ADMIN_AUTH, `multipart/form-data; boundary=${boundary}`);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.match(
      refused.json<{ message: string }>().message,
      /^App `evil\.zip` is refused: the zip archive has no manifest/,
    );
    const noFile = await upload(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n--${boundary}--\r\n`,
      ),
      ADMIN_AUTH,
      `multipart/form-data; boundary=${boundary}`,
    );
    assert.equal(noFile.statusCode, 400, noFile.body);
    assert.match(noFile.json<{ message: string }>().message, /no `file` part/);
    assert.equal(
      (
        await app.inject({
          method: 'DELETE',
          url: '/api/apps/test-app',
          headers: { authorization: ADMIN_AUTH },
        })
      ).statusCode,
      204,
    );
    assert.deepEqual(await visibleApps(), []);
    assert.deepEqual(await readdir(uploadsRoot).catch(() => []), []);
  });

  it('needs M_dhis-web-app-management or ALL to install and uninstall, a session to list', async () => {
    const plain = basicAuth('plain.user', 'plain-password');
    const denied = await upload(appZip(), plain);
    assert.equal(denied.statusCode, 403, denied.body);
    assert.equal(denied.json<{ errorCode: string }>().errorCode, 'F1102');
    assert.deepEqual(await visibleApps(), []);

    const manager = basicAuth('app.manager', 'manager-password');
    assert.equal((await upload(appZip(), manager)).statusCode, 201);
    const plainDelete = await app.inject({
      method: 'DELETE',
      url: '/api/apps/test-app',
      headers: { authorization: plain },
    });
    assert.equal(plainDelete.statusCode, 403);
    const plainList = await app.inject({
      method: 'GET',
      url: '/api/apps',
      headers: { authorization: plain },
    });
    assert.equal(plainList.statusCode, 200);
    assert.equal(plainList.json<unknown[]>().length, 1);
    const anonymousList = await app.inject({ method: 'GET', url: '/api/apps' });
    assert.equal(anonymousList.statusCode, 401);
    const anonymousInstall = await upload(appZip(), '');
    assert.equal(anonymousInstall.statusCode, 401);
    const managerDelete = await app.inject({
      method: 'DELETE',
      url: '/api/apps/test-app',
      headers: { authorization: manager },
    });
    assert.equal(managerDelete.statusCode, 204);
    assert.deepEqual(await visibleApps(), []);
  });
});

describe("the Import/Export app's own requests (sqlite)", () => {
  let started: TestApp | undefined;
  before(async () => {
    started = await startTestApp('sqlite');
  });
  after(() => stopTestApp(started));

  it('lists schemas with displayName and metadata as its metadata export reads them', async () => {
    // The app asks /api/schemas?fields=metadata,collectionName,displayName,klass, keeps the ones
    // with `metadata` and labels each checkbox with `displayName` (empty labels before).
    const response = await started!.app.inject({
      url: '/api/42/schemas?fields=metadata,collectionName,displayName,klass',
      headers: { authorization: ADMIN_AUTH },
    });
    assert.equal(response.statusCode, 200);
    const schemas = response.json<{
      schemas: { collectionName: string; displayName: string; metadata: boolean; klass: string }[];
    }>().schemas;
    const byCollection = new Map(schemas.map((schema) => [schema.collectionName, schema]));
    assert.equal(byCollection.get('dataElements')?.displayName, 'Data Element');
    assert.equal(byCollection.get('organisationUnits')?.displayName, 'Organisation Unit');
    assert.equal(byCollection.get('categoryOptionCombos')?.displayName, 'Category Option Combo');
    assert.equal(byCollection.get('dataElements')?.metadata, true);
    assert.equal(byCollection.get('attributeValues')?.metadata, false);
    assert.ok(schemas.every((schema) => schema.displayName !== ''));
  });
});

describe('CORS for listed origins (sqlite)', () => {
  let started: TestApp | undefined;
  let app: FastifyInstance | undefined;
  const listed = 'https://apps.example.org';
  before(async () => {
    started = await startTestApp('sqlite');
    const config = {
      ...started.context.config,
      corsAllowlist: corsAllowlistFrom(`${listed}, http://localhost:3000`),
    };
    app = await buildApp({ ...started.context, config });
  });
  after(async () => {
    await app?.close();
    await stopTestApp(started);
  });

  it('answers a listed origin with credentials allowed and refuses any other', async () => {
    const preflight = await app!.inject({
      method: 'OPTIONS',
      url: '/api/apps',
      headers: { origin: listed, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], listed);
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
    assert.match(String(preflight.headers['access-control-allow-methods']), /DELETE/);

    const read = await app!.inject({
      url: '/api/me',
      headers: { origin: listed, authorization: ADMIN_AUTH },
    });
    assert.equal(read.statusCode, 200);
    assert.equal(read.headers['access-control-allow-origin'], listed);
    assert.equal(read.headers.vary, 'Origin');

    const other = 'https://evil.example.com';
    const refused = await app!.inject({
      method: 'OPTIONS',
      url: '/api/me',
      headers: { origin: other, 'access-control-request-method': 'GET' },
    });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const unlisted = await app!.inject({
      url: '/api/me',
      headers: { origin: other, authorization: ADMIN_AUTH },
    });
    assert.equal(unlisted.statusCode, 200);
    assert.equal(unlisted.headers['access-control-allow-origin'], undefined);
    // Without a list (the default), nobody gets CORS headers.
    const plain = await started!.app.inject({
      url: '/api/me',
      headers: { origin: listed, authorization: ADMIN_AUTH },
    });
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
  });

  it('refuses an allow-list entry that is not an origin', () => {
    for (const bad of ['*', 'https://example.org/path', 'example.org', 'ftp://example.org'])
      assert.throws(() => corsAllowlistFrom(bad), /Invalid FERRY_CORS_ALLOWLIST entry/, bad);
    assert.deepEqual(corsAllowlistFrom(' https://a.org ,http://b.org:8080/ '), [
      'https://a.org',
      'http://b.org:8080',
    ]);
  });
});
