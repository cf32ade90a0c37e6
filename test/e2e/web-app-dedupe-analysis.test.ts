import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import { DEMO_PASSWORD } from '../../src/services/demo/demo-types.ts';
import { DEDUPE_ENTITY_TYPES } from '../../src/domain/dedupe/dedupe-entity-types.ts';
import { NO_RCLONE, rcloneServe } from '../support/rclone-serve.ts';

// The web app's de-duplication pool pages (issue 16) and analysis export form (issue 15) in
// Debian's Chromium against a Ferry on a real port, over a small demo database (10 facilities):
// a pool created, a pool CSV imported (choose, confirm), its entries searched and paged, the pool
// and the entity types downloaded and read back; an analysis export of a demo data set added to
// the queue, its card reaching COMPLETED without a reload, and the zip holding its files.
// axe-core on every page, a 390 px phone check, screenshots for docs/web-app.md.

const NOT_BUILT = `the web app is not built (${WEB_DIST}): run npm run build:web`;

/** A pool file: 60 data value keys, 45 event keys and 15 tracked entity keys, in this order. */
function poolCsv(): { text: string; rows: string[] } {
  const rows: string[] = [];
  for (let i = 1; i <= 60; i += 1) rows.push(`dv-key-${String(i).padStart(4, '0')},1`);
  for (let i = 1; i <= 45; i += 1) rows.push(`ev-key-${String(i).padStart(4, '0')},2`);
  for (let i = 1; i <= 15; i += 1) rows.push(`te-key-${String(i).padStart(4, '0')},3`);
  return { text: `value,entity_type_id\n${rows.join('\n')}\n`, rows };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function entryKeys(page: Page): Promise<string[]> {
  return page.locator('#entries tbody tr td:first-child').allTextContents();
}

describe(
  'web app: de-duplication pools and analysis exports in Chromium',
  { skip: BROWSER_SKIP_REASON },
  () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let browser: Browser;
    let baseUrl: string;
    let context: FerryContext;
    let admin: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];
    const work = mkdtempSync(join(tmpdir(), 'ferry-web-dedupe-'));

    before(async () => {
      assert.ok(readFileSync(join(WEB_DIST, 'index.html')).length > 0, NOT_BUILT);
      db = await createTestDatabase('sqlite');
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await seedDemoDatabase(context, { facilities: 10, seed: 'ferry-demo' });
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
      await signIn(page, baseUrl, 'admin', DEMO_PASSWORD);
    });

    after(async () => {
      await browser?.close();
      await app?.close();
      await context?.jobs.stop();
      await db?.dispose();
      rmSync(work, { recursive: true, force: true });
    });

    it('creates a pool, imports a pool CSV (choose, confirm), searches and pages its entries', async () => {
      await page.click('nav[aria-label=Pages] a:has-text("Pools")');
      await page.waitForSelector('#entity-types tbody tr');
      assert.match((await page.textContent('#entity-types')) ?? '', /EVENT/);
      await page.click('button:has-text("New pool")');
      await page.fill('input[name=poolName]', 'Facility USB imports');
      await page.fill('textarea[name=poolDescription]', 'Records carried in from facilities on USB keys');
      await page.fill('input[name=poolRetention]', '0');
      await page.waitForSelector('text=A whole number of days from 1');
      assert.ok(await page.locator('button:has-text("Create pool")').isDisabled(), 'a bad retention');
      await page.fill('input[name=poolRetention]', '120');
      // By keyboard: Enter in a field submits the dialog's form.
      await page.press('input[name=poolRetention]', 'Enter');
      await page.waitForURL(/#\/pools\/[A-Za-z0-9]{11}$/);
      await page.waitForSelector('#no-entries');
      assert.match((await page.textContent('#pool-facts')) ?? '', /120 days/);
      const poolId = /#\/pools\/(\w+)$/.exec(page.url())?.[1] ?? '';

      // Import: choose the file, read what will happen, then confirm.
      const { text, rows } = poolCsv();
      const file = join(work, 'usb-keys.csv');
      writeFileSync(file, text);
      await page.click('button:has-text("Import")');
      const dialog = page.locator('[data-test="pool-import"]');
      assert.ok(await dialog.locator('button:has-text("Import")').isDisabled(), 'no file chosen yet');
      await page.setInputFiles('input[name=poolFile]', file);
      await page.waitForSelector('#pool-import-confirm');
      assert.match(
        (await page.textContent('#pool-import-confirm')) ?? '',
        /usb-keys\.csv to Facility USB imports/,
      );
      await checkPage(page, 'dedupe-pool-import');
      await dialog.locator('button:has-text("Import")').click();
      await page.waitForSelector('#pool-import-result', { timeout: 60_000 });
      assert.match(
        (await page.textContent('#pool-import-result')) ?? '',
        /120 rows read: 120 added, 0 already in the pool/,
      );
      await dialog.locator('button:has-text("Close")').click();
      await page.waitForSelector('#pool-entry-count:has-text("120")');

      // Newest first, 50 a page; the next page goes on where the first stopped.
      await page.waitForSelector('#entries tbody tr');
      const first = await entryKeys(page);
      assert.equal(first.length, 50);
      assert.equal(first[0], 'te-key-0015');
      await page.click('[data-test="entries-pagination"] button:has-text("Next")');
      await page.waitForFunction(
        () => document.querySelector('#entries tbody tr td')?.textContent === 'ev-key-0010',
      );
      const second = await entryKeys(page);
      assert.equal(second.length, 50);
      await page.click('[data-test="entries-pagination"] button:has-text("Next")');
      await page.waitForFunction(() => document.querySelectorAll('#entries tbody tr').length === 20);
      const third = await entryKeys(page);
      assert.deepEqual(
        [...first, ...second, ...third].sort(),
        rows.map((row) => row.split(',')[0]).sort(),
        'the three pages hold every key once',
      );

      // Search by the key's start, and by entity type.
      await page.fill('input[name=entrySearch]', 'ev-key-002');
      await page.waitForFunction(() => document.querySelectorAll('#entries tbody tr').length === 10);
      assert.deepEqual(
        (await entryKeys(page)).sort(),
        Array.from({ length: 10 }, (_, i) => `ev-key-002${i}`),
      );
      await page.fill('input[name=entrySearch]', 'no-such-key');
      await page.waitForSelector('text=No entry matches this search.');
      await page.fill('input[name=entrySearch]', '');
      await choose(page, 'option-entityType', 'Tracked entity');
      await page.waitForFunction(() => document.querySelectorAll('#entries tbody tr').length === 15);
      assert.ok((await entryKeys(page)).every((key) => key.startsWith('te-key-')));
      await checkPage(page, 'dedupe-pool', true);
      await choose(page, 'option-entityType', 'All entity types');

      // A wrong header is refused naming the line, and the pool keeps what it had.
      const bad = join(work, 'bad-header.csv');
      writeFileSync(bad, 'key,type\nabc,1\n');
      // By keyboard: the Import button opens the dialog, Escape closes it, and again.
      await page.focus('button:has-text("Import")');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-test="pool-import"]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-test="pool-import"]', { state: 'detached' });
      await page.focus('button:has-text("Import")');
      await page.keyboard.press('Enter');
      await page.setInputFiles('input[name=poolFile]', bad);
      await dialog.locator('button:has-text("Import")').click();
      await page.waitForSelector('#pool-import-result', { timeout: 60_000 });
      const refusal = (await page.textContent('#pool-import-result')) ?? '';
      assert.match(refusal, /Nothing was imported/);
      assert.match(refusal, /line 1/i, refusal);
      await dialog.locator('button:has-text("Close")').click();
      assert.equal(await page.textContent('#pool-entry-count'), '120');

      // Download: the pool's CSV through the export queue; the same rows come back.
      await page.click('button:has-text("Download")');
      const link = page.locator('#pool-export a.download');
      await link.waitFor({ timeout: 60_000 });
      const download = page.waitForEvent('download');
      await link.click();
      const csv = readFileSync((await (await download).path()) ?? '', 'utf8');
      const lines = csv.trim().split(/\r?\n/);
      assert.equal(lines[0], 'value,entity_type_id');
      assert.deepEqual(lines.slice(1).sort(), [...rows].sort());

      // Download entity types: every type with its stable id.
      const typesDownload = page.waitForEvent('download');
      await page.click('a:has-text("Download entity types")');
      const types = readFileSync((await (await typesDownload).path()) ?? '', 'utf8')
        .trim()
        .split('\n');
      assert.equal(types[0], 'id,code,name,key_fields');
      assert.deepEqual(
        types.slice(1).map((line) => line.split(',').slice(0, 2).join(',')),
        DEDUPE_ENTITY_TYPES.map((type) => `${type.id},${type.code}`),
      );

      // Edit the retention; the list shows the pool.
      await page.click('button:has-text("Edit")');
      await page.fill('input[name=poolRetention]', '30');
      await page.click('button:has-text("Save")');
      await page.waitForSelector('#pool-facts:has-text("30 days")');
      await page.click('a:has-text("All pools")');
      await page.waitForSelector(`#pools a[href="#/pools/${poolId}"]`);
      assert.match((await page.textContent('#pools')) ?? '', /Facility USB imports.*120.*30 days/s);
      await checkPage(page, 'dedupe-pools', true);
    });

    it('deletes a pool after confirming', async () => {
      await page.goto(`${baseUrl}/#/pools`);
      await page.click('button:has-text("New pool")');
      await page.fill('input[name=poolName]', 'Short-lived pool');
      await page.click('button:has-text("Create pool")');
      await page.waitForSelector('#pool-name:has-text("Short-lived pool")');
      await page.click('button:has-text("Delete")');
      await page.locator('[data-test="pool-delete"] button:has-text("Cancel")').click();
      await page.click('button:has-text("Delete")');
      await page.locator('[data-test="pool-delete"] button:has-text("Delete pool")').click();
      await page.waitForURL(/#\/pools$/);
      await page.waitForSelector('#pools');
      assert.doesNotMatch((await page.textContent('#pools')) ?? '', /Short-lived pool/);
    });

    it('queues an analysis export of a demo data set, sees its card complete, and downloads the zip', async () => {
      const dataSet = (await context.metadata.list('dataSets')).objects
        .map((object) => object as { id: string; name: string })
        .sort((a, b) => a.name.localeCompare(b.name))[0];
      assert.ok(dataSet, 'the demo has data sets');
      const [root] = await context.storage.query<{ uid: string; name: string }>(
        "SELECT uid, name FROM metadata_object WHERE type = 'organisationUnits' AND path = '/' || uid",
      );
      assert.ok(root, 'the demo has a root org unit');
      await page.click('nav[aria-label=Pages] a:has-text("Export")');
      await page.click('nav[aria-label="What to export"] a:has-text("Analysis files")');
      await page.waitForSelector('#analysis-form');
      assert.ok(await page.locator('button:has-text("Add to queue")').isDisabled(), 'nothing chosen yet');
      assert.match((await page.textContent('#analysis-missing')) ?? '', /a data set, at least one org unit/);
      await choose(page, 'option-subject', dataSet.name);
      const rootLabel = page.locator('#org-unit-tree label', { hasText: root.name }).first();
      await rootLabel.waitFor();
      await rootLabel.click();
      await page.fill('[data-test="start-date"] input', '2025-01-01');
      await page.fill('[data-test="end-date"] input', '2025-12-31');
      await page.keyboard.press('Tab');
      await choose(page, 'option-format', 'SPSS (*.sav)');
      await choose(page, 'option-layout', 'Long: a row per value');
      await checkPage(page, 'export-analysis', true);
      await page.click('button:has-text("Add to queue")');
      await page.waitForURL(/#\/exports$/);
      const reloads: string[] = [];
      const onNavigate = (frame: { url(): string }) => reloads.push(frame.url());
      page.on('framenavigated', onNavigate);
      const card = page.locator('.export-card', { hasText: 'Analysis file' });
      await card
        .locator('[data-test="dhis2-uicore-tag-text"]:text("COMPLETED")')
        .waitFor({ timeout: 120_000 });
      page.off('framenavigated', onNavigate);
      assert.deepEqual(reloads, [], 'the card completed without a reload');
      const text = (await card.textContent()) ?? '';
      // The filters in words, by name, with the format, label language, destination and size.
      assert.match(text, new RegExp(`Data set${escape(dataSet.name)}`));
      assert.match(text, new RegExp(`Org units${escape(root.name)}, with descendants`));
      assert.match(text, /Periods2025-01-01 to 2025-12-31/);
      assert.match(text, /Layoutlong/);
      assert.match(text, /Label languagedefault/);
      assert.match(text, /FormatSPSS \(\.sav\) in a zip/);
      assert.match(text, /DestinationDownload from the card/);
      assert.match(text, /\.spss\.zip, \d+(\.\d)? (B|kB|MB), made/, 'the file and its size');
      // The pool exported by the first test: its card names the pool.
      const poolCard = page.locator('.export-card', { hasText: 'De-duplication pool' });
      await poolCard.locator('text=Facility USB imports').waitFor();
      assert.match((await poolCard.textContent()) ?? '', /FormatCSV/);
      await checkPage(page, 'export-queue-analysis', true);
      const download = page.waitForEvent('download');
      await card.locator('a.download').click();
      const saved = await (await download).path();
      const entries = await readZipEntries(saved ?? '');
      const names = entries.map((entry) => entry.name);
      assert.ok(names.includes('export__readme.txt'), names.join(', '));
      const sav = entries.filter((entry) => entry.name.endsWith('.sav'));
      assert.equal(sav.length, 1, names.join(', '));
      assert.equal(sav[0]?.bytes.subarray(0, 4).toString('latin1'), '$FL2', 'an SPSS system file');
      assert.ok((sav[0]?.bytes.length ?? 0) > 1000);
      const readme =
        entries.find((entry) => entry.name === 'export__readme.txt')?.bytes.toString('utf8') ?? '';
      assert.match(readme, new RegExp(dataSet.id));
    });

    it(
      'queues a protected analysis export of a demo event program to a WebDAV remote',
      {
        skip: NO_RCLONE || (spawnSync('7z', ['i']).status === 0 ? false : '7z is not installed (p7zip-full)'),
      },
      async () => {
        const programs = (await context.metadata.list('programs')).objects.map(
          (object) => object as { id: string; name: string; programType?: string; version?: number },
        );
        const program = programs.find((p) => p.programType === 'WITHOUT_REGISTRATION');
        assert.ok(program, 'the demo has an event program');
        const dav = await rcloneServe('webdav', work, 'ferry', 'dav-Secret-9');
        try {
          const auth = `Basic ${Buffer.from(`admin:${DEMO_PASSWORD}`).toString('base64')}`;
          const created = await fetch(`${baseUrl}/api/exportRemotes`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body: JSON.stringify({
              name: 'district-dav',
              type: 'webdav',
              options: {
                url: `http://127.0.0.1:${dav.port}`,
                vendor: 'other',
                user: 'ferry',
                pass: 'dav-Secret-9',
              },
            }),
          });
          assert.equal(created.status, 201, await created.text());

          await page.goto(`${baseUrl}/#/export/analysis`);
          await page.waitForSelector('#analysis-form');
          await choose(page, 'option-source', 'A program (events and tracked entities)');
          await choose(page, 'option-subject', program.name);
          await page.click('[data-test="option-status"] [data-test$="select-input"]');
          await page.click('[data-test="dhis2-uicore-multiselectoption"]:has-text("Completed")');
          await page.keyboard.press('Escape');
          await page.fill('[data-test="start-date"] input', '2020-01-01');
          await page.fill('[data-test="end-date"] input', '2026-12-31');
          await page.keyboard.press('Tab');
          await choose(page, 'option-format', 'Stata 14+ (*.dta)');
          await page.click('label:has-text("Include metadata")');
          await page.click('label:has-text("Include paradata")');
          await page.click('label:has-text("Include binary data")');
          await choose(page, 'option-destination', 'WebDAV: district-dav');
          await page.fill('input[name=remotePath]', 'analysis/2026');
          await page.click('label:has-text("Protect the archive with a password")');
          await page.fill('input[name=password]', 'Zip-Pass-2026');
          await page.fill('input[name=passwordRepeat]', 'Zip-Pass-2027');
          await page.waitForSelector('text=The two passwords differ.');
          assert.ok(await page.locator('button:has-text("Add to queue")').isDisabled());
          await page.fill('input[name=passwordRepeat]', 'Zip-Pass-2026');
          await checkPage(page, 'export-analysis-program', true);
          // By keyboard: Enter in the last field adds the export to the queue.
          await page.press('input[name=passwordRepeat]', 'Enter');
          await page.waitForURL(/#\/exports$/);
          const card = page.locator('.export-card', { hasText: 'Cloud storage district-dav' }).first();
          await card
            .locator('[data-test="dhis2-uicore-tag-text"]:text("COMPLETED")')
            .waitFor({ timeout: 120_000 });
          const text = (await card.textContent()) ?? '';
          assert.match(text, new RegExp(`Program${escape(program.name)}`));
          assert.match(text, new RegExp(`Version${program.version ?? ''} \\(pinned\\)`));
          assert.match(text, /Statusevents completed/);
          assert.match(text, /Data typemain data, metadata, paradata, binary files/);
          assert.match(text, /Label languagedefault/);
          assert.match(text, /FormatStata 14\+ \(\.dta\) in a zip, password-protected/);
          assert.match(text, /folder analysis\/2026 \(delivered to/);
          assert.equal(await card.locator('a.download').count(), 0, 'nothing to download from the card');

          // The archive arrived on the WebDAV server; 7z opens it with the password only.
          const folder = join(dav.dir, 'analysis', '2026');
          const [zip] = readdirSync(folder);
          assert.ok(zip?.endsWith('.zip'), String(zip));
          const wrong = spawnSync('7z', [
            'x',
            '-pwrong-password',
            `-o${join(work, 'wrong')}`,
            '-y',
            join(folder, zip),
          ]);
          assert.notEqual(wrong.status, 0, 'a wrong password does not open it');
          const out = join(work, 'program-zip');
          const right = spawnSync('7z', ['x', '-pZip-Pass-2026', `-o${out}`, '-y', join(folder, zip)], {
            encoding: 'utf8',
          });
          assert.equal(right.status, 0, right.stderr);
          const files = readdirSync(out);
          assert.ok(files.includes('export__readme.txt'), files.join(', '));
          assert.ok(
            files.some((name) => name.endsWith('.dta')),
            files.join(', '),
          );
          assert.match(readFileSync(join(out, 'export__readme.txt'), 'utf8'), new RegExp(program.id));
          // Metadata and paradata, as asked: the DDI codebook under Metadata/, and paradata.tab.
          assert.ok(files.includes('paradata.tab'), files.join(', '));
          const metadataFiles = readdirSync(join(out, 'Metadata'));
          assert.ok(
            metadataFiles.some((name) => name.endsWith('.xml')),
            metadataFiles.join(', '),
          );
        } finally {
          dav.child.kill();
        }
      },
    );

    it('shows pools by authority and sharing: a clerk sees the page but no pool and no New pool', async () => {
      const clerkContext = await browser.newContext({ viewport: DESKTOP });
      const clerk = await clerkContext.newPage();
      await signIn(clerk, baseUrl, 'facility_clerk', DEMO_PASSWORD);
      // The clerk's home page offers pools (they import) and no analysis files (no F_EXPORT_DATA).
      await clerk.waitForSelector('.card-body a[href="#/pools"]');
      assert.equal(await clerk.locator('a[href="#/export/analysis"]').count(), 0, 'no F_EXPORT_DATA');
      await clerk.click('nav[aria-label=Pages] a:has-text("Pools")');
      await clerk.waitForSelector('text=No pool is shared with you yet.');
      assert.equal(await clerk.locator('button:has-text("New pool")').count(), 0);
      await clerkContext.close();

      const analystContext = await browser.newContext({ viewport: DESKTOP });
      const analyst = await analystContext.newPage();
      await signIn(analyst, baseUrl, 'analyst', DEMO_PASSWORD);
      assert.doesNotMatch((await analyst.textContent('nav[aria-label=Pages]')) ?? '', /Pools/);
      // Their home page offers analysis files (F_EXPORT_DATA), not pools.
      await analyst.waitForSelector('a[href="#/export/analysis"]:has-text("Export analysis files")');
      assert.equal(await analyst.locator('a[href="#/pools"]').count(), 0);
      await analyst.goto(`${baseUrl}/#/pools`);
      await analyst.waitForSelector('text=This page is not available');
      await analystContext.close();
      assert.deepEqual(pageErrors, []);
    });
  },
);
