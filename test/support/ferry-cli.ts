import { spawn } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '../..');
const MAIN = join(REPO, 'src/cli/main.ts');

export interface FerryRun {
  /** The exit status (-1 if the process was killed). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `ferry` command as a user would: a subprocess of this Node on src/cli/main.ts, from the
 * repository, with `stdin` (if any) as its input. DATABASE_URL is taken out of its environment: the
 * test names the database (--data-dir or --database-url), and one in the environment would send a
 * --data-dir command to PostgreSQL.
 */
export function runFerry(args: string[], stdin?: string): Promise<FerryRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream, so a character split between chunks stays whole.
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
