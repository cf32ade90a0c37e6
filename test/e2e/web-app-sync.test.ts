import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/build-app.ts';
import { WEB_DIST } from '../../src/http/routes/system/web-routes.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { applyAcknowledgement } from '../../src/services/sync/sync-acknowledgements.ts';
import { importPackage } from '../../src/services/sync/sync-package-importer.ts';
import { exportPackage } from '../../src/services/sync/sync-package-writer.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { enterValues, linkSites, OU, syncMetadata } from '../support/sync-sites.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { checkPage, DESKTOP, signIn } from '../support/web-app-pages.ts';

// The web app's Sync page (issue 18) in Debian's Chromium: a district with one facility that sent
// two packages (the second with a value the district had changed too) and acknowledged the
// district's metadata package; the page shows the facility's last package, what it acknowledged,
// nothing pending, one conflict with both values. axe-core, a 390 px phone check, screenshots.

const NOT_BUILT = `the web app is not built (${WEB_DIST}): run npm run build:web`;

describe('web app: the Sync page in Chromium', { skip: BROWSER_SKIP_REASON }, () => {
  let facilityDb: TestDatabase;
  let districtDb: TestDatabase;
  let facility: FerryContext;
  let district: FerryContext;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  const pageErrors: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ferry-web-sync-'));

  async function deliver(from: FerryContext, to: string, at: FerryContext, name: string): Promise<void> {
    const exported = await exportPackage(from, undefined, { to, output: join(dir, name) });
    const result = await importPackage(at, undefined, exported.files[0]);
    await applyAcknowledgement(from, undefined, result.acknowledgement);
  }

  before(async () => {
    assert.ok(readFileSync(join(WEB_DIST, 'index.html')).length > 0, NOT_BUILT);
    facilityDb = await createTestDatabase('sqlite');
    districtDb = await createTestDatabase('sqlite');
    facility = contextFor(facilityDb.storage, facilityDb.dataDir);
    district = contextFor(districtDb.storage, districtDb.dataDir);
    await loadMetadataPayloads(districtDb.storage, [syncMetadata()]);
    await district.users.ensureAdmin({ password: 'district' });
    await linkSites({ context: facility, id: 'facility-a' }, { context: district, id: 'district' });
    await deliver(district, 'facility-a', facility, 'metadata.zip');
    await enterValues(facility, dir, 'jan', [{ orgUnit: OU.facA, period: '202401', value: 30 }]);
    await deliver(facility, 'district', district, 'jan.zip');
    await enterValues(district, dir, 'fix', [{ orgUnit: OU.facA, period: '202401', value: 31 }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await enterValues(facility, dir, 'fix', [{ orgUnit: OU.facA, period: '202401', value: 32 }]);
    await deliver(facility, 'district', district, 'fix.zip');
    app = await buildApp(district);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    baseUrl = `http://127.0.0.1:${address.port}`;
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, baseUrl, 'admin', 'district');
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await facility?.jobs.stop();
    await district?.jobs.stop();
    await facilityDb?.dispose();
    await districtDb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows each child's last package and acknowledgement, what is pending, and the conflicts", async () => {
    await page.click('a[href="#/sync"]');
    await page.waitForSelector('#sync-children');
    assert.match(await page.locator('#sync-identity').innerText(), /district/);
    const row = (await page.locator('#sync-children tbody tr').allInnerTexts()).join('\n');
    assert.match(row, /facility-a/);
    // Package 2 imported from it; package 1 (metadata) sent to it and acknowledged; nothing pending.
    const cells = await page.locator('#sync-children tbody tr td').allInnerTexts();
    assert.match(cells[1], /^2 \(/);
    assert.match(cells[2], /^1 \(/);
    assert.match(cells[3], /^1 \(/);
    assert.equal(cells[4].trim(), '0');
    assert.equal(cells[5].trim(), '1');
    const conflict = (await page.locator('#sync-conflicts tbody tr').allInnerTexts()).join('\n');
    assert.match(conflict, /facility-a, package 2/);
    assert.match(conflict, /31/);
    assert.match(conflict, /32/);
    assert.match(conflict, /Incoming \(last-writer\)/);
    await checkPage(page, 'sync', true);
    assert.deepEqual(pageErrors, []);
  });
});
