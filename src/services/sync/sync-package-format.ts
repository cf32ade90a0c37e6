/**
 * The sync package (docs/sync.md, "Package format"): a zip of `manifest.json`, `manifest.sig`
 * (the Ed25519 signature of the manifest's bytes, base64) and parts under `parts/`. Each part is a
 * JSON document in one of Ferry's formats, gzip-compressed and, for an encrypted package,
 * AES-256-GCM-encrypted after compression; the manifest gives each part's SHA-256 and size as
 * stored in the zip, so the signature covers every byte of the package.
 *
 * A part's JSON is written with one object per line between the opening and closing lines
 * (`{"dataValues":[` ... `]}`): still the same JSON document for any reader, and Ferry's reader
 * takes it a line at a time, so neither side holds a part in memory.
 */

export const PACKAGE_FORMAT = 'ferry-sync-package/1';
export const ACK_FORMAT = 'ferry-sync-ack/1';
export const ENCRYPTION_ALGORITHM = 'X25519-HKDF-SHA256-AES-256-GCM';

/** The parts in import order: metadata before the data that refers to it, tracked entities before enrollments... */
export const PART_NAMES = [
  'metadata',
  'metadataDeletions',
  'dataValues',
  'completeDataSetRegistrations',
  'trackedEntities',
  'enrollments',
  'events',
  'relationships',
] as const;
export type PartName = (typeof PART_NAMES)[number];

/** The file of each part in the zip, and the top-level key its JSON array sits under. */
export const PART_FILES: Readonly<Record<PartName, { file: string; key: string }>> = {
  metadata: { file: 'parts/metadata.json.gz', key: 'metadata' },
  metadataDeletions: { file: 'parts/metadata-deletions.json.gz', key: 'deletions' },
  dataValues: { file: 'parts/data-values.json.gz', key: 'dataValues' },
  completeDataSetRegistrations: {
    file: 'parts/complete-registrations.json.gz',
    key: 'completeDataSetRegistrations',
  },
  trackedEntities: { file: 'parts/tracked-entities.json.gz', key: 'trackedEntities' },
  enrollments: { file: 'parts/enrollments.json.gz', key: 'enrollments' },
  events: { file: 'parts/events.json.gz', key: 'events' },
  relationships: { file: 'parts/relationships.json.gz', key: 'relationships' },
};

export interface ManifestPart {
  name: PartName;
  file: string;
  /** SHA-256 (hex) and size of the bytes stored in the zip (compressed, and encrypted if so). */
  sha256: string;
  bytes: number;
  count: number;
  encoding: 'gzip';
  /** Encrypted packages: the part's AES-GCM nonce and tag, base64. */
  nonce?: string;
  tag?: string;
}

export interface PackageManifest {
  format: typeof PACKAGE_FORMAT;
  ferryVersion: string;
  source: string;
  target: string;
  /** 1, 2, 3... per (source, target). */
  sequence: number;
  /** The source's change log range the package covers: (fromSeq, toSeq]. */
  fromSeq: number;
  toSeq: number;
  created: string;
  direction: 'up' | 'down';
  counts: Record<string, number>;
  parts: ManifestPart[];
  encryption: { algorithm: typeof ENCRYPTION_ALGORITHM; ephemeralPublicKey: string } | null;
}

export interface Acknowledgement {
  format: typeof ACK_FORMAT;
  /** The site that imported the package and signs this. */
  source: string;
  /** The site that sent the package. */
  target: string;
  sequence: number;
  toSeq: number;
  /** SHA-256 of the package's manifest.json: which package exactly was imported. */
  manifestSha256: string;
  imported: string;
  status: 'IMPORTED' | 'ALREADY_IMPORTED';
  counts: Record<string, number>;
  conflicts: number;
}

/** The signed acknowledgement file: the ack's JSON text and its signature over those bytes. */
export interface AcknowledgementFile {
  acknowledgement: string;
  signature: string;
}

/**
 * The zip's comment, its last bytes: `ferry-sync-signature:` and the Ed25519 signature (base64,
 * 88 characters) of `ferry-sync-package:<SHA-256 of every byte before the signature>`. The
 * manifest's signature covers the parts' content; this one covers every byte of the file, the zip's
 * own headers included, so no byte can change unnoticed.
 */
export const FILE_SIGNATURE_PREFIX = 'ferry-sync-signature:';
export const FILE_SIGNATURE_LENGTH = 88;

export function fileSignedText(sha256Hex: string): Buffer {
  return Buffer.from(`ferry-sync-package:${sha256Hex}`);
}

/** A split piece's name: `<file>.part-<i>-of-<n>`. */
export const PIECE_PATTERN = /^(.*)\.part-(\d+)-of-(\d+)$/;

export function pieceName(file: string, index: number, count: number): string {
  return `${file}.part-${index}-of-${count}`;
}
