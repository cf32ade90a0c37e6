import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { APP_ZIP_LIMITS } from '../../codecs/input/input-limits.ts';
import { FerryError, isDiskFullError } from '../../errors.ts';
import { spoolToFile } from '../jobs/upload-spool.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { AppZipError, openAppZip, type AppZipLimits } from './app-zip-reader.ts';

/** The manifest's fields Ferry reads (DHIS2's manifest.webapp, a W3C web app manifest). */
export interface AppManifest {
  name: string;
  version: string;
  short_name?: string;
  description?: string;
  appType?: string;
  launch_path?: string;
  default_locale?: string;
  core_app?: boolean;
  app_hub_id?: string;
  icons?: Record<string, string>;
  developer?: Record<string, unknown>;
  activities?: { dhis?: { href?: string; namespace?: string } & Record<string, unknown> };
  authorities?: string[];
  [field: string]: unknown;
}

/** An installed app as DHIS2's `GET /api/apps` lists it. */
export interface AppListItem {
  key: string;
  name: string;
  shortName: string;
  version: string;
  description?: string;
  appType: string;
  appState: 'OK';
  appStorageSource: 'LOCAL';
  folderName: string;
  basePath: string;
  baseUrl: string;
  launchUrl: string;
  launch_path: string;
  default_locale?: string;
  core_app: boolean;
  bundled: false;
  app_hub_id?: string;
  icons?: Record<string, string>;
  developer?: Record<string, unknown>;
  activities: { dhis: Record<string, unknown> };
  authorities: string[];
}

/** DHIS2's app types; anything else in a manifest is refused. */
export const APP_TYPES = ['APP', 'RESOURCE', 'DASHBOARD_WIDGET', 'TRACKER_DASHBOARD_WIDGET'] as const;

const MANIFEST = 'manifest.webapp';

/** Where installed apps live: `<data dir>/apps/<key>/`; names starting with `.` are work in progress. */
export function appsDir(context: Pick<FerryContext, 'config'>): string {
  return join(context.config.dataDir, 'apps');
}

/**
 * DHIS2's app key (App.getUrlFriendlyName): the short name, else the name, trimmed, with anything
 * but letters, digits, spaces and `-` dropped and runs of spaces turned into `-`.
 */
export function appKey(manifest: Pick<AppManifest, 'name' | 'short_name'>): string {
  const shortName =
    typeof manifest.short_name === 'string' && manifest.short_name !== ''
      ? manifest.short_name
      : manifest.name;
  return shortName
    .trim()
    .replace(/[^A-Za-z0-9\s-]/g, '')
    .replace(/\s+/g, '-');
}

/** A key as it may appear in a URL or a folder name: what appKey can produce, and not empty. */
export function isAppKey(key: string): boolean {
  return /^[A-Za-z0-9-]{1,200}$/.test(key);
}

function parseManifest(bytes: Buffer): AppManifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new AppZipError(`${MANIFEST} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppZipError(`${MANIFEST} is not a JSON object`);
  const manifest = value as Record<string, unknown>;
  for (const field of ['name', 'version'] as const) {
    if (typeof manifest[field] !== 'string' || (manifest[field] as string).trim() === '')
      throw new AppZipError(`${MANIFEST} has no '${field}'`);
  }
  if (manifest.short_name !== undefined && typeof manifest.short_name !== 'string')
    throw new AppZipError(`${MANIFEST}'s 'short_name' is not text`);
  const appType = manifest.appType ?? 'APP';
  if (typeof appType !== 'string' || !(APP_TYPES as readonly string[]).includes(appType))
    throw new AppZipError(
      `${MANIFEST}'s 'appType' is '${String(appType)}'; allowed: ${APP_TYPES.join(', ')}`,
    );
  if (manifest.launch_path !== undefined && typeof manifest.launch_path !== 'string')
    throw new AppZipError(`${MANIFEST}'s 'launch_path' is not text`);
  return manifest as AppManifest;
}

/** The app as DHIS2 lists it, with URLs under `base` (Ferry's own address, no trailing `/`). */
export function appListItem(key: string, manifest: AppManifest, base: string): AppListItem {
  const basePath = `/api/apps/${key}`;
  const baseUrl = `${base}${basePath}`;
  const launchPath = (manifest.launch_path ?? 'index.html').replace(/^\/+/, '');
  return {
    key,
    name: manifest.name,
    shortName: manifest.short_name ?? manifest.name,
    version: manifest.version,
    ...(typeof manifest.description === 'string' ? { description: manifest.description } : {}),
    appType: manifest.appType ?? 'APP',
    appState: 'OK',
    appStorageSource: 'LOCAL',
    folderName: key,
    basePath,
    baseUrl,
    launchUrl: `${baseUrl}/${launchPath}`,
    launch_path: launchPath,
    ...(typeof manifest.default_locale === 'string' ? { default_locale: manifest.default_locale } : {}),
    core_app: manifest.core_app === true,
    bundled: false,
    ...(typeof manifest.app_hub_id === 'string' ? { app_hub_id: manifest.app_hub_id } : {}),
    ...(manifest.icons ? { icons: manifest.icons } : {}),
    ...(manifest.developer ? { developer: manifest.developer } : {}),
    activities: { dhis: { ...(manifest.activities?.dhis ?? {}), href: base } },
    authorities: Array.isArray(manifest.authorities)
      ? manifest.authorities.filter((a) => typeof a === 'string')
      : [],
  };
}

/** The installed app's manifest; undefined when no app has this key. */
export async function readInstalledManifest(
  context: Pick<FerryContext, 'config'>,
  key: string,
): Promise<AppManifest | undefined> {
  if (!isAppKey(key)) return undefined;
  try {
    return parseManifest(await readFile(join(appsDir(context), key, MANIFEST)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof AppZipError) return undefined;
    throw error;
  }
}

/** Installed apps, by key. A folder without a readable manifest is skipped (a damaged install). */
export async function listApps(context: Pick<FerryContext, 'config'>, base: string): Promise<AppListItem[]> {
  let names: string[];
  try {
    names = await readdir(appsDir(context));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const apps: AppListItem[] = [];
  for (const name of names.sort()) {
    if (!isAppKey(name)) continue;
    const manifest = await readInstalledManifest(context, name);
    if (manifest) apps.push(appListItem(name, manifest, base));
  }
  return apps;
}

/** Installs are one at a time per process: two uploads of one app must not swap folders at once. */
let installQueue: Promise<unknown> = Promise.resolve();

/**
 * Installs (or replaces) an app from a zip upload: spooled to disk under the zip limit, every entry
 * checked, manifest.webapp read and validated, unpacked into a hidden folder beside the apps, then
 * renamed into place. The previous version, if any, is renamed away first and removed after, so a
 * reader sees the old app or the new one, never a mix; on any refusal nothing is left behind.
 */
export async function installApp(
  context: Pick<FerryContext, 'config'>,
  body: Readable,
  /** How messages name the upload; a function when the name is only known once the body is read (multipart). */
  nameOfUpload: string | (() => string),
  limits: AppZipLimits = APP_ZIP_LIMITS,
): Promise<{ key: string; manifest: AppManifest; replaced: boolean }> {
  const upload = await spoolToFile(
    body,
    join(context.config.dataDir, 'uploads'),
    Math.min(context.config.bodyLimit, limits.maxZipBytes),
  );
  const uploadName = typeof nameOfUpload === 'string' ? nameOfUpload : nameOfUpload();
  const root = appsDir(context);
  const work = join(root, `.install-${randomUUID()}`);
  try {
    const zip = await openAppZip(upload.path, limits).catch(refuse(uploadName));
    try {
      if (!zip.entries.some((entry) => entry.name === MANIFEST))
        throw new FerryError('F1800', [uploadName, `the zip archive has no ${MANIFEST} at its root`]);
      const manifest = await zip
        .readEntry(MANIFEST, limits.maxManifestBytes)
        .then(parseManifest)
        .catch(refuse(uploadName));
      const key = appKey(manifest);
      if (!isAppKey(key))
        throw new FerryError('F1800', [uploadName, `${MANIFEST}'s name gives no usable app key ('${key}')`]);
      const launchPath = (manifest.launch_path ?? 'index.html').replace(/^\/+/, '');
      if (manifest.appType === undefined || manifest.appType === 'APP') {
        if (!zip.entries.some((entry) => entry.name === launchPath))
          throw new FerryError('F1800', [
            uploadName,
            `the launch page '${launchPath}' is not in the zip archive`,
          ]);
      }
      await mkdir(work, { recursive: true });
      await zip.extractTo(work).catch(refuse(uploadName));
      return await serialised(async () => {
        const target = join(root, key);
        const old = join(root, `.old-${randomUUID()}`);
        const replaced = await exists(target);
        if (replaced) await rename(target, old);
        await rename(work, target);
        if (replaced) await rm(old, { recursive: true, force: true });
        return { key, manifest, replaced };
      });
    } finally {
      zip.close();
    }
  } catch (error) {
    if (isDiskFullError(error)) throw new FerryError('F1502', ['while unpacking the app']);
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
    await upload.remove();
  }
}

/** Uninstalls an app: renamed out of sight first (at once gone for readers), then removed. */
export async function uninstallApp(context: Pick<FerryContext, 'config'>, key: string): Promise<AppManifest> {
  return serialised(async () => {
    const manifest = await readInstalledManifest(context, key);
    if (!manifest) throw new FerryError('F1200', ['App', key]);
    const trash = join(appsDir(context), `.removed-${randomUUID()}`);
    await rename(join(appsDir(context), key), trash);
    await rm(trash, { recursive: true, force: true });
    return manifest;
  });
}

function serialised<T>(step: () => Promise<T>): Promise<T> {
  const run = installQueue.then(step, step);
  installQueue = run.catch(() => undefined);
  return run;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function refuse(uploadName: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof AppZipError) throw new FerryError('F1800', [uploadName, error.message]);
    throw error;
  };
}
