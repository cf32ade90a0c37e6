import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { buildApp } from '../../src/http/build-app.ts';

/**
 * The requests DHIS2's own apps (the app platform's runtime and header bar, the Import/Export app)
 * and DHIS2's documented curl recipes send, in their shapes: versioned `/api/<n>/` paths, the
 * sign-in handshake, user and system settings, `/api/me` with `fields=`.
 */

const A_USER = { id: 'compatUser1', username: 'compat.user', password: 'Compat-password-1' } as const;
const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const BO = 'O6uvpzGd5pu';

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`DHIS2 clients against Ferry on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    const userAuth = basic(A_USER.username, A_USER.password);
    const asAdmin = (options: InjectOptions): Promise<LightMyRequestResponse> =>
      app.inject({ ...options, headers: { authorization: ADMIN_AUTH, ...options.headers } });

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (_context, db) => loadAggregateE2eMetadata(db.storage),
        setup: async (context) => {
          await context.storage.transaction((tx) =>
            context.metadata
              .withExecutor(tx)
              .save('userRoles', [
                { id: 'compatRole1', name: 'Compat role', authorities: ['F_EXPORT_DATA'] },
              ]),
          );
          await context.users.createUser({ ...A_USER, roles: ['compatRole1'], orgUnits: [BO] });
        },
      }));
      await context.jobs.start();
    });
    after(() => stopTestApp({ db, context, app }));

    it('reports a DHIS2-shaped version whose minor part is the versioned path apps call', async () => {
      const info = await asAdmin({ url: '/api/41/system/info' });
      assert.equal(info.statusCode, 200, info.body);
      const body = info.json<Record<string, unknown>>();
      assert.match(String(body.version), /^2\.42\.\d+$/);
      assert.equal(body.ferryVersion, context.version);
      for (const field of ['contextPath', 'serverTimeZoneId', 'calendar', 'dateFormat', 'serverDate']) {
        assert.equal(typeof body[field], 'string', `${field} in ${info.body}`);
      }
      assert.equal(body.contextPath, 'http://localhost:80');
      // The app computes `/api/<minor>/` from `version`: that path answers too.
      const minor = String(body.version).split('.')[1];
      assert.equal((await asAdmin({ url: `/api/${minor}/system/info` })).statusCode, 200);
      assert.equal((await asAdmin({ url: '/api/28/me' })).statusCode, 200);
      // Versions DHIS2 does not serve are unknown paths.
      for (const url of ['/api/27/me', '/api/43/me']) {
        const response = await asAdmin({ url });
        assert.equal(response.statusCode, 404, url);
        assert.equal(response.json<{ errorCode: string }>().errorCode, 'F1201');
      }
      // The versioned prefix goes through authentication as the plain path does.
      assert.equal((await app.inject({ url: '/api/41/me' })).statusCode, 401);
      assert.equal((await app.inject({ url: '/api/41/system/ping' })).statusCode, 200);
    });

    it('signs in as DHIS2 apps expect: 401 from system/info, a public loginConfig, then a session', async () => {
      // The app platform asks system/info first; a 401 makes it show its own sign-in dialog.
      const anonymous = await app.inject({
        url: '/api/41/system/info',
        headers: { 'x-requested-with': 'XMLHttpRequest' },
      });
      assert.equal(anonymous.statusCode, 401, anonymous.body);
      assert.equal(anonymous.json<{ errorCode: string }>().errorCode, 'F1100');
      assert.equal(anonymous.headers['www-authenticate'], undefined);
      const loginConfig = await app.inject({ url: '/api/41/loginConfig' });
      assert.equal(loginConfig.statusCode, 200, loginConfig.body);
      const config = loginConfig.json<Record<string, unknown>>();
      assert.equal(config.applicationTitle, 'Ferry');
      assert.equal(config.uiLocale, 'en');
      assert.equal(config.emailConfigured, false);
      assert.equal(config.allowAccountRecovery, false);
      assert.equal(config.selfRegistrationEnabled, false);
      assert.deepEqual(config.oidcProviders, []);
      assert.equal(typeof config.applicationDescription, 'string');
      // The dialog posts to /api/auth/login; the session cookie then opens system/info.
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: A_USER.username, password: A_USER.password },
      });
      assert.equal(login.statusCode, 200, login.body);
      const cookie = login.cookies.find((c) => c.name === 'ferry_session');
      assert.ok(cookie, 'a session cookie');
      const signedIn = await app.inject({
        url: '/api/41/system/info',
        cookies: { ferry_session: cookie.value },
      });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
    });

    it('imports and exports /api/41/dataValueSets as /api/dataValueSets (the documented curl recipes)', async () => {
      // curl -d @datavalueset.json ".../api/41/dataValueSets" -H "Content-Type:application/json" -u admin:district
      const posted = await asAdmin({
        method: 'POST',
        url: '/api/41/dataValueSets',
        headers: { 'content-type': 'application/json' },
        payload: readFileSync(BULK),
      });
      assert.equal(posted.statusCode, 200, posted.body);
      const summary = posted.json<{ status: string; response: { importCount: { imported: number } } }>();
      assert.equal(summary.status, 'OK');
      assert.equal(summary.response.importCount.imported, 231);

      const query = `dataSet=qNtxTrp56wV&period=2018&orgUnit=${BO}`;
      const versioned = await asAdmin({ url: `/api/41/dataValueSets.json?${query}` });
      const plain = await asAdmin({ url: `/api/dataValueSets.json?${query}` });
      assert.equal(versioned.statusCode, 200, versioned.body);
      const values = versioned.json<{ dataValues: { dataElement: string; value: string }[] }>().dataValues;
      assert.ok(values.length > 0);
      assert.deepEqual(values, plain.json<{ dataValues: unknown[] }>().dataValues);
      const csv = await asAdmin({ url: `/api/41/dataValueSets.csv?${query}` });
      assert.equal(csv.statusCode, 200);
      assert.match(csv.body.split('\n', 1)[0], /^dataelement,period,orgunit/);

      // Asynchronous import: the task the reply points to is read under the versioned path too.
      const async = await asAdmin({
        method: 'POST',
        url: '/api/41/dataValueSets?async=true',
        headers: { 'content-type': 'application/json' },
        payload: readFileSync(BULK),
      });
      assert.equal(async.statusCode, 200, async.body);
      const job = async.json<{ response: { id: string; relativeNotifierEndpoint: string } }>().response;
      await waitForJob(context, job.id);
      const task = await asAdmin({ url: `/api/41/system/tasks/DATAVALUE_IMPORT/${job.id}` });
      assert.equal(task.statusCode, 200, task.body);
      const taskSummary = await asAdmin({
        url: `/api/41/system/taskSummaries/DATAVALUE_IMPORT/${job.id}`,
      });
      assert.equal(taskSummary.statusCode, 200, taskSummary.body);
      assert.equal(taskSummary.json<{ importCount: { ignored: number } }>().importCount.ignored, 231);
    });

    it("exports ADX at the Import/Export app's data export URL, dataValueSets.adx+xml, with compression=", async () => {
      // The page writes `dataValueSets.${format}` with the format value `adx+xml`, and the
      // compression as a parameter (DataExport/form-helper.js).
      const query =
        'dataElementIdScheme=UID&orgUnitIdScheme=UID&idScheme=UID&includeDeleted=false&children=true' +
        `&startDate=2018-01-01&endDate=2018-12-31&orgUnit=${BO}&dataSet=qNtxTrp56wV`;
      const plain = await asAdmin({ url: `/api/41/dataValueSets.adx+xml?${query}` });
      assert.equal(plain.statusCode, 200, plain.body);
      assert.match(String(plain.headers['content-type']), /^application\/adx\+xml/);
      assert.match(plain.body, /<adx xmlns="urn:ihe:qrph:adx:2015"/);
      assert.match(plain.body, /<group dataSet="qNtxTrp56wV" orgUnit="/);
      const gzip = await asAdmin({ url: `/api/41/dataValueSets.adx+xml?${query}&compression=gzip` });
      assert.equal(gzip.statusCode, 200, gzip.body);
      assert.match(String(gzip.headers['content-disposition']), /\.adx\.xml\.gz"/);
      assert.equal(
        gunzipSync(gzip.rawPayload)
          .toString('utf8')
          .replace(/exported="[^"]*"/, ''),
        plain.body.replace(/exported="[^"]*"/, ''),
      );
      const zip = await asAdmin({ url: `/api/41/dataValueSets.adx+xml?${query}&compression=zip` });
      assert.equal(zip.statusCode, 200, zip.body);
      assert.match(String(zip.headers['content-disposition']), /\.adx\.xml\.zip"/);
      assert.equal(zip.rawPayload.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004');
    });

    it("imports metadata with the Import/Export app's parameters, atomicMode=OBJECT taken as ALL as DHIS2 does", async () => {
      const query = (atomicMode: string) =>
        'importMode=COMMIT&identifier=UID&importReportMode=ERRORS&importStrategy=CREATE_AND_UPDATE' +
        `&atomicMode=${atomicMode}&mergeMode=MERGE&flushMode=AUTO&skipSharing=false&skipValidation=false` +
        '&inclusionStrategy=NON_NULL&async=false';
      // A valid option set beside a data element group naming a data element that does not exist.
      const payload = JSON.stringify({
        optionSets: [{ id: 'ieAppOptSt1', name: 'IE app option set', valueType: 'TEXT' }],
        dataElementGroups: [
          {
            id: 'ieAppDeGrp1',
            name: 'IE app group',
            shortName: 'IE app group',
            dataElements: [{ id: 'noSuchDe001' }],
          },
        ],
      });
      const post = (atomicMode: string) =>
        asAdmin({
          method: 'POST',
          url: `/api/metadata?${query(atomicMode)}`,
          headers: {
            'content-type': 'application/json',
            'content-disposition': 'attachment filename="md.json"',
          },
          payload,
        });
      const object = await post('OBJECT');
      assert.notEqual(object.statusCode, 400, object.body);
      const report = object.json<{ response?: { status: string }; status: string }>();
      assert.equal(report.response?.status ?? report.status, 'ERROR', object.body);
      assert.equal((await asAdmin({ url: '/api/optionSets/ieAppOptSt1' })).statusCode, 404, 'all or nothing');
      // NONE writes what is valid; an unknown mode is still refused.
      await post('NONE');
      assert.equal((await asAdmin({ url: '/api/optionSets/ieAppOptSt1' })).statusCode, 200);
      assert.equal((await post('SOME')).statusCode, 400);
    });

    it("writes DHIS2's system block on the metadata export page's download: the DHIS2 version, as system/info", async () => {
      const info = (await asAdmin({ url: '/api/41/system/info' })).json<{ version: string }>();
      // MetadataExport/form-helper.js: metadata.<format>[.<compression>]?skipSharing=&download=true&<schema>=true
      const json = await asAdmin({
        url: '/api/metadata.json?skipSharing=false&download=true&optionSets=true',
      });
      assert.equal(json.statusCode, 200, json.body);
      const system = json.json<{ system: Record<string, unknown> }>().system;
      assert.equal(system.version, info.version);
      assert.match(String(system.version), /^2\.42\.\d+$/);
      assert.equal(system.ferryVersion, context.version);
      assert.equal(typeof system.id, 'string');
      assert.equal(typeof system.rev, 'string');
      assert.ok(!Number.isNaN(Date.parse(String(system.date))));
      const xml = await asAdmin({ url: '/api/metadata.xml?skipSharing=false&download=true&optionSets=true' });
      assert.match(
        xml.body,
        new RegExp(
          `<system><id>[^<]+</id><rev>[^<]+</rev><version>${info.version.replace(/\./g, '\\.')}</version>`,
        ),
      );
    });

    it('queues an export and downloads its file under /api/41/', async () => {
      const queued = await asAdmin({
        method: 'POST',
        url: '/api/41/exports',
        payload: { kind: 'metadata', params: { collections: ['dataSets'] }, format: 'json' },
      });
      assert.equal(queued.statusCode, 201, queued.body);
      const { id } = queued.json<{ id: string }>();
      await waitForJob(context, id);
      const card = await asAdmin({ url: `/api/41/exports/${id}` });
      const downloadUrl = card.json<{ file: { downloadUrl: string } }>().file.downloadUrl;
      // The card's link is unversioned; both it and its versioned form download the file.
      assert.equal(downloadUrl, `/api/exports/${id}/file`);
      for (const url of [downloadUrl, downloadUrl.replace('/api/', '/api/41/')]) {
        const file = await asAdmin({ url });
        assert.equal(file.statusCode, 200, `${url}: ${file.body}`);
        assert.match(String(file.headers['content-disposition']), /attachment/);
        assert.ok(file.json<{ dataSets: unknown[] }>().dataSets.length === 2);
      }
      assert.equal((await app.inject({ url: `/api/41/exports/${id}/file` })).statusCode, 401);
    });

    it('serves the metadata recipes under /api/41/', async () => {
      // curl -d @constant.json ".../api/41/metadata" -X POST -H "Content-Type: application/json"
      const posted = await asAdmin({
        method: 'POST',
        url: '/api/41/metadata',
        headers: { 'content-type': 'application/json' },
        payload: { constants: [{ id: 'compatConst', name: 'Compat constant', value: 3.5 }] },
      });
      assert.equal(posted.statusCode, 200, posted.body);
      const read = await asAdmin({ url: '/api/41/constants/compatConst.json?fields=id,name,value' });
      assert.equal(read.statusCode, 200, read.body);
      assert.deepEqual(read.json(), { id: 'compatConst', name: 'Compat constant', value: 3.5 });
      const list = await asAdmin({ url: '/api/41/constants?filter=name:eq:Compat%20constant' });
      assert.deepEqual(
        list.json<{ constants: { id: string }[] }>().constants.map((c) => c.id),
        ['compatConst'],
      );
    });

    it('serves /api/userSettings per user, persisted, as the app platform reads them', async () => {
      const asUser = (options: InjectOptions): Promise<LightMyRequestResponse> =>
        app.inject({ ...options, headers: { authorization: userAuth, ...options.headers } });
      // The app platform's first request: without it every app stops ("Failed to fetch user locale").
      const initial = await asUser({ url: '/api/41/userSettings' });
      assert.equal(initial.statusCode, 200, initial.body);
      const defaults = initial.json<Record<string, unknown>>();
      assert.equal(defaults.keyUiLocale, 'en');
      assert.equal(defaults.keyDbLocale, null);
      assert.equal(defaults.keyUiLanguage, 'en');
      assert.equal(defaults.keyAnalysisDisplayProperty, 'name');
      assert.equal(typeof defaults.keyStyle, 'string');

      // ?value= and a text body, as DHIS2 takes them.
      const byQuery = await asUser({ method: 'POST', url: '/api/41/userSettings/keyUiLocale?value=fr' });
      assert.equal(byQuery.statusCode, 200, byQuery.body);
      const byBody = await asUser({
        method: 'POST',
        url: '/api/userSettings/keyAnalysisDisplayProperty',
        headers: { 'content-type': 'text/plain' },
        payload: 'shortName',
      });
      assert.equal(byBody.statusCode, 200, byBody.body);
      const single = await asUser({ url: '/api/41/userSettings/keyUiLocale' });
      assert.equal(single.statusCode, 200);
      assert.match(String(single.headers['content-type']), /^text\/plain/);
      assert.equal(single.body, 'fr');
      const some = await asUser({ url: '/api/userSettings?key=keyUiLocale&key=keyAnalysisDisplayProperty' });
      assert.deepEqual(some.json(), { keyUiLocale: 'fr', keyAnalysisDisplayProperty: 'shortName' });

      // Per user: the administrator's stay at their defaults.
      const admins = await asAdmin({ url: '/api/userSettings' });
      assert.equal(admins.json<{ keyUiLocale: string }>().keyUiLocale, 'en');
      // Persisted: a new app over the same database reads them back.
      const again = await buildApp(context);
      try {
        const reread = await again.inject({
          url: '/api/userSettings/keyUiLocale',
          headers: { authorization: userAuth },
        });
        assert.equal(reread.body, 'fr');
      } finally {
        await again.close();
      }

      // Unknown keys are 404 as in DHIS2, bad values 400 naming the key; nothing changes.
      const unknown = await asUser({ url: '/api/userSettings/keyNoSuchThing' });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json<{ errorCode: string }>().errorCode, 'F1200');
      const unknownSet = await asUser({ method: 'POST', url: '/api/userSettings/__proto__?value=x' });
      assert.equal(unknownSet.statusCode, 404);
      const bad = await asUser({
        method: 'POST',
        url: '/api/userSettings/keyAnalysisDisplayProperty?value=code',
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.json<{ message: string }>().message, /keyAnalysisDisplayProperty.*name, shortName/);
      const badLocale = await asUser({
        method: 'POST',
        url: '/api/userSettings/keyUiLocale?value=%3Cscript%3E',
      });
      assert.equal(badLocale.statusCode, 400);
      const missing = await asUser({ method: 'POST', url: '/api/userSettings/keyUiLocale' });
      assert.equal(missing.statusCode, 400);
      // Several at once (a JSON object), all or nothing.
      const bulkBad = await asUser({
        method: 'POST',
        url: '/api/userSettings',
        payload: { keyDbLocale: 'fr', keyStyle: 42 },
      });
      assert.equal(bulkBad.statusCode, 400, bulkBad.body);
      assert.equal((await asUser({ url: '/api/userSettings/keyDbLocale' })).body, '');
      const bulk = await asUser({ method: 'POST', url: '/api/userSettings', payload: { keyDbLocale: 'fr' } });
      assert.equal(bulk.statusCode, 200, bulk.body);
      assert.equal((await asUser({ url: '/api/userSettings/keyDbLocale' })).body, 'fr');
      // DELETE resets to the default.
      const reset = await asUser({ method: 'DELETE', url: '/api/userSettings/keyUiLocale' });
      assert.equal(reset.statusCode, 200);
      assert.equal((await asUser({ url: '/api/userSettings/keyUiLocale' })).body, 'en');
      assert.equal((await app.inject({ url: '/api/41/userSettings' })).statusCode, 401);
    });

    it('serves /api/systemSettings to everyone signed in and lets only a superuser set them', async () => {
      const title = await app.inject({
        url: '/api/41/systemSettings/applicationTitle',
        headers: { authorization: userAuth },
      });
      assert.equal(title.statusCode, 200, title.body);
      // The header bar destructures `{ applicationTitle }`.
      assert.deepEqual(title.json(), { applicationTitle: 'Ferry' });
      const help = await app.inject({
        url: '/api/systemSettings/helpPageLink',
        headers: { authorization: userAuth },
      });
      assert.match(help.json<{ helpPageLink: string }>().helpPageLink, /^https:\/\//);
      const all = await asAdmin({ url: '/api/systemSettings' });
      for (const key of ['applicationTitle', 'helpPageLink', 'keyApplicationFooter', 'keyUiLocale']) {
        assert.ok(key in all.json<object>(), key);
      }

      const denied = await app.inject({
        method: 'POST',
        url: '/api/systemSettings/applicationTitle?value=Mine',
        headers: { authorization: userAuth },
      });
      assert.equal(denied.statusCode, 403, denied.body);
      const set = await asAdmin({
        method: 'POST',
        url: '/api/41/systemSettings/applicationTitle',
        headers: { 'content-type': 'text/plain' },
        payload: 'Ministry of Health',
      });
      assert.equal(set.statusCode, 200, set.body);
      const text = await app.inject({
        url: '/api/systemSettings/applicationTitle',
        headers: { authorization: userAuth, accept: 'text/plain' },
      });
      assert.equal(text.body, 'Ministry of Health');
      const flagSet = await asAdmin({
        method: 'POST',
        url: '/api/systemSettings/keyAccountRecovery?value=maybe',
      });
      assert.equal(flagSet.statusCode, 400);
      const unknown = await asAdmin({ url: '/api/systemSettings/keyNoSuchThing' });
      assert.equal(unknown.statusCode, 404);
    });

    it('serves what the header bar asks for: /api/me with fields, dashboard, apps menu, logo', async () => {
      const asUser = (options: InjectOptions): Promise<LightMyRequestResponse> =>
        app.inject({ ...options, headers: { authorization: userAuth, ...options.headers } });
      assert.equal(
        (await asUser({ method: 'POST', url: '/api/userSettings/keyUiLocale?value=pt_BR' })).statusCode,
        200,
      );
      // The header bar's request, word for word.
      const me = await asUser({ url: '/api/41/me?fields=authorities,avatar,email,name,settings' });
      assert.equal(me.statusCode, 200, me.body);
      const body = me.json<Record<string, unknown>>();
      assert.deepEqual(Object.keys(body).sort(), ['authorities', 'name', 'settings']);
      assert.deepEqual(body.authorities, ['F_EXPORT_DATA']);
      assert.equal(body.name, 'compat.user compat.user');
      assert.equal((body.settings as { keyUiLocale: string }).keyUiLocale, 'pt_BR');

      // The app platform's: nested selections expand references as on the metadata reads.
      const nested = await asUser({
        url: '/api/me?fields=id,username,organisationUnits[id,name],userGroups,dataSets,programs,access',
      });
      assert.equal(nested.statusCode, 200, nested.body);
      const user = nested.json<{
        organisationUnits: { id: string; name: string }[];
        userGroups: unknown[];
        dataSets: string[];
        programs: string[];
        access: { read: boolean };
      }>();
      assert.deepEqual(user.organisationUnits, [{ id: BO, name: 'Bo' }]);
      assert.deepEqual(user.userGroups, []);
      assert.ok(Array.isArray(user.programs));
      // The fixture's data sets are shared with one user group only (public '--------'): none for
      // this user; the superuser sees both.
      assert.deepEqual(user.dataSets, []);
      const adminSets = await asAdmin({ url: '/api/me?fields=dataSets' });
      assert.deepEqual(adminSets.json<{ dataSets: string[] }>().dataSets.sort(), [
        'VEM58nY22sO',
        'qNtxTrp56wV',
      ]);
      assert.equal(user.access.read, true);
      const all = await asUser({ url: '/api/me' });
      const full = all.json<Record<string, unknown>>();
      for (const field of [
        'settings',
        'authorities',
        'userGroups',
        'organisationUnits',
        'dataSets',
        'programs',
      ]) {
        assert.ok(field in full, field);
      }
      assert.equal((full.userCredentials as { username: string }).username, A_USER.username);
      assert.ok(!JSON.stringify(full).includes('password"'), 'no password field');
      const badFields = await asUser({ url: '/api/me?fields=name[' });
      assert.equal(badFields.statusCode, 400, badFields.body);

      assert.deepEqual((await asUser({ url: '/api/41/me/dashboard' })).json(), {
        unreadInterpretations: 0,
        unreadMessageConversations: 0,
      });
      assert.equal((await app.inject({ url: '/api/me/dashboard' })).statusCode, 401);
      const modules = await asUser({ url: '/dhis-web-commons/menu/getModules.action' });
      assert.equal(modules.statusCode, 200, modules.body);
      const [ferry] = modules.json<{
        modules: { name: string; defaultAction: string; displayName: string }[];
      }>().modules;
      assert.equal(ferry.displayName, 'Ferry');
      assert.equal(ferry.defaultAction, 'http://localhost:80/');
      const logo = await app.inject({ url: '/api/41/staticContent/logo_banner' });
      assert.equal(logo.statusCode, 200);
      assert.match(String(logo.headers['content-type']), /^image\/svg\+xml/);
      assert.match(logo.body, /^<svg /);
    });

    it('reads, writes and deletes one value with /api/41/dataValues (the documented recipes)', async () => {
      const cell = `de=tpz77FcntKx&pe=2018&ou=${BO}`;
      const auditRows = async (): Promise<number> =>
        Number(
          (await context.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value_audit'))?.n,
        );
      // curl ".../api/41/dataValues?de=...&pe=...&ou=...&co=..." -u admin:district
      const read = await asAdmin({ url: `/api/41/dataValues?${cell}&co=HllvX50cXC0` });
      assert.equal(read.statusCode, 200, read.body);
      assert.deepEqual(read.json(), ['500000']);
      // Without co: the default option combo.
      assert.deepEqual((await asAdmin({ url: `/api/dataValues?${cell}` })).json(), ['500000']);

      // curl ".../api/41/dataValues?de=...&pe=...&ou=...&co=...&value=12" -X POST -u admin:district
      const audits = await auditRows();
      const posted = await asAdmin({
        method: 'POST',
        url: `/api/41/dataValues?${cell}&co=HllvX50cXC0&value=12`,
      });
      assert.equal(posted.statusCode, 201, posted.body);
      assert.deepEqual((await asAdmin({ url: `/api/dataValues?${cell}` })).json(), ['12']);
      assert.equal(await auditRows(), audits + 1, 'the import wrote its audit row');

      // A comment and follow-up alone keep the value.
      const commented = await asAdmin({
        method: 'POST',
        url: `/api/41/dataValues?${cell}&comment=checked&followUp=true`,
      });
      assert.equal(commented.statusCode, 201, commented.body);
      const exported = await asAdmin({
        url: `/api/dataValueSets.json?dataElement=tpz77FcntKx&period=2018&orgUnit=${BO}`,
      });
      const [stored] = exported.json<{
        dataValues: { value: string; comment: string; followup: boolean }[];
      }>().dataValues;
      assert.equal(stored.value, '12');
      assert.equal(stored.comment, 'checked');
      assert.equal(stored.followup, true);

      // The JSON payload, and the attribute as cc + cp (here the default combo and option).
      const json = await asAdmin({
        method: 'POST',
        url: '/api/41/dataValues?cc=bjDvmb4bfuf&cp=xYerKDKCefk',
        payload: { dataElement: 'tpz77FcntKx', period: '2018', orgUnit: BO, value: '13', comment: 'OK' },
      });
      assert.equal(json.statusCode, 201, json.body);
      assert.deepEqual(
        (await asAdmin({ url: `/api/dataValues?${cell}&cc=bjDvmb4bfuf&cp=xYerKDKCefk` })).json(),
        ['13'],
      );
      const badCp = await asAdmin({ url: `/api/dataValues?${cell}&cc=bjDvmb4bfuf&cp=noSuchOpt01` });
      assert.equal(badCp.statusCode, 400, badCp.body);

      // The import's checks apply: a value the data element's type refuses is 409 with its conflict.
      const bad = await asAdmin({ method: 'POST', url: `/api/dataValues?${cell}&value=-5` });
      assert.equal(bad.statusCode, 409, bad.body);
      const conflict = bad.json<{ response: { conflicts: { errorCode: string }[] } }>().response.conflicts[0];
      assert.match(conflict.errorCode, /^E7/);
      const unknown = await asAdmin({
        method: 'POST',
        url: `/api/dataValues?de=noSuchDE01x&pe=2018&ou=${BO}&value=1`,
      });
      assert.equal(unknown.statusCode, 409);
      assert.equal(
        unknown.json<{ response: { conflicts: { errorCode: string }[] } }>().response.conflicts[0].errorCode,
        'E7610',
      );
      assert.deepEqual((await asAdmin({ url: `/api/dataValues?${cell}` })).json(), ['13']);
      const huge = await asAdmin({
        method: 'POST',
        url: '/api/dataValues',
        payload: {
          dataElement: 'tpz77FcntKx',
          period: '2018',
          orgUnit: BO,
          value: '1',
          comment: 'x'.repeat(2 ** 21),
        },
      });
      assert.equal(huge.statusCode, 413);
      const missing = await asAdmin({ method: 'POST', url: `/api/dataValues?pe=2018&ou=${BO}&value=1` });
      assert.equal(missing.statusCode, 400);
      // A user without F_DATAVALUE_ADD may not write.
      const denied = await app.inject({
        method: 'POST',
        url: `/api/dataValues?${cell}&value=7`,
        headers: { authorization: userAuth },
      });
      assert.equal(denied.statusCode, 403, denied.body);
      // Reading goes through the export's scope: in the user's org units, yes; above them, no.
      const userRead = await app.inject({
        url: `/api/dataValues?${cell}`,
        headers: { authorization: userAuth },
      });
      assert.deepEqual(userRead.json(), ['13']);
      const outside = await app.inject({
        url: '/api/dataValues?de=tpz77FcntKx&pe=2018&ou=ImspTQPwCqd',
        headers: { authorization: userAuth },
      });
      assert.equal(outside.statusCode, 409, outside.body);
      assert.equal(outside.json<{ errorCode: string }>().errorCode, 'E2012');

      // curl ".../api/41/dataValues?de=...&pe=...&ou=..." -X DELETE
      const deleted = await asAdmin({ method: 'DELETE', url: `/api/41/dataValues?${cell}` });
      assert.equal(deleted.statusCode, 204, deleted.body);
      const gone = await asAdmin({ url: `/api/dataValues?${cell}` });
      assert.equal(gone.statusCode, 404);
      assert.equal((await asAdmin({ method: 'DELETE', url: `/api/dataValues?${cell}` })).statusCode, 404);
      // Deleted values are soft-deleted by the import and may be written again.
      const again = await asAdmin({ method: 'POST', url: `/api/dataValues?${cell}&value=14` });
      assert.equal(again.statusCode, 201, again.body);
      assert.deepEqual((await asAdmin({ url: `/api/dataValues?${cell}` })).json(), ['14']);
    });

    it('registers and lists complete data set registrations under /api/41/', async () => {
      const register = (registrations: unknown[]): Promise<LightMyRequestResponse> =>
        asAdmin({
          method: 'POST',
          url: '/api/41/completeDataSetRegistrations',
          payload: { completeDataSetRegistrations: registrations },
        });
      const done = await register([
        { dataSet: 'qNtxTrp56wV', period: '2018', organisationUnit: BO, date: '2019-01-15' },
      ]);
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(
        done.json<{ response: { importCount: { imported: number } } }>().response.importCount.imported,
        1,
      );

      const listed = await asAdmin({
        url: `/api/41/completeDataSetRegistrations?dataSet=qNtxTrp56wV&period=2018&orgUnit=${BO}`,
      });
      assert.equal(listed.statusCode, 200, listed.body);
      const [registration] = listed.json<{ completeDataSetRegistrations: Record<string, unknown>[] }>()
        .completeDataSetRegistrations;
      assert.equal(registration.dataSet, 'qNtxTrp56wV');
      assert.equal(registration.period, '2018');
      assert.equal(registration.organisationUnit, BO);
      assert.equal(registration.attributeOptionCombo, 'HllvX50cXC0');
      assert.equal(registration.date, '2019-01-15');
      assert.equal(registration.completed, true);
      // From the root with children, and by dates.
      const fromRoot = await asAdmin({
        url: '/api/completeDataSetRegistrations?dataSet=qNtxTrp56wV&startDate=2018-01-01&endDate=2018-12-31&orgUnit=ImspTQPwCqd&children=true',
      });
      assert.equal(
        fromRoot.json<{ completeDataSetRegistrations: unknown[] }>().completeDataSetRegistrations.length,
        1,
        fromRoot.body,
      );
      const withoutChildren = await asAdmin({
        url: '/api/completeDataSetRegistrations?dataSet=qNtxTrp56wV&period=2018&orgUnit=ImspTQPwCqd',
      });
      assert.deepEqual(withoutChildren.json(), { completeDataSetRegistrations: [] });

      // The import's checks: an unknown data set is a conflict, nothing registered for it.
      const unknown = await register([{ dataSet: 'noSuchDS001', period: '2018', organisationUnit: BO }]);
      assert.equal(unknown.statusCode, 409, unknown.body);
      const summary = unknown.json<{
        response: { importCount: { ignored: number }; conflicts: { indexes: number[] }[] };
      }>().response;
      assert.equal(summary.importCount.ignored, 1);
      assert.deepEqual(summary.conflicts[0].indexes, [0]);
      // completed:false un-completes, as in DHIS2 (test/e2e/complete-registrations.test.ts has more).
      const uncomplete = await register([
        { dataSet: 'qNtxTrp56wV', period: '2018', organisationUnit: BO, completed: false },
      ]);
      assert.equal(uncomplete.statusCode, 200, uncomplete.body);
      assert.equal(
        uncomplete.json<{ response: { importCount: { deleted: number } } }>().response.importCount.deleted,
        1,
      );
      const afterUncomplete = await asAdmin({
        url: `/api/41/completeDataSetRegistrations?dataSet=qNtxTrp56wV&period=2018&orgUnit=${BO}`,
      });
      assert.deepEqual(afterUncomplete.json(), { completeDataSetRegistrations: [] });
      const noDataSet = await asAdmin({ url: `/api/completeDataSetRegistrations?period=2018&orgUnit=${BO}` });
      assert.equal(noDataSet.json<{ errorCode: string }>().errorCode, 'E2013');

      // The user may neither register (no F_DATAVALUE_ADD) nor read a data set not shared with them.
      const userPost = await app.inject({
        method: 'POST',
        url: '/api/completeDataSetRegistrations',
        headers: { authorization: userAuth },
        payload: { completeDataSetRegistrations: [] },
      });
      assert.equal(userPost.statusCode, 403);
      const userList = await app.inject({
        url: `/api/completeDataSetRegistrations?dataSet=qNtxTrp56wV&period=2018&orgUnit=${BO}`,
        headers: { authorization: userAuth },
      });
      assert.equal(userList.statusCode, 409, userList.body);
      assert.equal(userList.json<{ errorCode: string }>().errorCode, 'E2010');
    });

    it('keeps a user apart from the administrator', async () => {
      const me = await app.inject({ url: '/api/41/me', headers: { authorization: userAuth } });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json<{ username: string }>().username, A_USER.username);
    });
  });
}
