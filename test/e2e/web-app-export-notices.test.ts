import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { WEB_DIST } from '../../src/http/routes/system/web-routes.ts';

// The web app's "your export is ready" notice (issue 16), in Debian's Chromium against a Ferry on a
// real port: an export the user queued that finished since they last looked shows above every
// page with its download link; downloading the file clears it; a failed export shows its error
// until dismissed. axe-core checks the page with the notices on it.

const ADMIN_PASSWORD = 'district-Test-1';
const SCREENSHOTS = new URL('../../docs/web-app/', import.meta.url).pathname;
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

describe('the web app tells when a queued export is ready', { skip: BROWSER_SKIP_REASON }, () => {
  let db: TestDatabase | undefined;
  let context: FerryContext | undefined;
  let app: FastifyInstance | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(readFileSync(join(WEB_DIST, 'index.html')).length > 0, 'run npm run build:web first');
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
    const session = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    });
    page = await session.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await context?.jobs.stop();
    await db?.dispose();
  });

  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  /** Queues an export and waits until it finished and its notice is recorded. */
  const exportFinished = async (
    path: string,
    request?: object,
  ): Promise<{ id: string; jobNumber: number }> => {
    const card = await call('POST', path, request === undefined ? undefined : JSON.stringify(request));
    const id = card.id as string;
    await waitForJob(context!, id);
    for (let i = 0; i < 200; i++) {
      const notices = (await call('GET', '/api/exports/notices')).notices as Array<{ id: string }>;
      if (notices.some((notice) => notice.id === id)) break;
      await sleep(50);
    }
    return { id, jobNumber: card.jobNumber as number };
  };

  it('shows a finished export with its download above the page until the file is downloaded', async () => {
    const pool = (
      (await call('POST', '/api/dedupe/pools', JSON.stringify({ name: 'Facility keys' }))).response as {
        id: string;
      }
    ).id;
    await call(
      'POST',
      `/api/dedupe/pools/${pool}/entries`,
      'value,entity_type_id\nkey-1,1\nkey-2,2\n',
      'text/csv',
    );

    await page.goto(baseUrl);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#who');
    assert.equal(await page.locator('.export-notices').count(), 0, 'nothing to tell yet');

    const ready = await exportFinished(`/api/dedupe/pools/${pool}/export`);
    // The app asks again when its window gets the focus (and every 15 s).
    await page.evaluate('window.dispatchEvent(new Event("focus"))');
    const notice = page.locator(`[data-test="export-notice-${ready.jobNumber}"]`);
    await notice.waitFor();
    assert.match(await notice.innerText(), new RegExp(`Export ${ready.jobNumber} is ready`));
    assert.match(await notice.innerText(), /De-duplication pool 'Facility keys' \(CSV\)/);

    // On any page: the jobs page shows it too.
    await page.goto(`${baseUrl}/#/jobs`);
    await notice.waitFor();
    const problems = await accessibilityProblems(page);
    assert.deepEqual(problems, [], 'accessibility with a notice shown');
    await page.screenshot({ path: join(SCREENSHOTS, 'export-notice.png') });
    // It fits a 390-pixel phone.
    await page.setViewportSize({ width: 390, height: 844 });
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `the page with a notice is ${width} px wide on a 390 px phone`);
    await page.screenshot({ path: join(SCREENSHOTS, 'export-notice-phone.png') });
    await page.setViewportSize({ width: 1280, height: 800 });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      notice.getByText(/^Download /).click(),
    ]);
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'value,entity_type_id');
    assert.deepEqual(lines.slice(1).sort(), ['key-1,1', 'key-2,2']);
    await notice.waitFor({ state: 'detached' });
    assert.deepEqual((await call('GET', '/api/exports/notices')).notices, [], 'seen on the server too');
  });

  it('shows a failed export with its error until dismissed', async () => {
    const failed = await exportFinished('/api/exports', {
      kind: 'dedupePool',
      params: { pool: 'No such pool' },
    });
    await page.evaluate('window.dispatchEvent(new Event("focus"))');
    const notice = page.locator(`[data-test="export-notice-${failed.jobNumber}"]`);
    await notice.waitFor();
    assert.match(await notice.innerText(), new RegExp(`Export ${failed.jobNumber} failed`));
    assert.match(await notice.innerText(), /No such pool/);
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await notice.waitFor({ state: 'detached' });
    for (let i = 0; i < 100; i++) {
      if (((await call('GET', '/api/exports/notices')).notices as unknown[]).length === 0) break;
      await sleep(50);
    }
    assert.deepEqual((await call('GET', '/api/exports/notices')).notices, []);
    assert.deepEqual(pageErrors, []);
  });
});

/** axe-core's serious and critical violations on the page as it is now. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axe.source);
  const result = (await page.evaluate(
    'window.axe.run(document, { resultTypes: ["violations"] })',
  )) as axe.AxeResults;
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help}`);
}
