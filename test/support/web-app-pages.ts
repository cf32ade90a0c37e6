import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import yauzl from 'yauzl';
import type { Page } from 'playwright-core';

// Helpers for browser tests of the web app's pages: axe-core, screenshots for docs/web-app.md,
// sign-in, @dhis2/ui selects, and reading a downloaded zip.

export const SCREENSHOTS = new URL('../../docs/web-app/', import.meta.url).pathname;
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** The entries of a downloaded zip, as bytes. */
export function readZipEntries(path: string): Promise<{ name: string; bytes: Buffer }[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('not a zip'));
      const entries: { name: string; bytes: Buffer }[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, bytes: Buffer.concat(chunks) });
            zip.readEntry();
          });
        }),
      );
      zip.readEntry();
    });
  });
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  // evaluate() runs through the DevTools protocol, which the page's CSP (script-src 'self') allows.
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axe.source);
  const result = (await page.evaluate(
    'window.axe.run(document, { resultTypes: ["violations"] })',
  )) as axe.AxeResults;
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help}: ${violation.nodes
          .slice(0, 3)
          .map((node) => `${node.target.join(' ')} ${node.failureSummary ?? ''}`)
          .join('; ')}`,
    );
}

/**
 * Checks the page with axe-core and saves its screenshot as docs/web-app/<name>.png; with `phone`,
 * also checks that nothing is wider than a 390 px phone and saves <name>-phone.png.
 */
export async function checkPage(page: Page, name: string, phone = false): Promise<void> {
  assert.deepEqual(await accessibilityProblems(page), [], `accessibility of ${name}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (phone) {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    const overflow = await page.evaluate('document.documentElement.scrollWidth');
    assert.ok(Number(overflow) <= PHONE.width, `${name} is ${String(overflow)} px wide on a 390 px phone`);
    assert.deepEqual(await accessibilityProblems(page), [], `accessibility of ${name} on a phone`);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
    // @dhis2/ui's Select measures itself in a debounced resize handler that it does not cancel on
    // unmount: leaving the page at once would make it read a removed element (a page error).
    await page.waitForTimeout(300);
  }
}

export async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(baseUrl);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#who');
}

/** Picks an option of a @dhis2/ui single select field (marked with dataTest) by its label. */
export async function choose(page: Page, field: string, label: string): Promise<void> {
  // No scrolling here: with the field at the bottom of the window the menu would open below it,
  // and the app itself (web/src/menu-in-view.ts) scrolls it into view; every choice tests that.
  await page.locator(`[data-test="${field}"] [data-test$="select-input"]`).click();
  await page
    .locator('[data-test="dhis2-uicore-singleselectoption"]')
    .filter({ hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
    .click();
  // Choosing the option already selected leaves the menu open, over the rest of the page.
  await page.keyboard.press('Escape');
}

/** Ticks options of a @dhis2/ui multi select field (marked with dataTest) by their labels. */
export async function chooseMany(page: Page, field: string, labels: string[]): Promise<void> {
  await page.locator(`[data-test="${field}"] [data-test$="select-input"]`).click();
  for (const label of labels)
    await page
      .locator('[data-test="dhis2-uicore-multiselectoption"]')
      .filter({ hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
      .click();
  await page.keyboard.press('Escape');
}

/** Where a @dhis2/ui select's open menu lies against the window: its bottom and the window height. */
export async function openMenuBounds(page: Page): Promise<{ top: number; bottom: number; height: number }> {
  const menu = page.locator('[data-test$="-menuwrapper"]').first();
  await menu.waitFor();
  // The app brings the menu into view a frame or two after it opens.
  await page.waitForTimeout(300);
  const box = await menu.evaluate((element) => {
    const rect = element.getBoundingClientRect();
    return { top: rect.top, bottom: rect.bottom, height: window.innerHeight };
  });
  return box;
}
