import { posix } from 'node:path';
import type { FerryContext } from '../../ferry-context-types.ts';
import { FerryError } from '../../../errors.ts';
import { checkRemotePath, RcloneRemotes } from './rclone-remotes.ts';
import { loadServerKey, type ServerKey } from './server-key.ts';

/**
 * The export queue's `remote` destination: `{ "type": "remote", "remote": "<name or id>", "path":
 * "<folder on the remote>" }` delivers the finished file to `<folder>/<file name>` on an rclone
 * remote the requester owns or the server offers (rclone-remotes.ts). Checked when asked (the
 * remote must exist and be the requester's or the server's) and again when delivered.
 */

const remotesOf = new WeakMap<FerryContext, RcloneRemotes>();

/** This context's remotes (one per context; the server key is loaded on first use). */
export function rcloneRemotes(context: FerryContext): RcloneRemotes {
  let remotes = remotesOf.get(context);
  if (!remotes) {
    let key: ServerKey | undefined;
    remotes = new RcloneRemotes(context.storage, () => (key ??= loadServerKey(context.config.dataDir)));
    remotesOf.set(context, remotes);
  }
  return remotes;
}

export function registerRcloneDestination(context: FerryContext): void {
  const remotes = rcloneRemotes(context);
  context.exports.registerDestination('remote', {
    async check(viewer, destination) {
      if (destination.type !== 'remote')
        throw new FerryError('F1000', ['destination.type', destination.type, 'remote']);
      const row = await remotes.find(viewer?.uid ?? null, destination.remote);
      return {
        type: 'remote',
        remote: row.id,
        name: row.name,
        path: checkRemotePath(destination.path, 'destination.path'),
      };
    },
    async deliver(path, fileName, destination, job) {
      if (destination.type !== 'remote') throw new Error('Not a remote destination');
      // Looked up again: the remote may have been removed, or its owner changed, since the request.
      const row = await remotes.find(job.userUid, destination.remote);
      const target = destination.path ? posix.join(destination.path, fileName) : fileName;
      return remotes.deliver(row, path, target, job.signal);
    },
  });
}
