import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues } from '../support/data-value-imports.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { uploadFileName } from '../../src/http/async-import.ts';
import { attachmentDisposition } from '../../src/services/jobs/export-compression.ts';

// The export root, and a directory outside it that a planted link points to.
const exportRoot = mkdtempSync(join(tmpdir(), 'ferry-hostile-export-root-'));
const outside = mkdtempSync(join(tmpdir(), 'ferry-hostile-outside-'));
process.env.FERRY_EXPORT_DIRECTORY_ROOT = exportRoot;

/** Invisible characters that reorder or hide parts of a name. */
const BIDI = [
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
  '\u200b',
  '\ufeff',
  '\u0085',
  '\u2028',
];

for (const kind of TEST_DATABASE_KINDS) {
  describe(`export destinations and response headers (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        setup: async (context, db) => {
          await loadAggregateE2eMetadata(db.storage);
          await importAggregateE2eValues(context);
        },
      });
    });
    after(async () => {
      await stopTestApp(started);
      rmSync(join(exportRoot, kind), { recursive: true, force: true });
    });

    const requestExport = (path: string) =>
      started!.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'metadata',
          params: { collections: ['organisationUnits'] },
          format: 'json',
          destination: { type: 'directory', path },
        },
      });

    it('refuses a destination through a symbolic link inside the root', async () => {
      mkdirSync(join(exportRoot, kind), { recursive: true });
      symlinkSync(outside, join(exportRoot, kind, 'escape'));
      for (const path of [`${kind}/escape`, `${kind}/escape/deeper`]) {
        const reply = await requestExport(path);
        assert.equal(reply.statusCode, 400, `${path}: ${reply.body.slice(0, 300)}`);
        assert.match(reply.json().message, /symbolic link/);
      }
      assert.deepEqual(readdirSync(outside), []);
    });

    it('does not follow a link planted after the request was accepted', async () => {
      const reply = await requestExport(`${kind}/later/inner`);
      assert.equal(reply.statusCode, 201, reply.body.slice(0, 300));
      symlinkSync(outside, join(exportRoot, kind, 'later'));
      await started!.context.jobs.start();
      let card: { status: string; error?: unknown } | undefined;
      for (let i = 0; i < 400; i++) {
        card = (
          await started!.app.inject({
            url: `/api/exports/${reply.json().id}`,
            headers: { authorization: ADMIN_AUTH },
          })
        ).json();
        if (card?.status === 'COMPLETED' || card?.status === 'FAILED') break;
        await sleep(25);
      }
      assert.equal(card?.status, 'FAILED', JSON.stringify(card));
      assert.deepEqual(readdirSync(outside), [], 'nothing was written outside the root');
    });

    it('sends nosniff and a restrictive CSP on API responses, errors included', async () => {
      for (const [url, auth] of [
        ['/api/system/ping', false],
        ['/api/me', true],
        ['/api/me', false],
        ['/api/no-such-thing', true],
        ['/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&period=202001', true],
      ] as const) {
        const response = await started!.app.inject({
          url,
          headers: auth ? { authorization: ADMIN_AUTH } : {},
        });
        assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
        assert.match(String(response.headers['content-security-policy']), /default-src 'none'/, url);
      }
    });

    it('sends GET /api/dataValueSets.csv as an attachment', async () => {
      const response = await started!.app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&startDate=2019-01-01&endDate=2019-12-31',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200, response.body.slice(0, 300));
      assert.match(
        String(response.headers['content-disposition']),
        /^attachment; filename="dataValues[^"]*\.csv"/,
      );
    });

    it('drops bidi overrides from an attachment name given in the request', async () => {
      const response = await started!.app.inject({
        url: `/api/dataValueSets.json?dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&period=202001&attachment=${encodeURIComponent('report\u202Efdp.exe')}`,
        headers: { authorization: ADMIN_AUTH },
      });
      const disposition = String(response.headers['content-disposition']);
      assert.doesNotMatch(decodeURIComponent(disposition), /\u202e/);
      assert.match(disposition, /reportfdp\.exe/);
    });
  });
}

describe('upload and download names', () => {
  it('drops U+202E and other bidi, zero-width and control characters from upload names', () => {
    for (const character of BIDI) {
      const name = uploadFileName({ 'x-file-name': encodeURIComponent(`values${character}vsc.exe`) });
      assert.equal(name, 'valuesvsc.exe', JSON.stringify(character));
      const disposition = uploadFileName({
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(`a${character}b.csv`)}`,
      });
      assert.equal(disposition, 'ab.csv', JSON.stringify(character));
    }
    // Ordinary non-Latin names are kept whole.
    assert.equal(
      uploadFileName({ 'x-file-name': encodeURIComponent('données_مرحبا.csv') }),
      'données_مرحبا.csv',
    );
  });

  it('keeps them out of Content-Disposition', () => {
    const disposition = attachmentDisposition('data\u202Evsc.exe');
    assert.doesNotMatch(decodeURIComponent(disposition), /\u202e/);
    assert.match(disposition, /filename="datavsc\.exe"/);
  });
});
