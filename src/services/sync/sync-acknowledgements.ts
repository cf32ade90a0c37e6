import { createReadStream } from 'node:fs';
import type { Principal } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { signBytes, verifyBytes } from './sync-keys.ts';
import { ACK_FORMAT, type Acknowledgement, type AcknowledgementFile } from './sync-package-format.ts';
import { requireIdentity, requireSyncAuthority, type SiteIdentity } from './sync-site-registry.ts';

/** An acknowledgement is a few hundred bytes; anything much larger is not one. */
const MAX_ACK_BYTES = 64 * 1024;

/**
 * Acknowledgements (docs/sync.md, "Acknowledgements"): the receiver of a package signs what it
 * imported (sequence, change range, the manifest's SHA-256); the sender imports that file and
 * advances its cursor, so `--from-ack` and the status page know what has surely arrived.
 */
export function signAcknowledgement(
  identity: SiteIdentity,
  input: Omit<Acknowledgement, 'format' | 'source' | 'imported'>,
): AcknowledgementFile {
  const ack: Acknowledgement = {
    format: ACK_FORMAT,
    source: identity.siteId,
    ...input,
    imported: new Date().toISOString(),
  };
  const text = JSON.stringify(ack);
  return { acknowledgement: text, signature: signBytes(identity.signingPrivate, Buffer.from(text)) };
}

export async function readAcknowledgementFile(path: string, label: string): Promise<unknown> {
  let text = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' }) as AsyncIterable<string>) {
    text += chunk;
    if (text.length > MAX_ACK_BYTES) throw new FerryError('F1910', [label, 'larger than an acknowledgement']);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new FerryError('F1910', [label, 'not JSON']);
  }
}

export interface AckResult {
  site: string;
  sequence: number;
  /** False when the site had acknowledged this package (or a later one) already. */
  advanced: boolean;
  ackedPackage: number;
}

/**
 * Applies a signed acknowledgement: from a registered site, addressed to this site, signed by the
 * site's key, for a package this site sent with that exact manifest. Idempotent: an older or
 * repeated acknowledgement changes nothing.
 */
export async function applyAcknowledgement(
  context: FerryContext,
  principal: Principal | undefined,
  file: unknown,
  label = 'acknowledgement',
): Promise<AckResult> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  const identity = await requireIdentity(context.storage);
  const wrapper = file as Partial<AcknowledgementFile> | null;
  if (!wrapper || typeof wrapper.acknowledgement !== 'string' || typeof wrapper.signature !== 'string')
    throw new FerryError('F1910', [label, 'not an acknowledgement file (acknowledgement and signature)']);
  let ack: Acknowledgement;
  try {
    ack = JSON.parse(wrapper.acknowledgement) as Acknowledgement;
  } catch {
    throw new FerryError('F1910', [label, 'the acknowledgement is not JSON']);
  }
  if (ack.format !== ACK_FORMAT) throw new FerryError('F1910', [label, `format is not ${ACK_FORMAT}`]);
  if (ack.target !== identity.siteId)
    throw new FerryError('F1910', [
      label,
      `addressed to \`${ack.target}\`, not to this site (\`${identity.siteId}\`)`,
    ]);
  return context.storage.transaction(async (tx) => {
    const lock = tx.kind === 'postgres' ? ' FOR UPDATE' : '';
    const site = await tx.queryOne<{ signing_public: string; acked_package: number | string }>(
      `SELECT signing_public, acked_package FROM sync_site WHERE site_id = ?${lock}`,
      [String(ack.source)],
    );
    if (!site)
      throw new FerryError('F1910', [label, `from \`${ack.source}\`, a site this site does not know`]);
    if (!verifyBytes(site.signing_public, Buffer.from(wrapper.acknowledgement!), wrapper.signature!))
      throw new FerryError('F1910', [label, `the signature does not match the key of \`${ack.source}\``]);
    const sent = await tx.queryOne<{ digest: string; to_seq: number | string }>(
      "SELECT digest, to_seq FROM sync_package WHERE direction = 'out' AND site_id = ? AND sequence = ?",
      [ack.source, ack.sequence],
    );
    if (!sent)
      throw new FerryError('F1910', [label, `package ${ack.sequence} was never sent to \`${ack.source}\``]);
    if (sent.digest !== ack.manifestSha256)
      throw new FerryError('F1910', [
        label,
        `it acknowledges another package ${ack.sequence} than the one sent`,
      ]);
    const ackedPackage = Number(site.acked_package);
    if (ack.sequence <= ackedPackage)
      return { site: ack.source, sequence: ack.sequence, advanced: false, ackedPackage };
    await tx.execute(
      'UPDATE sync_site SET acked_package = ?, acked_to_seq = ?, acked_at = ? WHERE site_id = ?',
      [ack.sequence, Number(sent.to_seq), new Date().toISOString(), ack.source],
    );
    return { site: ack.source, sequence: ack.sequence, advanced: true, ackedPackage: ack.sequence };
  });
}
