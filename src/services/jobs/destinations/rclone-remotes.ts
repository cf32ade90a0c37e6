import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlExecutor } from '../../../storage/storage.ts';
import { generateUid } from '../../../domain/identifiers/uid.ts';
import { FerryError } from '../../../errors.ts';
import type { ServerKey } from './server-key.ts';

/**
 * Cloud destinations of exports through rclone (Debian's `rclone`), the standard tool for WebDAV,
 * SFTP, S3, Dropbox, OneDrive and Google Drive: a remote is a named rclone configuration, owned by a
 * user or by the server. Its non-secret options are stored as they are; its secrets (passwords, keys,
 * OAuth tokens) sealed with the server key, and never returned. Each type accepts a fixed list of
 * options: rclone options that run programs or read server files (sftp's `ssh`, `key_file`) are
 * refused, so a remote can't be turned against the server.
 *
 * A delivery runs `rclone copyto FILE ferrydest:PATH` with the remote given as RCLONE_CONFIG_FERRYDEST_*
 * environment variables of that one process (never on its command line, which other local users can
 * read) and an empty configuration file, so nothing else from the server's rclone setup applies.
 */

interface RemoteType {
  /** Options stored and shown as they are. */
  options: readonly string[];
  /** Options sealed with the server key, never shown. */
  secrets: readonly string[];
  /** Secrets rclone expects "obscured" (rclone obscure) in its configuration. */
  obscured: readonly string[];
  required: readonly string[];
}

export const REMOTE_TYPES: Readonly<Record<string, RemoteType>> = {
  webdav: {
    options: ['url', 'vendor', 'user'],
    secrets: ['pass', 'bearer_token'],
    obscured: ['pass'],
    required: ['url'],
  },
  sftp: {
    options: ['host', 'port', 'user', 'known_hosts_file', 'shell_type'],
    secrets: ['pass', 'key_pem', 'key_file_pass'],
    obscured: ['pass', 'key_file_pass'],
    required: ['host'],
  },
  s3: {
    options: ['provider', 'endpoint', 'region', 'location_constraint', 'acl', 'storage_class'],
    secrets: ['access_key_id', 'secret_access_key', 'session_token'],
    obscured: [],
    required: ['provider'],
  },
  // OAuth services: `token` is the JSON that `rclone authorize "<type>"` prints after the provider's
  // own sign-in on a machine with a browser (rclone's authorize flow).
  dropbox: { options: ['client_id'], secrets: ['token', 'client_secret'], obscured: [], required: ['token'] },
  onedrive: {
    options: ['client_id', 'drive_id', 'drive_type'],
    secrets: ['token', 'client_secret'],
    obscured: [],
    required: ['token', 'drive_id', 'drive_type'],
  },
  drive: {
    options: ['client_id', 'scope', 'root_folder_id', 'team_drive'],
    secrets: ['token', 'client_secret'],
    obscured: [],
    required: ['token'],
  },
};

/** The name rclone knows the remote by inside one delivery. */
const RCLONE_NAME = 'ferrydest';
/** Longest rclone message kept in a job's error. */
const MAX_MESSAGE = 600;

export interface RemoteView {
  id: string;
  name: string;
  type: string;
  /** `user`: the owner's own; `server`: every user who may export can deliver to it. */
  scope: 'user' | 'server';
  owner: string | null;
  options: Record<string, string>;
  /** Which secrets are set (their names only). */
  secrets: string[];
  created: string;
}

export interface RemoteViewer {
  uid: string;
  authorities: ReadonlySet<string>;
}

interface RemoteRow {
  id: string;
  name: string;
  owner_uid: string | null;
  type: string;
  options: string;
  secrets: string;
  created: string;
}

const isSuperuser = (viewer: RemoteViewer) => viewer.authorities.has('ALL');

/** A remote path: relative, `/`-separated, no `..`, no control characters. */
export function checkRemotePath(path: unknown, field: string): string {
  if (path === undefined || path === null || path === '') return '';
  if (
    typeof path !== 'string' ||
    path.startsWith('/') ||
    /[\u0000-\u001f\u007f\\:]/.test(path) ||
    path.split('/').some((part) => part === '..' || part === '.')
  ) {
    throw new FerryError('F1000', [
      field,
      String(path),
      'a relative path on the remote, without .., : or \\',
    ]);
  }
  return path.replace(/\/+$/, '');
}

export class RcloneRemotes {
  private readonly db: SqlExecutor;
  private readonly key: () => ServerKey;
  private readonly rclone: string;

  /** `key` is called when a secret is sealed or opened (the key file is created on first use). */
  constructor(db: SqlExecutor, key: () => ServerKey, rclone = process.env.FERRY_RCLONE || 'rclone') {
    this.db = db;
    this.key = key;
    this.rclone = rclone;
  }

  private view(row: RemoteRow): RemoteView {
    return {
      id: row.id,
      name: row.name,
      type: row.type,
      scope: row.owner_uid === null ? 'server' : 'user',
      owner: row.owner_uid,
      options: JSON.parse(row.options) as Record<string, string>,
      secrets: (JSON.parse(row.secrets) as { names: string[] }).names,
      created: row.created,
    };
  }

  /** The viewer's own remotes and the server's. */
  async list(viewer: RemoteViewer): Promise<RemoteView[]> {
    const rows = await this.db.query<RemoteRow>(
      'SELECT * FROM export_remote WHERE owner_uid = ? OR owner_uid IS NULL ORDER BY name, id',
      [viewer.uid],
    );
    return rows.map((row) => this.view(row));
  }

  /**
   * Adds a remote. `scope: 'server'` needs `ALL`. Options are checked against the type's list;
   * secrets are sealed before anything is stored.
   */
  async create(viewer: RemoteViewer, body: Record<string, unknown>): Promise<RemoteView> {
    const name = body.name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(name)) {
      throw new FerryError('F1000', [
        'name',
        String(name),
        'a name of 1-64 letters, digits, spaces, _ . - (starting with a letter or digit)',
      ]);
    }
    const type = String(body.type);
    const spec = REMOTE_TYPES[type];
    if (!spec) throw new FerryError('F1000', ['type', type, Object.keys(REMOTE_TYPES).join(', ')]);
    const scope = body.scope ?? 'user';
    if (scope !== 'user' && scope !== 'server')
      throw new FerryError('F1000', ['scope', String(scope), 'user, server']);
    if (scope === 'server' && !isSuperuser(viewer)) throw new FerryError('F1102', ['ALL']);
    const given = body.options ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new FerryError('F1000', ['options', JSON.stringify(given), 'a JSON object of rclone options']);
    }
    const options: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const [option, value] of Object.entries(given as Record<string, unknown>)) {
      const secret = spec.secrets.includes(option);
      if (!secret && !spec.options.includes(option)) {
        throw new FerryError('F1000', [
          `options.${option}`,
          secret ? '(hidden)' : String(value),
          `one of the ${type} options ${[...spec.options, ...spec.secrets].join(', ')}`,
        ]);
      }
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new FerryError('F1000', [
          `options.${option}`,
          secret ? '(hidden)' : JSON.stringify(value),
          'a string',
        ]);
      }
      if (/[\u0000]/.test(String(value)))
        throw new FerryError('F1000', [`options.${option}`, '(hidden)', 'text']);
      // A path on the server: rclone reads it, and its complaints about the file's lines reach the job's
      // error, so only a superuser's server-wide remote may name one.
      if (option === 'known_hosts_file' && scope !== 'server') {
        throw new FerryError('F1000', [
          `options.${option}`,
          String(value),
          'only on a server remote (scope "server")',
        ]);
      }
      (secret ? secrets : options)[option] = String(value);
    }
    for (const option of spec.required) {
      if (options[option] === undefined && secrets[option] === undefined)
        throw new FerryError('F1004', [`options.${option}`]);
    }
    if (type === 'webdav' && !/^https?:\/\//.test(options.url)) {
      throw new FerryError('F1000', ['options.url', options.url, 'an http:// or https:// URL']);
    }
    const owner = scope === 'server' ? null : viewer.uid;
    const existing = await this.db.queryOne(
      "SELECT id FROM export_remote WHERE COALESCE(owner_uid, '') = ? AND name = ?",
      [owner ?? '', name],
    );
    if (existing)
      throw new FerryError('F1000', [
        'name',
        name,
        `a name not yet used by ${scope === 'server' ? 'the server' : 'you'}`,
      ]);
    const id = generateUid();
    const sealed = this.key().seal(JSON.stringify(secrets), `export_remote:${id}`);
    const row: RemoteRow = {
      id,
      name,
      owner_uid: owner,
      type,
      options: JSON.stringify(options),
      // The names are kept beside the sealed values so a listing can say which are set without the key.
      secrets: JSON.stringify({ names: Object.keys(secrets).sort(), sealed }),
      created: new Date().toISOString(),
    };
    await this.db.execute(
      `INSERT INTO export_remote (id, name, owner_uid, type, options, secrets, created, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [row.id, row.name, row.owner_uid, row.type, row.options, row.secrets, row.created, viewer.uid],
    );
    return this.view(row);
  }

  /** Removes a remote: its owner, or `ALL` for the server's. */
  async remove(viewer: RemoteViewer, id: string): Promise<void> {
    const row = await this.db.queryOne<RemoteRow>('SELECT * FROM export_remote WHERE id = ?', [id]);
    if (!row || (row.owner_uid !== null && row.owner_uid !== viewer.uid && !isSuperuser(viewer)))
      throw new FerryError('F1200', ['Export remote', id]);
    if (row.owner_uid === null && !isSuperuser(viewer)) throw new FerryError('F1102', ['ALL']);
    await this.db.execute('DELETE FROM export_remote WHERE id = ?', [id]);
  }

  /**
   * The remote `nameOrId` as `userUid` may use it (their own, else the server's of that name), or a
   * 409 naming it; used when an export is requested and again when it is delivered.
   */
  async find(userUid: string | null, nameOrId: unknown): Promise<RemoteRow> {
    if (typeof nameOrId !== 'string' || nameOrId === '')
      throw new FerryError('F1004', ['destination.remote']);
    const rows = await this.db.query<RemoteRow>(
      `SELECT * FROM export_remote WHERE (id = ? OR name = ?) AND (owner_uid = ? OR owner_uid IS NULL)`,
      [nameOrId, nameOrId, userUid ?? ''],
    );
    // The user's own remote wins over the server's of the same name.
    const row = rows.find((r) => r.owner_uid !== null) ?? rows[0];
    if (!row) throw new FerryError('F1300', [`No export remote \`${nameOrId}\` of yours or of the server`]);
    return row;
  }

  /** Copies `localPath` to `remotePath` on the remote; resolves to `<remote name>:<path>`. */
  async deliver(
    row: RemoteRow,
    localPath: string,
    remotePath: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const spec = REMOTE_TYPES[row.type];
    if (!spec) throw new Error(`Export remote ${row.name} has an unknown type ${row.type}`);
    const { sealed } = JSON.parse(row.secrets) as { sealed: string };
    const secrets = JSON.parse(this.key().open(sealed, `export_remote:${row.id}`)) as Record<string, string>;
    const options = JSON.parse(row.options) as Record<string, string>;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RCLONE_')) env[k] = v;
    const prefix = `RCLONE_CONFIG_${RCLONE_NAME.toUpperCase()}_`;
    env[`${prefix}TYPE`] = row.type;
    for (const [option, value] of Object.entries(options)) env[`${prefix}${option.toUpperCase()}`] = value;
    for (const [option, value] of Object.entries(secrets)) {
      env[`${prefix}${option.toUpperCase()}`] = spec.obscured.includes(option)
        ? await this.obscure(value)
        : value;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rclone-'));
    try {
      const config = join(dir, 'rclone.conf');
      await writeFile(config, '', { mode: 0o600 });
      await this.run(
        [
          'copyto',
          localPath,
          `${RCLONE_NAME}:${remotePath}`,
          '--config',
          config,
          '--retries',
          '3',
          '--low-level-retries',
          '5',
          '--contimeout',
          '30s',
          '--timeout',
          '5m',
        ],
        env,
        signal,
        `Delivering to export remote ${row.name}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return `${row.name}:${remotePath}`;
  }

  /** rclone's reversible "obscure" form of a password, as its configuration expects (from stdin). */
  private async obscure(value: string): Promise<string> {
    return (await this.run(['obscure', '-'], process.env, undefined, 'rclone obscure', `${value}\n`)).trim();
  }

  private run(
    args: string[],
    env: NodeJS.ProcessEnv,
    signal: AbortSignal | undefined,
    what: string,
    input?: string,
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.rclone, args, {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(signal ? { signal } : {}),
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (err.length < 64 * 1024) err += d;
      });
      child.stdin.end(input ?? '');
      child.once('error', (error) => {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new Error(
            missing
              ? `${what}: rclone is not installed (Debian package rclone; FERRY_RCLONE names another binary)`
              : `${what}: ${error.message}`,
          ),
        );
      });
      child.once('close', (code) => {
        if (code === 0) return resolve(out);
        const message = err.trim().split('\n').slice(-3).join(' ').slice(0, MAX_MESSAGE);
        reject(new Error(`${what} failed (rclone exit status ${code}): ${message}`));
      });
    });
  }
}
