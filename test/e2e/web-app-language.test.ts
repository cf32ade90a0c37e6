import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { checkPage, choose, DESKTOP, openMenuBounds, signIn } from '../support/web-app-pages.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { WEB_DIST } from '../../src/http/routes/system/web-routes.ts';

// The web app's language and its dropdown menus, in Debian's Chromium against a Ferry on a real
// port: the user's keyUiLocale (DHIS2's user setting) chooses the language at sign-in, the app's
// words and @dhis2/ui's own (DHIS2's translations) follow it, the switch in the header saves another
// one, and a select near the bottom of the window opens a menu the user can reach.

const ADMIN_PASSWORD = 'district-Test-1';
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

describe('the web app’s language and menus', { skip: BROWSER_SKIP_REASON }, () => {
  let db: TestDatabase | undefined;
  let context: FerryContext | undefined;
  let app: FastifyInstance | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl = '';
  const pageErrors: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: AUTH,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text;
  };
  const navTexts = () => page.locator('nav.nav a').allInnerTexts();

  before(async () => {
    assert.ok(readFileSync(join(WEB_DIST, 'index.html')).length > 0, 'run npm run build:web first');
    db = await createTestDatabase('sqlite');
    context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
    await context.users.ensureAdmin({ password: ADMIN_PASSWORD });
    app = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    baseUrl = `http://127.0.0.1:${address.port}`;
    browser = await launchBrowser();
    const session = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await session.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
  });

  it('shows the app in the user’s keyUiLocale and saves the language chosen in the header', async () => {
    // The user's language, as DHIS2's own apps would have set it.
    await call('POST', '/api/userSettings', { keyUiLocale: 'fr' });
    await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD);
    await page.locator('h1', { hasText: 'Accueil' }).waitFor();
    assert.deepEqual((await navTexts()).slice(0, 5), [
      'Accueil',
      'Importer',
      'Exporter',
      'Tâches',
      "File d'exportation",
    ]);
    assert.equal(await page.evaluate('document.documentElement.lang'), 'fr');
    assert.match((await page.textContent('#server-info')) ?? '', /base de données SQLite/);
    await checkPage(page, 'home-fr', true);

    // @dhis2/ui's controls speak French too, in DHIS2's own translations (a select's filter).
    await page.goto(`${baseUrl}/#/export/events`);
    await page.locator('h1', { hasText: 'Exporter des événements' }).waitFor();
    const filterPlaceholder = async (text: string) => {
      // Opened by keyboard, as a keyboard user would (Arrow Down on the focused field).
      await page.locator('[data-test="option-program"] [data-test$="select-input"]').focus();
      await page.keyboard.press('ArrowDown');
      await page.locator(`input[placeholder="${text}"]`).waitFor();
      await page.keyboard.press('Escape');
    };
    await filterPlaceholder('Tapez pour filtrer les options');

    // The switch saves the user's keyUiLocale: Spanish now, after a reload too.
    await choose(page, 'language', 'Español');
    await page.locator('nav.nav a', { hasText: 'Inicio' }).waitFor();
    assert.equal(await page.evaluate('document.documentElement.lang'), 'es');
    assert.equal(JSON.parse(await call('GET', '/api/userSettings?key=keyUiLocale')).keyUiLocale, 'es');
    await page.reload();
    await page.locator('h1', { hasText: 'Exportar eventos' }).waitFor();
    await filterPlaceholder('Escriba para filtrar opciones');

    // A region (pt_BR) uses its language's words; then back to English.
    await call('POST', '/api/userSettings', { keyUiLocale: 'pt_BR' });
    await page.goto(`${baseUrl}/#/`);
    await page.reload();
    await page.locator('h1', { hasText: 'Início' }).waitFor();
    assert.equal(await page.evaluate('document.documentElement.lang'), 'pt-BR');
    await choose(page, 'language', 'English');
    await page.locator('h1', { hasText: 'Home' }).waitFor();
    assert.deepEqual((await navTexts()).slice(0, 3), ['Home', 'Import', 'Export']);
    assert.equal(JSON.parse(await call('GET', '/api/userSettings?key=keyUiLocale')).keyUiLocale, 'en');
    assert.deepEqual(pageErrors, []);
  });

  it('opens a select’s menu where it can be reached when the field is near the bottom of the window', async () => {
    await page.goto(`${baseUrl}/#/`);
    await page.setViewportSize({ width: 1280, height: 600 });
    // @dhis2/ui's selects measure themselves after a resize (debounced): let them, before leaving.
    await page.waitForTimeout(300);
    await page.goto(`${baseUrl}/#/export/events`);
    const field = page.locator('[data-test="option-format"] [data-test$="select-input"]');
    await field.waitFor();
    // Scroll the page so that the field's bottom is 20 px above the window's.
    await field.evaluate((element) => {
      const rect = element.getBoundingClientRect();
      window.scrollBy(0, rect.bottom - (window.innerHeight - 20));
    });
    const before = await field.evaluate((element) => element.getBoundingClientRect().bottom);
    assert.ok(before > 560, `the field is at the bottom of the window (${before})`);
    await field.click();
    const menu = await openMenuBounds(page);
    assert.ok(
      menu.bottom <= menu.height && menu.top >= 0,
      `the menu lies inside the window: ${JSON.stringify(menu)}`,
    );
    await page.locator('[data-test="dhis2-uicore-singleselectoption"]', { hasText: /^JSON$/ }).click();
    assert.match(await field.innerText(), /JSON/);
    await page.setViewportSize(DESKTOP);
    await page.waitForTimeout(300);
    assert.deepEqual(pageErrors, []);
  });
});
