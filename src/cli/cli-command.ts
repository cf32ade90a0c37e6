/** One `ferry` command: parses its own arguments, calls a service, prints. */
export interface CliCommand {
  /** Words that select it, e.g. ['import', 'data']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Full help text shown by `--help`. */
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

/** Thrown for bad arguments; main prints the message and the command's usage, exit code 2. */
export class UsageError extends Error {}
