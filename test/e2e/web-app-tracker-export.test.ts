import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { BROWSER_SKIP_REASON, launchBrowser } from '../support/browser.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { checkPage, choose, chooseMany, DESKTOP, readZipEntries, signIn } from '../support/web-app-pages.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { WEB_DIST } from '../../src/http/routes/system/web-routes.ts';

// The web app's event, tracked entity and metadata-with-dependencies export pages (issue 13), in
// Debian's Chromium against a Ferry on a real port holding a small demo: a country with two
// districts of two clinics each, a tracker program with two stages, and a tracked entity enrolled
// at each clinic with an event in each stage. Each export is made through the page and the file
// it downloads is compared with what the API itself returns for the same request.

const ADMIN_PASSWORD = 'district-Test-1';
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

const COUNTRY = 'dmoCountry1';
const NORTH = 'dmoNorthDs1';
const SOUTH = 'dmoSouthDs1';
const CLINICS = { dmoNorthCa1: NORTH, dmoNorthCb1: NORTH, dmoSouthCc1: SOUTH, dmoSouthCd1: SOUTH };
const PROGRAM = 'dmoProgrm01';
const STAGES = ['dmoStageA01', 'dmoStageB01'];
const TE_TYPE = 'dmoPerson01';
/** A nurse the follow-up visits of clinics A and C are assigned to. */
const NURSE = 'dmoNurse001';
const DATA_ELEMENT = 'dmoWeight01';

const ou = (id: string, name: string, parent?: string) => ({
  id,
  name,
  shortName: name,
  openingDate: '2000-01-01',
  ...(parent ? { parent: { id: parent } } : {}),
});

const METADATA = {
  organisationUnits: [
    ou(COUNTRY, 'Demo country'),
    ou(NORTH, 'North district', COUNTRY),
    ou(SOUTH, 'South district', COUNTRY),
    // Each clinic a point, for the geometry export.
    ...Object.entries(CLINICS).map(([id, parent], index) => ({
      ...ou(id, `Clinic ${'ABCD'[index]}`, parent),
      geometry: { type: 'Point', coordinates: [-11.5 + index / 10, 8.1 + index / 10] },
    })),
  ],
  dataElements: [
    {
      id: DATA_ELEMENT,
      name: 'Demo weight',
      shortName: 'Demo weight',
      valueType: 'NUMBER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  trackedEntityTypes: [{ id: TE_TYPE, name: 'Demo person' }],
  programs: [
    {
      id: PROGRAM,
      name: 'Demo care programme',
      shortName: 'Demo care',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: TE_TYPE },
      organisationUnits: Object.keys(CLINICS).map((id) => ({ id })),
    },
  ],
  programStages: STAGES.map((id, index) => ({
    id,
    name: index === 0 ? 'First visit' : 'Follow-up visit',
    program: { id: PROGRAM },
    // Follow-up visits are assigned to someone (DHIS2's enableUserAssignment).
    enableUserAssignment: index === 1,
    programStageDataElements: [{ dataElement: { id: DATA_ELEMENT } }],
  })),
};

/** One tracked entity per clinic, enrolled in the program, with an event in each stage. */
const TRACKER = {
  trackedEntities: Object.keys(CLINICS).map((orgUnit, index) => ({
    trackedEntity: `dmoTe${index}aaaaa`,
    trackedEntityType: TE_TYPE,
    orgUnit,
    enrollments: [
      {
        enrollment: `dmoEn${index}aaaaa`,
        program: PROGRAM,
        orgUnit,
        status: 'ACTIVE',
        enrolledAt: '2024-01-10T00:00:00.000',
        occurredAt: '2024-01-10T00:00:00.000',
        events: STAGES.map((programStage, stage) => ({
          event: `dmoEv${index}${stage}aaaa`,
          programStage,
          orgUnit,
          status: 'COMPLETED',
          occurredAt: `2024-0${stage + 2}-15T00:00:00.000`,
          ...(stage === 1 && index % 2 === 0 ? { assignedUser: { uid: NURSE } } : {}),
          dataValues: [{ dataElement: DATA_ELEMENT, value: String(50 + index * 10 + stage) }],
        })),
      },
    ],
  })),
};

describe(
  'the web app exports events, tracked entities, metadata with dependencies and geometry',
  { skip: BROWSER_SKIP_REASON },
  () => {
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
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
      return text;
    };

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
      const imported = JSON.parse(await call('POST', '/api/metadata', METADATA)) as { status: string };
      assert.equal(imported.status, 'OK', 'the demo metadata imports');
      await context.users.createUser({
        id: NURSE,
        username: 'nurse.north',
        password: 'Nurse-north-1',
        firstName: 'Nora',
        surname: 'Nurse',
        roles: [],
        orgUnits: [COUNTRY],
      });
      const tracker = JSON.parse(await call('POST', '/api/tracker?async=false', TRACKER)) as {
        status: string;
        stats?: { created: number };
      };
      assert.equal(tracker.status, 'OK', `the demo tracker data imports: ${JSON.stringify(tracker)}`);
      browser = await launchBrowser();
      const session = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
      page = await session.newPage();
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD);
    });

    after(async () => {
      await browser?.close();
      await app?.close();
      await context?.jobs.stop();
      await db?.dispose();
    });

    /** Opens the tree down to `names` (each a level below the previous) and ticks the last. */
    const pickOrgUnit = async (names: string[]) => {
      for (const name of names.slice(0, -1)) {
        const node = page
          .locator(`#org-unit-tree [data-test$="-node"]:has(> div label:has-text("${name}"))`)
          .first();
        await page.locator('#org-unit-tree label', { hasText: name }).first().waitFor();
        const toggle = node.locator('[data-test$="-toggle"]').first();
        if (
          (await toggle.count()) > 0 &&
          !(await node.locator(`label:has-text("${names[names.indexOf(name) + 1]}")`).count())
        )
          await toggle.click();
      }
      const last = names[names.length - 1]!;
      await page.locator('#org-unit-tree label', { hasText: last }).first().click();
    };

    const exportAndSave = async (): Promise<string> => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export', exact: true }).click(),
      ]);
      const path = await download.path();
      await page.locator('[data-test="export-saved"]').waitFor();
      return path;
    };

    it('exports a program’s events for a district and all below as CSV in a zip', async () => {
      // From the home page's card.
      await page.goto(`${baseUrl}/#/`);
      await page.getByRole('link', { name: 'Export events and tracked entities' }).click();
      await page.waitForURL(/#\/export\/events$/);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      assert.equal(
        await page.locator('nav.sub-nav a[aria-current="page"]').innerText(),
        'Events',
        'the sub-navigation marks the page',
      );
      await pickOrgUnit(['Demo country', 'North district']);
      await page.getByLabel('Selected and all below').check();
      await choose(page, 'option-program', 'Demo care programme');
      await choose(page, 'option-format', 'CSV');
      await choose(page, 'option-compression', 'Zip');
      await checkPage(page, 'export-events', true);

      const saved = await exportAndSave();
      const entries = await readZipEntries(saved);
      assert.deepEqual(
        entries.map((entry) => entry.name),
        ['events.csv'],
      );
      const rows = entries[0]!.bytes.toString('utf8').trim().split('\n');
      const expected = (
        await call(
          'GET',
          `/api/tracker/events.csv?orgUnit=${NORTH}&orgUnitMode=DESCENDANTS&program=${PROGRAM}&paging=false`,
        )
      )
        .trim()
        .split('\n');
      assert.equal(rows[0], expected[0], 'the same header');
      assert.deepEqual(rows.slice(1).sort(), expected.slice(1).sort(), 'the same rows as the API');
      // North's two clinics, two events each; none of South's.
      const events = new Set(rows.slice(1).map((row) => /dmoEv\d\daaaa/.exec(row)?.[0]));
      assert.deepEqual([...events].sort(), ['dmoEv00aaaa', 'dmoEv01aaaa', 'dmoEv10aaaa', 'dmoEv11aaaa']);

      // "Selected only" on the district: it holds no event itself, so the file has only the header.
      await page.getByLabel('Selected only').check();
      await choose(page, 'option-compression', 'None');
      const onlyDistrict = readFileSync(await exportAndSave(), 'utf8')
        .trim()
        .split('\n');
      assert.deepEqual(onlyDistrict, [expected[0]]);

      // One stage: the file holds only that stage's events.
      await page.getByLabel('Selected and all below').check();
      await choose(page, 'option-programStage', 'Follow-up visit');
      const stageRows = readFileSync(await exportAndSave(), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      assert.equal(stageRows.length, 2);
      assert.ok(
        stageRows.every((row) => row.includes(STAGES[1]!)),
        'only the follow-up stage',
      );
    });

    it('shows a server refusal in words next to the form', async () => {
      // An attribute id scheme with a UID that names no attribute: the server refuses it (400).
      await page.locator('summary', { hasText: 'Advanced options' }).click();
      // The field is low in the window: the app brings its menu into view (menu-in-view.ts).
      await choose(page, 'option-orgUnitIdScheme', 'Attribute (unique)');
      await page.getByLabel('Org unit id scheme: attribute UID').fill('noSuchAttr1');
      await page.getByRole('button', { name: 'Export', exact: true }).click();
      const alert = page.locator('.error-notice');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.match(text, /The export failed/);
      assert.match(text, /noSuchAttr1|orgUnitIdScheme/, `the refusal names what is wrong: ${text}`);
      await checkPage(page, 'export-events-refused');
      await page.setViewportSize(DESKTOP);
    });

    it('exports tracked entities of a program as JSON', async () => {
      await page.goto(`${baseUrl}/#/export/trackedEntities`);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      await pickOrgUnit(['Demo country']);
      await page.getByLabel('Selected and all below').check();
      await choose(page, 'option-program', 'Demo care programme');
      await choose(page, 'option-format', 'JSON');
      await choose(page, 'option-compression', 'None');
      await checkPage(page, 'export-tracked-entities', true);

      const saved = JSON.parse(readFileSync(await exportAndSave(), 'utf8')) as {
        trackedEntities: { trackedEntity: string; enrollments?: { events?: unknown[] }[] }[];
      };
      const api = JSON.parse(
        await call(
          'GET',
          `/api/tracker/trackedEntities.json?orgUnits=${COUNTRY}&orgUnitMode=DESCENDANTS&program=${PROGRAM}&fields=*&paging=false`,
        ),
      ) as typeof saved;
      assert.deepEqual(saved, api, 'the file is what the API returns');
      assert.deepEqual(saved.trackedEntities.map((te) => te.trackedEntity).sort(), [
        'dmoTe0aaaaa',
        'dmoTe1aaaaa',
        'dmoTe2aaaaa',
        'dmoTe3aaaaa',
      ]);
      assert.equal(
        saved.trackedEntities[0]!.enrollments?.[0]?.events?.length,
        2,
        'with enrollments and events',
      );

      // "Within the last" with a bad duration is caught before asking the server.
      await page.getByLabel('Within the last …').check();
      await page.getByLabel('Updated within (10d, 12h, 1d12h)').fill('ten days');
      assert.ok(await page.getByRole('button', { name: 'Export', exact: true }).isDisabled());
      await page.getByLabel('Updated within (10d, 12h, 1d12h)').fill('10d');
      const recent = JSON.parse(readFileSync(await exportAndSave(), 'utf8')) as typeof saved;
      assert.equal(recent.trackedEntities.length, 4, 'all four were updated today');
    });

    /** The newest card of an export kind once it is COMPLETED (asked every 100 ms). */
    const completedCard = async (kind: string, after: Set<string>) => {
      type Card = { id: string; kind: string; status: string; file: { downloadUrl: string | null } | null };
      let card: Card | undefined;
      for (let i = 0; i < 300 && card?.status !== 'COMPLETED'; i++) {
        const cards = (JSON.parse(await call('GET', '/api/exports')) as { exports: Card[] }).exports;
        card = cards.find((c) => c.kind === kind && !after.has(c.id));
        if (card?.status === 'FAILED') break;
        await sleep(100);
      }
      assert.equal(card?.status, 'COMPLETED', `the queued ${kind} export: ${JSON.stringify(card)}`);
      return card!;
    };
    const cardIds = async () =>
      new Set(
        (JSON.parse(await call('GET', '/api/exports')) as { exports: { id: string }[] }).exports.map(
          (c) => c.id,
        ),
      );

    it('queues events assigned to a user picked by name, downloads them from the card, and changes the request', async () => {
      await page.goto(`${baseUrl}/#/export/events`);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      await pickOrgUnit(['Demo country']);
      await page.getByLabel('Selected and all below').check();
      await choose(page, 'option-program', 'Demo care programme');
      await choose(page, 'option-assignedUserMode', 'Assigned to the users chosen');
      assert.ok(
        await page.getByRole('button', { name: 'Add to export queue' }).isDisabled(),
        'no user chosen yet',
      );
      await chooseMany(page, 'option-assignedUsers', ['Nora Nurse (nurse.north)']);
      await choose(page, 'option-format', 'JSON');
      await choose(page, 'option-compression', 'None');
      // The download does not filter by assigned user: only the queue is offered.
      assert.ok(await page.getByRole('button', { name: 'Export', exact: true }).isDisabled());
      await page.getByText('Events filtered by their assigned user are made in the export queue.').waitFor();
      await checkPage(page, 'export-events-assigned');

      const before = await cardIds();
      await page.getByRole('button', { name: 'Add to export queue' }).click();
      await page.waitForURL(/#\/exports$/);
      const card = await completedCard('events', before);
      const cardView = page.locator(`.export-card:has-text("COMPLETED")`).first();
      await cardView.waitFor({ timeout: 60_000 });
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        cardView.locator('a.download').click(),
      ]);
      const saved = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
        events: { event: string; assignedUser?: { uid: string } }[];
      };
      assert.deepEqual(
        saved.events.map((e) => e.event).sort(),
        ['dmoEv01aaaa', 'dmoEv21aaaa'],
        'the follow-up visits of clinics A and C, assigned to the nurse',
      );
      assert.ok(saved.events.every((e) => e.assignedUser?.uid === NURSE));

      // Change and export again: the form opens with the request's options, every one editable.
      await cardView.getByRole('button', { name: 'Change and export again' }).click();
      await page.waitForURL(/#\/export\/events\?/);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      assert.ok(
        await page.locator('#org-unit-tree input[type=checkbox]').first().isChecked(),
        'the country is ticked again',
      );
      assert.equal(
        await page.locator('[data-test="option-program"] [data-test$="select-input"]').innerText(),
        'Demo care programme',
      );
      assert.match(
        await page.locator('[data-test="option-assignedUsers"]').innerText(),
        /Nora Nurse/,
        'the nurse is still chosen',
      );
      await choose(page, 'option-assignedUserMode', 'Any (assigned or not)');
      await choose(page, 'option-format', 'CSV');
      const again = await cardIds();
      await page.getByRole('button', { name: 'Add to export queue' }).click();
      await page.waitForURL(/#\/exports$/);
      const changed = await completedCard('events', again);
      const text = await (
        await fetch(`${baseUrl}${changed.file!.downloadUrl!}`, { headers: { authorization: AUTH } })
      ).text();
      const rows = text.trim().split('\n');
      assert.equal(rows.length - 1, 8, 'every event of the four clinics, as CSV');
      assert.notEqual(changed.id, card.id);

      // The job overview recreates the first export the same way.
      await page.goto(`${baseUrl}/#/jobs/${card.id}`);
      await page.getByRole('button', { name: 'Recreate job' }).click();
      await page.waitForURL(/#\/export\/events\?.*assignedUserMode=PROVIDED/);
      assert.match(
        await page.locator('[data-test="option-format"] [data-test$="select-input"]').innerText(),
        /JSON/,
      );
      assert.deepEqual(pageErrors, []);
    });

    it('queues tracked entities and follows the card to its file', async () => {
      await page.goto(`${baseUrl}/#/export/trackedEntities`);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      await pickOrgUnit(['Demo country']);
      await choose(page, 'option-program', 'Demo care programme');
      await choose(page, 'option-format', 'JSON');
      await choose(page, 'option-compression', 'Gzip');
      const before = await cardIds();
      await page.getByRole('button', { name: 'Add to export queue' }).click();
      await page.waitForURL(/#\/exports$/);
      await completedCard('trackedEntities', before);
      await page.locator('.export-card:has-text("Tracked entities of program")').first().waitFor();
      assert.deepEqual(pageErrors, []);
    });

    it('exports a program with its dependencies', async () => {
      await page.goto(`${baseUrl}/#/export/dependencies`);
      await choose(page, 'option-objectType', 'Program');
      await choose(page, 'option-object', 'Demo care programme');
      await choose(page, 'option-compression', 'None');
      await checkPage(page, 'export-dependencies', true);
      const saved = JSON.parse(readFileSync(await exportAndSave(), 'utf8')) as Record<
        string,
        { id: string }[] | undefined
      >;
      assert.deepEqual(
        saved.programs?.map((p) => p.id),
        [PROGRAM],
      );
      assert.deepEqual(saved.programStages?.map((s) => s.id).sort(), [...STAGES].sort());
      assert.ok(
        saved.dataElements?.some((d) => d.id === DATA_ELEMENT),
        'with its data element',
      );
      assert.ok(
        saved.trackedEntityTypes?.some((t) => t.id === TE_TYPE),
        'with its tracked entity type',
      );

      // The same package through the export queue: the queue page opens and the card completes.
      await page.getByRole('button', { name: 'Add to export queue' }).click();
      await page.waitForURL(/#\/exports$/);
      let card: { kind: string; status: string; file: { downloadUrl: string | null } | null } | undefined;
      for (let i = 0; i < 200 && card?.status !== 'COMPLETED'; i++) {
        const cards = (JSON.parse(await call('GET', '/api/exports')) as { exports: (typeof card)[] }).exports;
        card = cards.find((c) => c?.kind === 'metadataDependencies');
        if (card?.status === 'FAILED') break;
        await sleep(100);
      }
      assert.equal(card?.status, 'COMPLETED', `the queued dependency export: ${JSON.stringify(card)}`);
      const response = await fetch(`${baseUrl}${card!.file!.downloadUrl!}`, {
        headers: { authorization: AUTH },
      });
      // Compression "None" was chosen above: the queued file is plain JSON too.
      const queued = JSON.parse(await response.text()) as typeof saved;
      assert.deepEqual(queued.programStages?.map((s) => s.id).sort(), [...STAGES].sort());
      assert.deepEqual(pageErrors, []);
    });

    it('exports the geometry of the org units below the country, one level', async () => {
      await page.goto(`${baseUrl}/#/export/geometry`);
      await page.waitForSelector('#org-unit-tree label:has-text("Demo country")');
      await pickOrgUnit(['Demo country']);
      await page.getByLabel('Every org unit below the chosen ones').check();
      await choose(page, 'option-level', 'Level 3');
      await checkPage(page, 'export-geometry', true);
      const saved = JSON.parse(readFileSync(await exportAndSave(), 'utf8')) as {
        type: string;
        features: { id: string; geometry: { type: string } }[];
      };
      const api = JSON.parse(
        await call('GET', `/api/organisationUnits.geojson?parent=${COUNTRY}&level=3`),
      ) as typeof saved;
      assert.deepEqual(saved, api, 'the file is what the API returns');
      assert.equal(saved.type, 'FeatureCollection');
      assert.deepEqual(saved.features.map((f) => f.id).sort(), Object.keys(CLINICS).sort());
      assert.ok(saved.features.every((f) => f.geometry.type === 'Point'));
      assert.deepEqual(pageErrors, []);
    });

    it('shows the pages only to users whose authorities allow them', async () => {
      await context!.metadata.save('userRoles', [
        { id: 'dmoRoleMd01', name: 'Metadata exporter', authorities: ['F_METADATA_EXPORT'] },
      ]);
      await context!.users.createUser({
        username: 'metaexporter',
        password: 'Meta-export-1',
        firstName: 'Meta',
        surname: 'Exporter',
        roles: ['dmoRoleMd01'],
        orgUnits: [COUNTRY],
      });
      const restricted = await browser!.newContext({ viewport: DESKTOP });
      const other = await restricted.newPage();
      try {
        await signIn(other, baseUrl, 'metaexporter', 'Meta-export-1');
        await other.goto(`${baseUrl}/#/export/events`);
        await other.getByText('This page is not available').waitFor();
        await other.goto(`${baseUrl}/#/export/dependencies`);
        await other.getByRole('button', { name: 'Export', exact: true }).waitFor();
        const links = await other.locator('nav.sub-nav a').allInnerTexts();
        assert.deepEqual(links, ['Metadata', 'Metadata with dependencies', 'Geometry']);
      } finally {
        await restricted.close();
      }
    });
  },
);
