import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The server's key for secrets Ferry must be able to read back (cloud destination credentials): a
 * 256-bit key from FERRY_SECRET_KEY (base64 or hex), else from the file FERRY_SECRET_KEY_FILE
 * (default `<dataDir>/secret.key`), created with mode 0600 on first use. Secrets are sealed with
 * AES-256-GCM under a fresh 96-bit nonce each, the purpose bound in as additional authenticated
 * data (a credential sealed for one remote can't be replayed as another's). A database dump or
 * backup without the key reveals nothing; whoever has both the database and the key has the
 * secrets (docs/security.md, "Cloud destination credentials").
 */

const FORMAT = 'v1';

export class ServerKey {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('The server key must be 32 bytes (256 bits)');
    this.key = key;
  }

  /** `v1:<nonce>:<tag>:<ciphertext>`, base64 parts. */
  seal(plaintext: string, purpose: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      FORMAT,
      nonce.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join(':');
  }

  /** The plaintext; throws when the key, the purpose or the sealed text is not the one sealed. */
  open(sealed: string, purpose: string): string {
    const [format, nonce, tag, body] = sealed.split(':');
    if (format !== FORMAT || !nonce || !tag || body === undefined) throw new Error('Not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64'));
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        'A stored secret cannot be decrypted with this server key (FERRY_SECRET_KEY / the key file changed?)',
      );
    }
  }
}

function parseKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== 32)
    throw new Error(`${origin} must hold a 256-bit key: 64 hex digits or 44 base64 characters`);
  return key;
}

/** The server key as configured, creating the key file when there is none. */
export function loadServerKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): ServerKey {
  if (env.FERRY_SECRET_KEY) return new ServerKey(parseKey(env.FERRY_SECRET_KEY, 'FERRY_SECRET_KEY'));
  const path = env.FERRY_SECRET_KEY_FILE || join(dataDir, 'secret.key');
  try {
    return new ServerKey(parseKey(readFileSync(path, 'utf8'), path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  try {
    // O_EXCL: two processes starting at once can't both write a key; the loser reads the winner's.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return new ServerKey(parseKey(readFileSync(path, 'utf8'), path));
}
