import type { Principal } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { requireSyncAuthority } from './sync-site-registry.ts';

/**
 * Conflicts (docs/sync.md, "Conflicts"): the same value or tracker object changed here since the
 * last package from a site was imported, and changed differently in the package. One rule decides
 * which version stays; both versions are kept in `sync_conflict`, so nothing is lost silently.
 *
 * - `last-writer` (default): the later `lastUpdated` wins; on a tie the parent's version stays.
 * - `parent-wins`: the parent's version always stays.
 * - `child-wins`: the child's version always stays.
 *
 * Set with FERRY_SYNC_CONFLICT_RULE.
 */
export const CONFLICT_RULES = ['last-writer', 'parent-wins', 'child-wins'] as const;
export type ConflictRule = (typeof CONFLICT_RULES)[number];

export function conflictRule(env: NodeJS.ProcessEnv = process.env): ConflictRule {
  const value = env.FERRY_SYNC_CONFLICT_RULE;
  if (value === undefined || value === '') return 'last-writer';
  if (!(CONFLICT_RULES as readonly string[]).includes(value))
    throw new FerryError('F1000', ['FERRY_SYNC_CONFLICT_RULE', value, CONFLICT_RULES.join(', ')]);
  return value as ConflictRule;
}

/**
 * Whether the incoming version replaces the local one. `localIsParent`: this site is the parent of
 * the sender (data flowing up), so the local version is the parent's.
 */
export function incomingWins(
  rule: ConflictRule,
  localIsParent: boolean,
  localUpdated: string | null,
  incomingUpdated: string | null,
): boolean {
  if (rule === 'parent-wins') return !localIsParent;
  if (rule === 'child-wins') return localIsParent;
  const local = localUpdated ?? '';
  const incoming = incomingUpdated ?? '';
  if (incoming === local) return !localIsParent;
  return incoming > local;
}

export interface ConflictRecord {
  siteId: string;
  packageSequence: number;
  kind: string;
  objectKey: string;
  localValue: unknown;
  localUpdated: string | null;
  incomingValue: unknown;
  incomingUpdated: string | null;
  rule: ConflictRule;
  kept: 'local' | 'incoming';
}

export async function recordConflicts(tx: SqlExecutor, conflicts: readonly ConflictRecord[]): Promise<void> {
  if (conflicts.length === 0) return;
  const now = new Date().toISOString();
  await tx.executeMany(
    `INSERT INTO sync_conflict (site_id, package_sequence, kind, object_key, local_value, local_updated,
       incoming_value, incoming_updated, rule, kept, detected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    conflicts.map((c) => [
      c.siteId,
      c.packageSequence,
      c.kind,
      c.objectKey,
      c.localValue === undefined ? null : JSON.stringify(c.localValue),
      c.localUpdated,
      c.incomingValue === undefined ? null : JSON.stringify(c.incomingValue),
      c.incomingUpdated,
      c.rule,
      c.kept,
      now,
    ]),
  );
}

export interface ConflictReportEntry {
  id: number;
  site: string;
  package: number;
  kind: string;
  key: string;
  local: { value: unknown; lastUpdated: string | null };
  incoming: { value: unknown; lastUpdated: string | null };
  rule: string;
  kept: string;
  detected: string;
}

/** The conflict report, newest first, optionally for one site. */
export async function listConflicts(
  context: FerryContext,
  principal: Principal | undefined,
  options: { site?: string; limit?: number } = {},
): Promise<ConflictReportEntry[]> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  const limit = Math.min(Math.max(options.limit ?? 500, 1), 10_000);
  const rows = await context.storage.query<Record<string, unknown>>(
    `SELECT * FROM sync_conflict ${options.site ? 'WHERE site_id = ?' : ''} ORDER BY conflict_id DESC LIMIT ${limit}`,
    options.site ? [options.site] : [],
  );
  const parse = (text: unknown) => (text === null || text === undefined ? null : JSON.parse(String(text)));
  return rows.map((r) => ({
    id: Number(r.conflict_id),
    site: String(r.site_id),
    package: Number(r.package_sequence),
    kind: String(r.kind),
    key: String(r.object_key),
    local: { value: parse(r.local_value), lastUpdated: (r.local_updated as string | null) ?? null },
    incoming: { value: parse(r.incoming_value), lastUpdated: (r.incoming_updated as string | null) ?? null },
    rule: String(r.rule),
    kept: String(r.kept),
    detected: String(r.detected),
  }));
}
