import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import type { Authority } from '../../domain/access/authorities.ts';
import { FerryError } from '../../errors.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { installChangeCapture, maxSeq } from '../../storage/sync-change-store.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { checkPublicKey, generateSiteKeys, keyFingerprint } from './sync-keys.ts';

/**
 * The site registry (docs/sync.md, "Sites"): this site's identity and keys, and the parent and
 * children it trusts. A site card is what one site hands another to be registered: id, name and
 * public keys, never a private key.
 */

export const SITE_ROLES = ['parent', 'child'] as const;
export type SiteRole = (typeof SITE_ROLES)[number];

export interface SiteCard {
  format: 'ferry-site/1';
  site: string;
  name: string;
  signingPublicKey: string;
  encryptionPublicKey: string;
  fingerprint: string;
}

export interface SiteIdentity {
  siteId: string;
  name: string;
  signingPublic: string;
  signingPrivate: string;
  boxPublic: string;
  boxPrivate: string;
}

export interface SiteRow {
  siteId: string;
  name: string;
  role: SiteRole;
  signingPublic: string;
  boxPublic: string;
  url: string | null;
  encrypt: boolean;
  sentPackage: number;
  sentToSeq: number;
  sentAt: string | null;
  ackedPackage: number;
  ackedToSeq: number;
  ackedAt: string | null;
  receivedPackage: number;
  receivedToSeq: number;
  receivedAt: string | null;
  localSeqAfterImport: number;
}

const SITE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Refused with F1102 unless the principal (undefined: the operator on the CLI) holds `authority`. */
export function requireSyncAuthority(principal: Principal | undefined, authority: Authority): void {
  if (principal && !principalHasAuthority(principal, authority)) throw new FerryError('F1102', [authority]);
}

export async function findIdentity(db: SqlExecutor): Promise<SiteIdentity | undefined> {
  const row = await db.queryOne<Record<string, string>>('SELECT * FROM sync_identity');
  if (!row) return undefined;
  return {
    siteId: row.site_id,
    name: row.name,
    signingPublic: row.signing_public,
    signingPrivate: row.signing_private,
    boxPublic: row.box_public,
    boxPrivate: row.box_private,
  };
}

export async function requireIdentity(db: SqlExecutor): Promise<SiteIdentity> {
  const identity = await findIdentity(db);
  if (!identity) throw new FerryError('F1900');
  return identity;
}

/**
 * Makes this site a sync site: generates its keys and starts the change log (triggers and the
 * baseline of what is stored). Once only; a second call answers the existing identity.
 */
export async function initSite(
  context: FerryContext,
  principal: Principal | undefined,
  input: { siteId: string; name?: string },
): Promise<{ card: SiteCard; created: boolean }> {
  requireSyncAuthority(principal, 'F_SYNC_MANAGE');
  if (!SITE_ID.test(input.siteId))
    throw new FerryError('F1902', [
      `site id \`${input.siteId}\`: letters, digits, '.', '_' or '-', up to 64`,
    ]);
  return context.storage.transaction(async (tx) => {
    const existing = await findIdentity(tx);
    if (existing) {
      if (existing.siteId !== input.siteId)
        throw new FerryError('F1902', [`this site is already \`${existing.siteId}\``]);
      return { card: cardOf(existing), created: false };
    }
    const keys = generateSiteKeys();
    await tx.execute(
      `INSERT INTO sync_identity (site_id, name, signing_public, signing_private, box_public, box_private, created)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        input.siteId,
        input.name ?? input.siteId,
        keys.signingPublic,
        keys.signingPrivate,
        keys.boxPublic,
        keys.boxPrivate,
        new Date().toISOString(),
      ],
    );
    await installChangeCapture(tx);
    const identity = (await findIdentity(tx))!;
    return { card: cardOf(identity), created: true };
  });
}

export function cardOf(identity: SiteIdentity): SiteCard {
  return {
    format: 'ferry-site/1',
    site: identity.siteId,
    name: identity.name,
    signingPublicKey: identity.signingPublic,
    encryptionPublicKey: identity.boxPublic,
    fingerprint: keyFingerprint(identity.signingPublic),
  };
}

export async function ownCard(context: FerryContext): Promise<SiteCard> {
  return cardOf(await requireIdentity(context.storage));
}

/** Registers (or updates the keys, URL and encryption of) a parent or child from its site card. */
export async function addSite(
  context: FerryContext,
  principal: Principal | undefined,
  input: { card: unknown; role: string; url?: string; encrypt?: boolean },
): Promise<SiteRow> {
  requireSyncAuthority(principal, 'F_SYNC_MANAGE');
  const card = parseCard(input.card);
  if (!(SITE_ROLES as readonly string[]).includes(input.role))
    throw new FerryError('F1902', [`role \`${input.role}\`: parent or child`]);
  if (input.url !== undefined && !/^https?:\/\/[^\s]+$/.test(input.url))
    throw new FerryError('F1902', [
      `url \`${input.url}\`: an http:// or https:// address of the site's Ferry`,
    ]);
  return context.storage.transaction(async (tx) => {
    const identity = await requireIdentity(tx);
    if (card.site === identity.siteId) throw new FerryError('F1902', ['that is this site’s own card']);
    if (input.role === 'parent') {
      const other = await tx.queryOne<{ site_id: string }>(
        "SELECT site_id FROM sync_site WHERE role = 'parent' AND site_id <> ?",
        [card.site],
      );
      if (other) throw new FerryError('F1902', [`this site already has a parent, \`${other.site_id}\``]);
    }
    const now = new Date().toISOString();
    const updated = await tx.execute(
      `UPDATE sync_site SET name = ?, role = ?, signing_public = ?, box_public = ?, url = ?, encrypt = ? WHERE site_id = ?`,
      [
        card.name,
        input.role,
        card.signingPublicKey,
        card.encryptionPublicKey,
        input.url ?? null,
        input.encrypt ? 1 : 0,
        card.site,
      ],
    );
    if (updated.changes === 0) {
      await tx.execute(
        `INSERT INTO sync_site (site_id, name, role, signing_public, box_public, url, encrypt, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          card.site,
          card.name,
          input.role,
          card.signingPublicKey,
          card.encryptionPublicKey,
          input.url ?? null,
          input.encrypt ? 1 : 0,
          now,
        ],
      );
    }
    return (await findSite(tx, card.site))!;
  });
}

function parseCard(value: unknown): SiteCard {
  const card = (typeof value === 'string' ? safeJson(value) : value) as Partial<SiteCard> | undefined;
  if (!card || typeof card !== 'object' || card.format !== 'ferry-site/1')
    throw new FerryError('F1902', [
      'not a site card (format ferry-site/1): print one with `ferry sync sites card`',
    ]);
  if (typeof card.site !== 'string' || !SITE_ID.test(card.site))
    throw new FerryError('F1902', ['the card has no valid `site`']);
  try {
    checkPublicKey(String(card.signingPublicKey), 'ed25519');
    checkPublicKey(String(card.encryptionPublicKey), 'x25519');
  } catch (error) {
    throw new FerryError('F1902', [`the card's keys: ${(error as Error).message}`]);
  }
  return {
    format: 'ferry-site/1',
    site: card.site,
    name: typeof card.name === 'string' && card.name !== '' ? card.name : card.site,
    signingPublicKey: String(card.signingPublicKey),
    encryptionPublicKey: String(card.encryptionPublicKey),
    fingerprint: keyFingerprint(String(card.signingPublicKey)),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toSiteRow(row: Record<string, unknown>): SiteRow {
  return {
    siteId: String(row.site_id),
    name: String(row.name),
    role: row.role as SiteRole,
    signingPublic: String(row.signing_public),
    boxPublic: String(row.box_public),
    url: (row.url as string | null) ?? null,
    encrypt: Number(row.encrypt) === 1,
    sentPackage: Number(row.sent_package),
    sentToSeq: Number(row.sent_to_seq),
    sentAt: (row.sent_at as string | null) ?? null,
    ackedPackage: Number(row.acked_package),
    ackedToSeq: Number(row.acked_to_seq),
    ackedAt: (row.acked_at as string | null) ?? null,
    receivedPackage: Number(row.received_package),
    receivedToSeq: Number(row.received_to_seq),
    receivedAt: (row.received_at as string | null) ?? null,
    localSeqAfterImport: Number(row.local_seq_after_import),
  };
}

export async function findSite(
  db: SqlExecutor,
  siteId: string,
  forUpdate = false,
): Promise<SiteRow | undefined> {
  const lock = forUpdate && db.kind === 'postgres' ? ' FOR UPDATE' : '';
  const row = await db.queryOne<Record<string, unknown>>(`SELECT * FROM sync_site WHERE site_id = ?${lock}`, [
    siteId,
  ]);
  return row ? toSiteRow(row) : undefined;
}

export async function requireSite(db: SqlExecutor, siteId: string, forUpdate = false): Promise<SiteRow> {
  const site = await findSite(db, siteId, forUpdate);
  if (!site) throw new FerryError('F1901', [siteId]);
  return site;
}

export async function listSites(db: SqlExecutor): Promise<SiteRow[]> {
  const rows = await db.query<Record<string, unknown>>('SELECT * FROM sync_site ORDER BY role DESC, site_id');
  return rows.map(toSiteRow);
}

/** Metadata that stays at its site: users carry credentials and scopes of that site's people. */
export const LOCAL_METADATA: readonly string[] = ['users'];

/** What flows to a site: data up to the parent, metadata down to a child. */
export function kindsFor(role: SiteRole): readonly string[] {
  return role === 'parent'
    ? ['dataValue', 'completion', 'trackedEntity', 'enrollment', 'event', 'relationship']
    : ['metadata'];
}

export interface SiteStatus {
  site: string;
  name: string;
  role: SiteRole;
  url: string | null;
  encrypt: boolean;
  lastPackageSent: { sequence: number; at: string | null; coversTo: number } | null;
  lastAcknowledged: { sequence: number; at: string | null; coversTo: number } | null;
  lastPackageImported: { sequence: number; at: string | null } | null;
  /** Changes for the site after what it acknowledged; `unsent`: after what was last sent. */
  pendingChanges: number;
  unsentChanges: number;
  conflicts: number;
}

/** The status page and `ferry sync status`: each site's last package, acknowledgement, pending work, conflicts. */
export async function syncStatus(
  context: FerryContext,
  principal: Principal | undefined,
): Promise<{ site: SiteCard | null; sites: SiteStatus[]; changeSeq: number }> {
  if (
    principal &&
    !principalHasAuthority(principal, 'F_SYNC_EXPORT') &&
    !principalHasAuthority(principal, 'F_SYNC_IMPORT')
  )
    throw new FerryError('F1102', ['F_SYNC_EXPORT']);
  const db = context.storage;
  const identity = await findIdentity(db);
  if (!identity) return { site: null, sites: [], changeSeq: 0 };
  const out: SiteStatus[] = [];
  for (const site of await listSites(db)) {
    const kinds = kindsFor(site.role);
    const marks = kinds.map(() => '?').join(', ');
    const count = async (after: number) =>
      Number(
        (
          await db.queryOne<{ n: number | string }>(
            `SELECT COUNT(*) AS n FROM sync_change WHERE seq > ? AND kind IN (${marks}) AND (type IS NULL OR type NOT IN (${LOCAL_METADATA.map(() => '?').join(', ')}))`,
            [after, ...kinds, ...LOCAL_METADATA],
          )
        )?.n ?? 0,
      );
    const conflicts = await db.queryOne<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM sync_conflict WHERE site_id = ?',
      [site.siteId],
    );
    out.push({
      site: site.siteId,
      name: site.name,
      role: site.role,
      url: site.url,
      encrypt: site.encrypt,
      lastPackageSent:
        site.sentPackage > 0
          ? { sequence: site.sentPackage, at: site.sentAt, coversTo: site.sentToSeq }
          : null,
      lastAcknowledged:
        site.ackedPackage > 0
          ? { sequence: site.ackedPackage, at: site.ackedAt, coversTo: site.ackedToSeq }
          : null,
      lastPackageImported:
        site.receivedPackage > 0 ? { sequence: site.receivedPackage, at: site.receivedAt } : null,
      pendingChanges: await count(site.ackedToSeq),
      unsentChanges: await count(site.sentToSeq),
      conflicts: Number(conflicts?.n ?? 0),
    });
  }
  return { site: cardOf(identity), sites: out, changeSeq: await maxSeq(db) };
}
