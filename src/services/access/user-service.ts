import { randomBytes } from 'node:crypto';
import type { SqlExecutor, Storage } from '../../storage/storage.ts';
import type { MetadataObject, MetadataStore } from '../../storage/metadata-store.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import { hashPassword } from '../../domain/access/password-hash.ts';
import { passwordPolicyViolations } from '../../domain/access/password-policy.ts';
import { referenceIds } from '../../domain/access/principal.ts';
import { withoutUserSecrets } from '../../domain/access/user-secrets.ts';
import { FerryError } from '../../errors.ts';

/** DHIS2's username rule: 4-255 of letters, digits, `.`, `_`, `@`; no leading, trailing or doubled symbol. */
const USERNAME_PATTERN = /^(?=.{4,255}$)(?![_.@])(?!.*[_.@]{2})[a-zA-Z0-9._@]+(?<![_.@])$/;

export const SUPERUSER_ROLE_NAME = 'Superuser';
export const ADMIN_USERNAME = 'admin';

export interface NewUser {
  username: string;
  password: string;
  firstName?: string;
  surname?: string;
  email?: string;
  /** Role UIDs or names. */
  roles?: readonly string[];
  /** Data capture org unit UIDs. */
  orgUnits?: readonly string[];
  /** Data view org unit UIDs; empty means "same as capture". */
  viewOrgUnits?: readonly string[];
  /** A fixed UID (demo data, tests); generated when absent. */
  id?: string;
}

export interface EnsureAdminResult {
  /** Whether the admin user was created now. */
  created: boolean;
  username: string;
  /** Set only when a password was generated; print it once, it is not stored anywhere readable. */
  generatedPassword?: string;
  /** Root org units newly assigned to an admin that had no scope yet. */
  assignedOrgUnits: string[];
}

export interface UserServiceOptions {
  /** Called after a user's password, status or roles change, so caches of principals can be dropped. */
  onUserChanged?: (userUid: string) => void;
}

/**
 * Users are ordinary `users` metadata objects (DHIS2's JSON shape); their password hashes live in
 * `user_credential`, never in the body. This service creates users, sets passwords and bootstraps
 * the first administrator. Password hashing (slow on purpose) runs before any transaction opens.
 */
export class UserService {
  private readonly storage: Storage;
  private readonly metadata: MetadataStore;
  private readonly onUserChanged: (userUid: string) => void;

  constructor(storage: Storage, metadata: MetadataStore, options: UserServiceOptions = {}) {
    this.storage = storage;
    this.metadata = metadata;
    this.onUserChanged = options.onUserChanged ?? (() => {});
  }

  /** The user with exactly this username (usernames are case-sensitive, as stored). */
  async findByUsername(
    username: string,
    db: SqlExecutor = this.storage,
  ): Promise<MetadataObject | undefined> {
    const { objects } = await this.metadata.withExecutor(db).list('users', {
      filters: [{ property: 'username', operator: 'eq', value: username }],
    });
    return objects[0];
  }

  async createUser(input: NewUser): Promise<MetadataObject> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw new FerryError('F1107', [
        `username \`${input.username}\` must be 4-255 letters, digits, '.', '_' or '@', not starting or ending with a symbol`,
      ]);
    }
    if (input.id !== undefined && !isValidUid(input.id)) {
      throw new FerryError('F1107', [`\`${input.id}\` is not a valid UID`]);
    }
    this.checkPassword(input.password, input.username);
    const passwordHash = await hashPassword(input.password);
    const now = new Date().toISOString();
    return this.storage.transaction(async (tx) => {
      const metadata = this.metadata.withExecutor(tx);
      if (await this.findByUsername(input.username, tx)) {
        throw new FerryError('F1300', [`A user with username \`${input.username}\` already exists`]);
      }
      const roles = await this.resolveRoles(input.roles ?? [], metadata);
      const orgUnits = await this.resolveOrgUnits(input.orgUnits ?? [], metadata);
      const viewOrgUnits = await this.resolveOrgUnits(input.viewOrgUnits ?? [], metadata);
      const firstName = input.firstName ?? input.username;
      const surname = input.surname ?? input.username;
      const user: MetadataObject = {
        id: input.id ?? generateUid(),
        username: input.username,
        firstName,
        surname,
        // DHIS2 derives a user's name from first name and surname.
        name: `${firstName} ${surname}`,
        ...(input.email ? { email: input.email } : {}),
        disabled: false,
        passwordLastUpdated: now,
        userRoles: roles.map((id) => ({ id })),
        organisationUnits: orgUnits.map((id) => ({ id })),
        dataViewOrganisationUnits: viewOrgUnits.map((id) => ({ id })),
        created: now,
        lastUpdated: now,
      };
      await metadata.save('users', [user], now);
      await this.writeCredential(tx, user.id, passwordHash, now);
      return user;
    });
  }

  /** Replaces a user's password and ends the user's web sessions. */
  async setPassword(username: string, password: string): Promise<void> {
    this.checkPassword(password, username);
    const passwordHash = await hashPassword(password);
    const now = new Date().toISOString();
    const uid = await this.storage.transaction(async (tx) => {
      const user = await this.findByUsername(username, tx);
      if (!user) throw new FerryError('F1200', ['User', username]);
      await this.writeCredential(tx, user.id, passwordHash, now);
      await tx.execute('DELETE FROM web_session WHERE user_uid = ?', [user.id]);
      await this.metadata
        .withExecutor(tx)
        .save('users', [{ ...withoutUserSecrets(user), passwordLastUpdated: now, lastUpdated: now }], now);
      return user.id;
    });
    this.onUserChanged(uid);
  }

  /** Disables or re-enables a user; a disabled user's sessions and tokens stop working at once. */
  async setDisabled(username: string, disabled: boolean): Promise<void> {
    const now = new Date().toISOString();
    const uid = await this.storage.transaction(async (tx) => {
      const user = await this.findByUsername(username, tx);
      if (!user) throw new FerryError('F1200', ['User', username]);
      await this.metadata.withExecutor(tx).save('users', [{ ...user, disabled, lastUpdated: now }], now);
      if (disabled) await tx.execute('DELETE FROM web_session WHERE user_uid = ?', [user.id]);
      return user.id;
    });
    this.onUserChanged(uid);
  }

  /**
   * Makes sure an administrator exists. On a database with no users it creates role "Superuser"
   * (authority ALL) and user `admin` with `password`, or with a generated one returned in
   * `generatedPassword`, scoped to every root org unit. On later starts it only gives the bootstrap
   * admin the root org units if it still has no scope (the database was empty when it was made).
   */
  async ensureAdmin(options: { password?: string; username?: string } = {}): Promise<EnsureAdminResult> {
    const username = options.username ?? ADMIN_USERNAME;
    const roots = await this.rootOrgUnitUids();
    if ((await this.metadata.count('users')) > 0) {
      const admin = await this.findByUsername(username);
      if (!admin || referenceIds(admin.organisationUnits).length > 0 || roots.length === 0) {
        return { created: false, username, assignedOrgUnits: [] };
      }
      const now = new Date().toISOString();
      await this.storage.transaction((tx) =>
        this.metadata
          .withExecutor(tx)
          .save(
            'users',
            [{ ...admin, organisationUnits: roots.map((id) => ({ id })), lastUpdated: now }],
            now,
          ),
      );
      this.onUserChanged(admin.id);
      return { created: false, username, assignedOrgUnits: roots };
    }
    const generatedPassword = options.password ? undefined : generatePassword();
    const roleUid = await this.ensureSuperuserRole();
    await this.createUser({
      username,
      password: options.password ?? generatedPassword!,
      firstName: 'System',
      surname: 'Administrator',
      roles: [roleUid],
      orgUnits: roots,
    });
    return { created: true, username, generatedPassword, assignedOrgUnits: roots };
  }

  /** The UID of the role named "Superuser", created with authority ALL when missing. */
  async ensureSuperuserRole(): Promise<string> {
    const [existing] = await this.metadata.findBy('userRoles', 'name', [SUPERUSER_ROLE_NAME]);
    if (existing) return existing.object.id;
    const now = new Date().toISOString();
    const role: MetadataObject = {
      id: generateUid(),
      name: SUPERUSER_ROLE_NAME,
      description: 'Every authority (ALL)',
      authorities: ['ALL'],
      created: now,
      lastUpdated: now,
    };
    await this.storage.transaction((tx) => this.metadata.withExecutor(tx).save('userRoles', [role], now));
    return role.id;
  }

  private checkPassword(password: string, username: string): void {
    const problems = passwordPolicyViolations(password, username);
    if (problems.length > 0) throw new FerryError('F1106', [problems.join('; ')]);
  }

  private async writeCredential(db: SqlExecutor, userUid: string, hash: string, now: string): Promise<void> {
    await db.execute(
      `INSERT INTO user_credential (user_uid, password_hash, updated) VALUES (?, ?, ?)
       ON CONFLICT (user_uid) DO UPDATE SET password_hash = excluded.password_hash, updated = excluded.updated`,
      [userUid, hash, now],
    );
  }

  /** Role references given as UIDs or names, each resolved to exactly one role. */
  private async resolveRoles(references: readonly string[], metadata: MetadataStore): Promise<string[]> {
    const out: string[] = [];
    for (const reference of references) {
      const byUid = isValidUid(reference) ? await metadata.findBy('userRoles', 'uid', [reference]) : [];
      const found = byUid.length > 0 ? byUid : await metadata.findBy('userRoles', 'name', [reference]);
      if (found.length === 0)
        throw new FerryError('F1107', [`no user role with UID or name \`${reference}\``]);
      if (found.length > 1) throw new FerryError('F1107', [`several user roles are named \`${reference}\``]);
      if (!out.includes(found[0].object.id)) out.push(found[0].object.id);
    }
    return out;
  }

  private async resolveOrgUnits(uids: readonly string[], metadata: MetadataStore): Promise<string[]> {
    const unique = [...new Set(uids)];
    const found = await metadata.sids('organisationUnits', unique);
    const missing = unique.filter((uid) => !found.has(uid));
    if (missing.length > 0)
      throw new FerryError('F1107', [`no organisation unit with UID ${missing.join(', ')}`]);
    return unique;
  }

  private async rootOrgUnitUids(): Promise<string[]> {
    const { objects } = await this.metadata.list('organisationUnits', {
      filters: [{ property: 'parent', operator: 'null' }],
    });
    return objects.map((o) => o.id);
  }
}

/** 24 random bytes, base64url: 32 characters, 192 bits. */
function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
