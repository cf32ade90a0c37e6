import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; `npx playwright install` can't download browsers here. */
export const CHROMIUM_PATH = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';

export const BROWSER_SKIP_REASON = existsSync(CHROMIUM_PATH)
  ? false
  : `browser tests are off: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, as .ci/run does)`;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
