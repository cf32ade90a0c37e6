import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type CipherGCM,
  type DecipherGCM,
} from 'node:crypto';

/**
 * A site's keys (docs/sync.md, "Keys"): Ed25519 signs manifests and acknowledgements; X25519
 * agrees a key with the receiving site for encrypted packages. Keys are PEM (SPKI public, PKCS#8
 * private), as OpenSSL prints them, so an operator can inspect them.
 */
export interface SiteKeys {
  signingPublic: string;
  signingPrivate: string;
  boxPublic: string;
  boxPrivate: string;
}

export function generateSiteKeys(): SiteKeys {
  const signing = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const box = generateKeyPairSync('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    signingPublic: signing.publicKey,
    signingPrivate: signing.privateKey,
    boxPublic: box.publicKey,
    boxPrivate: box.privateKey,
  };
}

/** Refuses a key that is not a PEM public key of the given type; returns it unchanged. */
export function checkPublicKey(pem: string, type: 'ed25519' | 'x25519'): string {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== type) throw new Error(`not an ${type} public key`);
  return pem;
}

export function signBytes(privatePem: string, data: Buffer): string {
  return sign(null, data, createPrivateKey(privatePem)).toString('base64');
}

export function verifyBytes(publicPem: string, data: Buffer, signature: string): boolean {
  // Base64 decoding skips characters outside the alphabet and ignores padding bits: a changed
  // character could decode to the same signature. Only the one canonical text is accepted.
  if (Buffer.from(signature, 'base64').toString('base64') !== signature) return false;
  try {
    return verify(null, data, createPublicKey(publicPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** A short, stable name of a public key for people to compare (SHA-256 of the DER, 16 hex digits). */
export function keyFingerprint(publicPem: string): string {
  const der = createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
  return hkdfHex(der);
}

function hkdfHex(der: Buffer): string {
  return Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), 'ferry-key-fingerprint', 8)).toString('hex');
}

/**
 * Encryption for one package: an ephemeral X25519 key pair; the shared secret with the receiver's
 * X25519 key goes through HKDF-SHA256 (salt: the ephemeral public key, info: the part's name) to an
 * AES-256-GCM key per part. The ephemeral public key and each part's nonce and tag are in the
 * manifest, which is signed.
 */
export interface PackageSealer {
  ephemeralPublic: string;
  cipherFor(part: string): { cipher: CipherGCM; nonce: string };
}

export function packageSealer(receiverBoxPublic: string): PackageSealer {
  const ephemeral = generateKeyPairSync('x25519');
  const secret = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: createPublicKey(receiverBoxPublic),
  });
  const ephemeralPublic = ephemeral.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    ephemeralPublic,
    cipherFor(part) {
      const nonce = randomBytes(12);
      const key = partKey(secret, ephemeralPublic, part);
      return { cipher: createCipheriv('aes-256-gcm', key, nonce), nonce: nonce.toString('base64') };
    },
  };
}

export function partDecipher(
  boxPrivatePem: string,
  ephemeralPublic: string,
  part: string,
  nonce: string,
  tag: string,
): DecipherGCM {
  const secret = diffieHellman({
    privateKey: createPrivateKey(boxPrivatePem),
    publicKey: createPublicKey(ephemeralPublic),
  });
  const decipher = createDecipheriv(
    'aes-256-gcm',
    partKey(secret, ephemeralPublic, part),
    Buffer.from(nonce, 'base64'),
  );
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return decipher;
}

function partKey(secret: Buffer, ephemeralPublic: string, part: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.from(ephemeralPublic), `ferry-sync-part:${part}`, 32));
}
