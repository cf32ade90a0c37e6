import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';

const FIXTURE = new URL('../fixtures/dhis2/aggregate-e2e/01_setup_metadata.json', import.meta.url);

describe('web app in Chromium', { skip: BROWSER_SKIP_REASON }, () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  let context: FerryContext;

  before(async () => {
    db = await createTestDatabase('sqlite');
    context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
    await context.users.ensureAdmin({ password: 'district-Test-1' });
    await context.jobs.start();
    app = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    baseUrl = `http://127.0.0.1:${address.port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await context?.jobs.stop();
    await db?.dispose();
  });

  it('refuses a wrong password, logs in, and imports a DHIS2 metadata file', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(baseUrl);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /Wrong username or password/);

    await page.fill('input[name=password]', 'district-Test-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Import")');
    assert.equal(await page.textContent('#who'), 'System Administrator');

    await page.selectOption('select[name=kind]', 'metadata');
    await page.uncheck('input[name=async]');
    await page.setInputFiles('input[name=file]', FIXTURE.pathname);
    await page.click('button[type=submit]');
    await page.waitForSelector('#summary', { timeout: 30_000 });
    const summary = (await page.textContent('#summary')) ?? '';
    assert.match(summary, /Summary: OK/);
    assert.match(summary, /created/);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('runs an import as a background job by default and follows it to COMPLETED on the job page', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(baseUrl);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'district-Test-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Import")');
    assert.equal(await page.isChecked('input[name=async]'), true, 'async is the default');

    await page.selectOption('select[name=kind]', 'metadata');
    await page.selectOption('select[name=importStrategy]', 'CREATE_AND_UPDATE');
    await page.setInputFiles('input[name=file]', FIXTURE.pathname);
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/jobs\/[A-Za-z0-9]{11}$/, { timeout: 30_000 });
    const id = new URL(page.url()).hash.split('/')[2];
    await page.waitForSelector('#job-status:has-text("COMPLETED")', { timeout: 60_000 });
    await page.waitForSelector('#summary', { timeout: 10_000 });
    const summary = (await page.textContent('#summary')) ?? '';
    assert.match(summary, /Summary: OK/);
    assert.match(summary, /updated/);
    const messages = (await page.textContent('#notifications')) ?? '';
    assert.match(messages, /Import complete with status OK, \d+ created, \d+ updated, 0 deleted, 0 ignored/);
    assert.match(messages, /Process started/);
    const job = await context.jobs.details(null, id);
    assert.equal(job.job.type, 'METADATA_IMPORT');
    assert.equal(job.job.status, 'COMPLETED');
    assert.equal(job.inputFile?.name, '01_setup_metadata.json', 'the file name travels with the upload');

    await page.goto(`${baseUrl}/#/jobs`);
    await page.waitForSelector('#jobs');
    const rows = (await page.textContent('#jobs')) ?? '';
    assert.match(rows, /METADATA_IMPORT/);
    assert.match(rows, /COMPLETED/);
    await page.click(`#jobs a[href="#/jobs/${id}"]`);
    await page.waitForSelector('#job-status:has-text("COMPLETED")');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
