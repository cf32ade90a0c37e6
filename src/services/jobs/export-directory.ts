import { constants, lstatSync } from 'node:fs';
import { copyFile, lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { FerryError } from '../../errors.ts';

/**
 * Exports written to a server directory (FERRY_EXPORT_DIRECTORY_ROOT) stay under the root even
 * when someone who can write inside it plants a symbolic link: no component below the root may be
 * a link (the root itself may be one; it is the operator's choice), directories are created one at
 * a time and checked, and the file is written through a new `.part` file (O_EXCL, which never
 * follows a link) renamed over the target (rename replaces a link, never writes through it).
 */

function refusal(shown: string, why: string): FerryError {
  return new FerryError('F1000', ['destination.path', shown, `a path under the export root ${why}`]);
}

/** The components of `target` below `root`, as absolute paths, outermost first. */
function componentsBelow(root: string, target: string): string[] {
  const parts = relative(root, target)
    .split(sep)
    .filter((p) => p !== '');
  return parts.map((_, i) => join(root, ...parts.slice(0, i + 1)));
}

/** Refuses a path that passes through a link or a file; components that do not exist yet are fine. */
export function checkExportDirectory(root: string, target: string, shown: string): void {
  for (const path of componentsBelow(root, target)) {
    let stats;
    try {
      stats = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (stats.isSymbolicLink()) throw refusal(shown, 'without symbolic links');
    if (!stats.isDirectory()) throw refusal(shown, 'naming directories only');
  }
}

/** Creates the missing directories of `target` one by one, refusing any link met on the way. */
export async function makeExportDirectory(root: string, target: string, shown: string): Promise<void> {
  for (const path of componentsBelow(root, target)) {
    try {
      await mkdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) throw refusal(shown, 'without symbolic links');
    if (!stats.isDirectory()) throw refusal(shown, 'naming directories only');
  }
}

/** Copies `source` to `directory/fileName` without following a link at either name. */
export async function deliverExportFile(
  source: string,
  directory: string,
  fileName: string,
): Promise<string> {
  const target = join(directory, fileName);
  const part = `${target}.part`;
  await rm(part, { force: true });
  await copyFile(source, part, constants.COPYFILE_EXCL);
  await rename(part, target);
  return target;
}
