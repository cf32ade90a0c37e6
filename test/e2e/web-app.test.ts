import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { checkPage, choose, DESKTOP, readZipEntries, signIn } from '../support/web-app-pages.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { WEB_DIST } from '../../src/http/routes/system/web-routes.ts';

// The browser app (web/, built into web/dist by `npm run build:web`, which `npm test` runs first)
// driven in Debian's Chromium against a Ferry on a real port: sign-in, DHIS2's aggregate e2e
// metadata and data values imported through the pages, a conflict found by searching, a data value
// export queued and downloaded, a restricted user's pages; axe-core on every page, and a
// screenshot of each page for docs/web-app.md.

const FIXTURES = new URL('../fixtures/dhis2/aggregate-e2e/', import.meta.url);
const SETUP_METADATA = new URL('01_setup_metadata.json', FIXTURES).pathname;
const AGGREGATE_METADATA = new URL('02_aggregate_metadata.json', FIXTURES).pathname;
const DATA_VALUES = new URL('03_dataValues_bulk.json', FIXTURES).pathname;
const TRACKER_PAYLOAD = new URL('../fixtures/dhis2/tracker/import_nested_payload.json', import.meta.url)
  .pathname;
const ADMIN_PASSWORD = 'district-Test-1';

const NOT_BUILT = `the web app is not built (${WEB_DIST}): run npm run build:web`;

/** Uploads a file on the current import page and waits for the job's summary. */
async function runImport(
  page: Page,
  file: string,
  button: 'Start import' | 'Start dry run',
): Promise<string> {
  await page.setInputFiles('input[name=file]', file);
  await page.click(`button:has-text("${button}")`);
  try {
    await page.waitForSelector('#summary', { timeout: 60_000 });
  } catch (error) {
    // What the page said instead of a summary (an error notice, a failed job) is the useful part.
    throw new Error(`no summary for ${file}; the page says: ${await page.textContent('main')}`, {
      cause: error,
    });
  }
  return (await page.textContent('#summary')) ?? '';
}

async function count(page: Page, key: string): Promise<number> {
  const text = (await page.textContent(`#summary [data-count="${key}"] strong`)) ?? '';
  return Number(text.replace(/\D/g, ''));
}

describe('web app in Chromium', { skip: BROWSER_SKIP_REASON }, () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  let context: FerryContext;
  let admin: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'ferry-web-'));

  before(async () => {
    assert.ok(readFileSync(join(WEB_DIST, 'index.html')).length > 0, NOT_BUILT);
    db = await createTestDatabase('sqlite');
    context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
    await context.users.ensureAdmin({ password: ADMIN_PASSWORD });
    await context.jobs.start();
    app = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    baseUrl = `http://127.0.0.1:${address.port}`;
    browser = await launchBrowser();
    admin = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    page = await admin.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await context?.jobs.stop();
    await db?.dispose();
  });

  it('serves the built app compressed, with a strict CSP and a favicon', async () => {
    const index = await fetch(`${baseUrl}/`);
    assert.equal(index.status, 200);
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self';/);
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html loads a built script');
    const compressed = await fetch(`${baseUrl}${script}`, { headers: { 'accept-encoding': 'br' } });
    assert.equal(compressed.headers.get('content-encoding'), 'br');
    assert.match(compressed.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${baseUrl}/favicon.svg`)).status, 200);
  });

  it('shows the sign-in page quickly over a slow link, loading no page code before sign-in', async () => {
    const slow = await browser.newContext({ viewport: DESKTOP });
    const other = await slow.newPage();
    // A rural 3G link: 400 ms round trips, 750 kbit/s down, 250 kbit/s up.
    const cdp = await slow.newCDPSession(other);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 400,
      downloadThroughput: (750 * 1024) / 8,
      uploadThroughput: (250 * 1024) / 8,
    });
    let bytes = 0;
    const scripts: string[] = [];
    other.on('response', (response) => {
      const length = Number(response.headers()['content-length'] ?? 0);
      bytes += length;
      if (response.url().endsWith('.js')) scripts.push(response.url());
    });
    const started = Date.now();
    await other.goto(baseUrl);
    await other.waitForSelector('input[name=username]');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 6000, `the sign-in page took ${elapsed} ms over a slow link`);
    assert.ok(bytes < 150_000, `the sign-in page transferred ${bytes} bytes`);
    assert.ok(
      scripts.every((url) => !/(import|export|jobs|home)-page/.test(url)),
      `no page chunk before sign-in: ${scripts.join(', ')}`,
    );
    await slow.close();
  });

  it('refuses a wrong password, then signs in and shows the home page', async () => {
    await page.goto(baseUrl);
    await page.waitForSelector('input[name=username]');
    await checkPage(page, 'sign-in', true);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /Wrong username or password/);

    // By keyboard: Enter in the password field signs in.
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.press('input[name=password]', 'Enter');
    await page.waitForSelector('#server-info');
    assert.equal(await page.textContent('#who'), 'System Administrator');
    assert.match((await page.textContent('#server-info')) ?? '', /SQLite database/);
    await checkPage(page, 'home', true);
  });

  it('imports DHIS2 metadata as background jobs and shows their summaries', async () => {
    await page.goto(`${baseUrl}/#/import/metadata`);
    await page.waitForSelector('input[name=file]', { state: 'attached' });
    const first = await runImport(page, SETUP_METADATA, 'Start import');
    assert.match(first, /Import summary/);
    assert.match((await page.textContent('#job-status')) ?? '', /COMPLETED/);
    assert.ok((await count(page, 'created')) > 0, first);
    const second = await runImport(page, AGGREGATE_METADATA, 'Start import');
    assert.match(second, /OK/);
    assert.ok((await count(page, 'created')) >= 75, second);
    await page.click('#summary summary:has-text("By type")');
    assert.match((await page.textContent('#type-counts')) ?? '', /DataElement\s*75/);
    await checkPage(page, 'import-metadata');

    // A metadata CSV: its object type is chosen from the server's list, and a dry run says so.
    const csv = join(work, 'category-options.csv');
    writeFileSync(csv, 'name,uid,code,shortName\nWeb test option,WebOptio001,WEB_OPT,Web option\n');
    await page.setInputFiles('input[name=file]', csv);
    await choose(page, 'option-classKey', 'CATEGORY_OPTION');
    const dryRun = await runImport(page, csv, 'Start dry run');
    assert.match(dryRun, /Dry run: nothing was saved/);
    assert.equal(await count(page, 'total'), 1, dryRun);
    const none = await fetch(`${baseUrl}/api/categoryOptions/WebOptio001`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(none.status, 404, 'a metadata dry run writes nothing');
    const real = await runImport(page, csv, 'Start import');
    assert.doesNotMatch(real, /Dry run/);
    assert.equal(await count(page, 'created'), 1, real);

    // Geometry: a GeoJSON feature whose id is Bo's UID gives Bo its boundary.
    const geoJson = join(work, 'bo.geojson');
    const ring = [
      [-11.9, 7.8],
      [-11.6, 7.8],
      [-11.6, 8.1],
      [-11.9, 7.8],
    ];
    writeFileSync(
      geoJson,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            id: 'O6uvpzGd5pu',
            properties: {},
            geometry: { type: 'Polygon', coordinates: [ring] },
          },
        ],
      }),
    );
    await page.click('nav[aria-label="What to import"] a:has-text("Geometry")');
    await page.waitForSelector('text=Geometry file');
    const geometry = await runImport(page, geoJson, 'Start import');
    assert.match(geometry, /Import summary/, geometry);
    const bo = await fetch(`${baseUrl}/api/organisationUnits/O6uvpzGd5pu?fields=geometry`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(((await bo.json()) as { geometry?: { type: string } }).geometry?.type, 'Polygon');
    await checkPage(page, 'import-geometry');

    // Tracker: DHIS2's nested payload without its programs is refused object by object, in words.
    await page.click('nav[aria-label="What to import"] a:has-text("Events and tracked entities")');
    await page.waitForSelector('text=Tracker file');
    const tracker = await runImport(page, TRACKER_PAYLOAD, 'Start dry run');
    assert.match(tracker, /Dry run/);
    assert.match(tracker, /ERROR/);
    assert.match(tracker, /E\d{4}/, 'the validation errors, with their codes');
    await checkPage(page, 'import-tracker');
  });

  it('dry-runs then imports data values, and finds a conflict by searching', async () => {
    await page.goto(`${baseUrl}/#/import`);
    await page.waitForSelector('input[name=file]', { state: 'attached' });
    // A file whose name says nothing: its first bytes say CSV.
    const unnamed = join(work, 'values-from-usb');
    writeFileSync(unnamed, 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n');
    await page.setInputFiles('input[name=file]', unnamed);
    await page.waitForSelector('[data-test="option-format"] :text("CSV")');
    const dry = await runImport(page, DATA_VALUES, 'Start dry run');
    assert.match(dry, /Dry run: nothing was saved/);
    const planned = await count(page, 'imported');
    assert.equal(planned, 231, dry);
    const stored = await context.storage.query<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM data_value',
    );
    assert.equal(Number(stored[0]?.n), 0, 'a dry run writes nothing');

    await page.goto(`${baseUrl}/#/`);
    await page.goto(`${baseUrl}/#/import`);
    await page.waitForSelector('input[name=file]', { state: 'attached' });
    const real = await runImport(page, DATA_VALUES, 'Start import');
    assert.doesNotMatch(real, /Dry run/);
    assert.equal(await count(page, 'imported'), 231, real);

    // A file with one bad value: a number data element given text.
    const bad = join(work, 'bad-values.json');
    const values = (
      JSON.parse(readFileSync(DATA_VALUES, 'utf8')) as { dataValues: Record<string, unknown>[] }
    ).dataValues;
    writeFileSync(
      bad,
      JSON.stringify({
        dataValues: [
          ...values.slice(0, 30),
          { ...values[0], value: 'not-a-number' },
          // A data element a spreadsheet would run as a formula: the conflicts CSV must defuse it.
          { ...values[0], dataElement: '=HYPERLINK("http://x")' },
        ],
      }),
    );
    await page.goto(`${baseUrl}/#/`);
    await page.goto(`${baseUrl}/#/import`);
    await page.waitForSelector('input[name=file]', { state: 'attached' });
    const withConflict = await runImport(page, bad, 'Start import');
    assert.match(withConflict, /Conflicts \(2\)/, withConflict);
    await page.fill('input[name=conflictSearch]', 'no match for this');
    await page.waitForSelector('text=No conflict matches');
    await page.fill('input[name=conflictSearch]', 'positive integer');
    await page.waitForSelector('#conflicts tbody tr:has-text("E7619")');
    const row = (await page.textContent('#conflicts tbody')) ?? '';
    assert.match(row, /tpz77FcntKx/);
    assert.match(row, /30$/, 'the (0-based) index of the bad value in the file');
    const download = page.waitForEvent('download');
    await page.click('button:has-text("Download conflicts (CSV)")');
    const csv = readFileSync((await (await download).path()) ?? '', 'utf8');
    assert.match(csv, /^code,object,message,rows\r\n/);
    assert.match(csv, /E7619,tpz77FcntKx \(value\),/);
    assert.match(csv, /,"'=HYPERLINK\(""http:\/\/x""\)/, csv);
    assert.doesNotMatch(csv, /(^|,)"?=/m, 'no cell starts a formula');
    await checkPage(page, 'import-data-values', true);
  });

  it('queues a data value export from the tree and sees its card complete without reloading', async () => {
    await page.goto(`${baseUrl}/#/export`);
    await page
      .waitForSelector('#org-unit-tree label:has-text("Sierra Leone")')
      .catch(async (error: unknown) => {
        throw new Error(`no tree; the page says: ${await page.textContent('main')}`, { cause: error });
      });
    await page.click('#org-unit-tree label:has-text("Sierra Leone")');
    await page.click('[data-test="option-dataSet"] [data-test$="select-input"]');
    await page.click('[data-test$="selectoption"]:has-text("TA Malaria elimination")');
    await page.keyboard.press('Escape');
    await page.fill('[data-test="start-date"] input', '2019-01-01');
    await page.fill('[data-test="end-date"] input', '2019-12-31');
    await page.keyboard.press('Tab');
    await choose(page, 'option-format', 'CSV');
    await choose(page, 'option-compression', 'Zip');
    await page.click('summary:has-text("Advanced options")');
    await choose(page, 'option-orgUnitIdScheme', 'CODE');
    await checkPage(page, 'export-data-values', true);
    await page.click('button:has-text("Queue export")').catch(async (error: unknown) => {
      throw new Error(`no Queue export button; the page says: ${await page.textContent('body')}`, {
        cause: error,
      });
    });
    await page.waitForURL(/#\/exports$/);
    const reloads: string[] = [];
    page.on('framenavigated', (frame) => reloads.push(frame.url()));
    await page.waitForSelector('.export-card:has-text("COMPLETED")', { timeout: 60_000 });
    assert.deepEqual(reloads, [], 'the card completed without a reload');
    const card = (await page.textContent('.export-card')) ?? '';
    assert.match(card, /System Administrator|admin/);
    assert.match(card, / (B|kB)\b/, 'the size in the right unit');
    const download = page.waitForEvent('download');
    await page.click('.export-card a.download');
    const entries = (await readZipEntries((await (await download).path()) ?? '')).map((entry) => ({
      name: entry.name,
      text: entry.bytes.toString('utf8'),
    }));
    assert.equal(entries.length, 1);
    assert.match(entries[0]?.name ?? '', /\.csv$/);
    const lines = (entries[0]?.text ?? '').trim().split('\n');
    assert.match(lines[0] ?? '', /dataelement/i);
    assert.equal(
      lines.length - 1,
      222,
      'every value of 2019 in Sierra Leone and below (the 2018 ones are outside)',
    );
    // Every value is Bo's (below Sierra Leone, the unit chosen: descendants are included), named
    // by its code as the advanced options asked.
    assert.ok(
      lines.slice(1).every((line) => line.includes(',OU_264,')),
      lines[1],
    );
    await checkPage(page, 'export-queue', true);
  });

  it('queues a metadata export of the types chosen in a transfer list and downloads it', async () => {
    await page.goto(`${baseUrl}/#/export/metadata`);
    await page.waitForSelector('[data-test="metadata-types-sourceoptions"] >> text=(dataSets)');
    await page.fill('[data-test="metadata-types-leftside"] input', 'data set');
    await page.dblclick('[data-test="metadata-types-sourceoptions"] >> text=(dataSets)');
    await page.waitForSelector('[data-test="metadata-types-pickedoptions"] >> text=(dataSets)');
    await choose(page, 'option-compression', 'None');
    await checkPage(page, 'export-metadata', true);
    await page.click('button:has-text("Queue export")');
    await page.waitForURL(/#\/exports$/);
    const card = page.locator('.export-card', { hasText: 'Metadata: dataSets' });
    await card.locator('text=COMPLETED').waitFor({ timeout: 60_000 });
    const download = page.waitForEvent('download');
    await card.locator('a.download').click();
    const exported = JSON.parse(readFileSync((await (await download).path()) ?? '', 'utf8')) as Record<
      string,
      { id: string }[]
    >;
    assert.deepEqual(exported.dataSets?.map((dataSet) => dataSet.id).sort(), ['VEM58nY22sO', 'qNtxTrp56wV']);
    assert.equal(exported.dataElements, undefined, 'only the chosen type');
  });

  it('lists every job with filters and search, and recreates an import and an export pre-filled', async () => {
    await page.goto(`${baseUrl}/#/jobs`);
    await page.waitForSelector('#jobs');
    const all = (await page.textContent('#jobs')) ?? '';
    assert.match(all, /Metadata import/);
    assert.match(all, /Data value import \(dry run\)/);
    const firstType = () => page.textContent('#jobs tbody tr:first-child td:nth-child(2)');
    assert.match((await firstType()) ?? '', /Metadata export/, 'newest first');
    await page.click('#jobs thead [title="Sort by Type"]');
    assert.match((await firstType()) ?? '', /^Data value export/, 'sorted by type');
    await page.click('[data-test="dhis2-uicore-chip"]:has-text("Data value export")');
    const filtered = (await page.textContent('#jobs tbody')) ?? '';
    assert.doesNotMatch(filtered, /import/i);
    await page.click('[data-test="dhis2-uicore-chip"]:has-text("Data value export")');
    await page.fill('input[name=jobSearch]', 'metadata import');
    assert.doesNotMatch((await page.textContent('#jobs tbody')) ?? '', /Data value/);
    await page.click('#jobs tbody a');
    await page.waitForSelector('#job-detail #summary');
    await checkPage(page, 'jobs', true);
    const jobFile = await page.textContent('#job-file');
    assert.ok(jobFile, 'the job names its file');
    await page.click('button:has-text("Recreate job")');
    await page.waitForURL(/#\/import\/metadata\?recreate=/);
    await page.waitForSelector('#chosen-file');
    assert.match(
      (await page.textContent('#chosen-file')) ?? '',
      new RegExp(`^${jobFile.replace(/\./g, '\\.')} `),
    );

    // An export recreates as its page with the request filled in, to change before asking again.
    await page.goto(`${baseUrl}/#/jobs`);
    await page.click('[data-test="dhis2-uicore-chip"]:has-text("Data value export")');
    await page.click('#jobs tbody a');
    await page.click('button:has-text("Recreate job")');
    await page.waitForURL(/#\/export\?.*startDate=2019-01-01/);
    await page.waitForSelector('#org-unit-tree label:has-text("Sierra Leone")');
    assert.ok(
      await page.locator('#org-unit-tree input[type=checkbox]').first().isChecked(),
      'Sierra Leone is ticked again',
    );
    assert.equal(await page.inputValue('[data-test="start-date"] input'), '2019-01-01');
    assert.equal(await page.inputValue('[data-test="end-date"] input'), '2019-12-31');
    assert.match((await page.textContent('[data-test="option-dataSet"]')) ?? '', /TA Malaria elimination/);
    assert.match((await page.textContent('[data-test="option-format"]')) ?? '', /CSV/);
    assert.deepEqual(pageErrors, []);
  });

  it('shows a restricted user only the pages their authorities allow', async () => {
    await context.metadata.save('userRoles', [
      { id: 'roleExport9', name: 'Exporter', authorities: ['F_EXPORT_DATA'] },
    ]);
    await context.users.createUser({
      username: 'bo.exporter',
      password: 'Exporter-Pass-1',
      firstName: 'Bo',
      surname: 'Exporter',
      roles: ['roleExport9'],
      orgUnits: ['O6uvpzGd5pu'],
    });
    const restricted = await browser.newContext({ viewport: DESKTOP });
    const other = await restricted.newPage();
    await signIn(other, baseUrl, 'bo.exporter', 'Exporter-Pass-1');
    const nav = (await other.textContent('nav[aria-label=Pages]')) ?? '';
    assert.match(nav, /Export/);
    assert.doesNotMatch(nav, /Import/);
    assert.equal(await other.locator('text=Import data values').count(), 0);
    await other.goto(`${baseUrl}/#/import`);
    await other.waitForSelector('text=This page is not available');
    await other.goto(`${baseUrl}/#/export/metadata`);
    await other.waitForSelector('text=This page is not available');
    await checkPage(other, 'restricted-user');
    await other.goto(`${baseUrl}/#/export`);
    // Their tree starts at their own org unit, Bo.
    await other.waitForSelector('#org-unit-tree label:has-text("Bo")');
    assert.equal(await other.locator('#org-unit-tree label:has-text("Sierra Leone")').count(), 0);

    // A session that ends (expired, signed out elsewhere) brings back the sign-in form, not errors.
    await restricted.clearCookies();
    await other.click('nav[aria-label=Pages] a:has-text("Export queue")');
    await other.waitForSelector('input[name=username]');
    await restricted.close();
  });
});
