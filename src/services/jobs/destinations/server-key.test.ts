import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerKey, ServerKey } from './server-key.ts';

test('a key file is created once, mode 0600, and read back by the next load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-key-'));
  try {
    const first = loadServerKey(dir, {});
    const path = join(dir, 'secret.key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    const second = loadServerKey(dir, {});
    assert.equal(readFileSync(path, 'utf8'), text);
    const sealed = first.seal('pässword', 'remote:1');
    assert.equal(second.open(sealed, 'remote:1'), 'pässword');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sealed text hides the secret and opens only with the same key and purpose', () => {
  const key = new ServerKey(Buffer.alloc(32, 7));
  const sealed = key.seal('Rclone-secret-42', 'export_remote:a');
  assert.ok(!sealed.includes('Rclone-secret-42'));
  assert.notEqual(key.seal('Rclone-secret-42', 'export_remote:a'), sealed, 'a fresh nonce each time');
  assert.equal(key.open(sealed, 'export_remote:a'), 'Rclone-secret-42');
  assert.throws(() => key.open(sealed, 'export_remote:b'), /cannot be decrypted/);
  assert.throws(
    () => new ServerKey(Buffer.alloc(32, 8)).open(sealed, 'export_remote:a'),
    /cannot be decrypted/,
  );
  const [v, nonce, tag, body] = sealed.split(':');
  const flipped = Buffer.from(body, 'base64');
  flipped[0] ^= 1;
  assert.throws(() => key.open([v, nonce, tag, flipped.toString('base64')].join(':'), 'export_remote:a'));
});

test('FERRY_SECRET_KEY takes a 64-digit hex or base64 key and refuses anything else', () => {
  const hex = 'ab'.repeat(32);
  const a = loadServerKey('/nonexistent', { FERRY_SECRET_KEY: hex });
  const b = loadServerKey('/nonexistent', { FERRY_SECRET_KEY: Buffer.from(hex, 'hex').toString('base64') });
  assert.equal(b.open(a.seal('x', 'p'), 'p'), 'x');
  assert.throws(() => loadServerKey('/nonexistent', { FERRY_SECRET_KEY: 'short' }), /256-bit/);
});
