import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { createFerryContextFromStorage } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';

const FIXTURE = new URL(
  '../../../shared/fixtures/dhis2/aggregate-e2e/01_setup_metadata.json',
  import.meta.url,
);

describe('web app in Chromium', { skip: BROWSER_SKIP_REASON }, () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;

  before(async () => {
    db = await createTestDatabase('sqlite');
    const context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
    await context.users.ensureAdmin({ password: 'district-Test-1' });
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
});
