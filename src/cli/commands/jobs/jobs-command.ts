import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { parseArgsWithOneId } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { isFinished, type JobRecord } from '../../../jobs/job-types.ts';

/** The options every jobs and exports command takes. */
export const DATABASE_FLAGS = {
  ...DATABASE_OPTIONS,
  json: { type: 'boolean' },
} as const;

export const DATABASE_HELP = `${databaseUsage(24)}
  --json                print JSON instead of text`;

function progressText(job: JobRecord): string {
  const p = job.progress;
  if (!p) return '';
  const total = p.total !== undefined ? `/${p.total}` : '';
  const rate = p.rowsPerSecond ? `, ${Math.round(p.rowsPerSecond)} rows/s` : '';
  return `${p.stage}: ${p.processed}${total}${rate}`;
}

export function jobLine(job: JobRecord): string {
  return [
    `#${job.number}`.padEnd(6),
    job.id,
    job.type.padEnd(26),
    job.status.padEnd(11),
    job.created,
    job.userUid ?? '-',
    progressText(job),
  ].join('  ');
}

const listCommand: CliCommand = {
  path: ['jobs', 'list'],
  summary: 'List jobs, newest first',
  usage: `Usage: ferry jobs list [--type T] [--status S] [--user UID] [--limit N]
${DATABASE_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...DATABASE_FLAGS,
        type: { type: 'string' },
        status: { type: 'string' },
        user: { type: 'string' },
        limit: { type: 'string' },
      },
      strict: true,
    });
    return withCliContext(values, async (context) => {
      const jobs = await context.jobs.list(
        { uid: '', authorities: new Set(['ALL']) },
        {
          types: values.type?.split(','),
          statuses: values.status?.split(','),
          user: values.user,
          limit: values.limit ? Number(values.limit) : 50,
        },
      );
      if (values.json) console.log(JSON.stringify(jobs, null, 2));
      // An empty list says so: printing nothing looks like a command that did not run.
      else if (jobs.length === 0) console.log(`No jobs in ${context.storage.description}.`);
      else for (const job of jobs) console.log(jobLine(job));
      return 0;
    });
  },
};

const showCommand: CliCommand = {
  path: ['jobs', 'show'],
  summary: 'Show one job: parameters, input file, progress, notifications, summary',
  usage: `Usage: ferry jobs show <id>\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(args, DATABASE_FLAGS, `Expected one job id.\n${this.usage}`);
    return withCliContext(values, async (context) => {
      const details = await context.jobs.details(null, id);
      if (values.json) {
        console.log(JSON.stringify(details, null, 2));
        return 0;
      }
      const { job } = details;
      console.log(jobLine(job));
      console.log(`parameters: ${JSON.stringify(job.params)}`);
      if (details.inputFile) {
        console.log(
          `input file: ${details.inputFile.name ?? '(unnamed)'} (${details.inputFile.contentType}, ${details.inputFile.size} bytes, sha256 ${details.inputFile.sha256})`,
        );
      }
      console.log(
        `started: ${job.started ?? '-'}  finished: ${job.finished ?? '-'}  attempts: ${job.attempts}/${job.maxAttempts}`,
      );
      if (job.error) console.log(`error: ${job.error}`);
      for (const note of [...details.notifications].reverse())
        console.log(`  ${note.time} ${note.level.padEnd(5)} ${note.message}`);
      if (job.summary !== null) console.log(`summary: ${JSON.stringify(job.summary, null, 2)}`);
      return 0;
    });
  },
};

const cancelCommand: CliCommand = {
  path: ['jobs', 'cancel'],
  summary: 'Cancel a queued or running job',
  usage: `Usage: ferry jobs cancel <id>\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(args, DATABASE_FLAGS, `Expected one job id.\n${this.usage}`);
    return withCliContext(values, async (context) => {
      const job = await context.jobs.cancel(null, id);
      console.log(
        job.status === 'CANCELLED'
          ? `Job ${id} cancelled`
          : `Cancellation of job ${id} requested; its worker will stop it`,
      );
      return 0;
    });
  },
};

const recreateCommand: CliCommand = {
  path: ['jobs', 'recreate'],
  summary: "Print a past job's parameters, or queue it again with --submit",
  usage: `Usage: ferry jobs recreate <id> [--submit]\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(
      args,
      { ...DATABASE_FLAGS, submit: { type: 'boolean' } },
      `Expected one job id.\n${this.usage}`,
    );
    return withCliContext(values, async (context) => {
      const result = await context.jobs.recreate(null, id, values.submit === true);
      if (values.json || !result.job) console.log(JSON.stringify(result, null, 2));
      else console.log(`Queued job ${result.job.id} (#${result.job.number}) recreated from ${id}`);
      return 0;
    });
  },
};

const tailCommand: CliCommand = {
  path: ['jobs', 'tail'],
  summary: "Follow a job's progress and notifications until it finishes",
  usage: `Usage: ferry jobs tail <id> [--interval-ms N]\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(
      args,
      { ...DATABASE_FLAGS, 'interval-ms': { type: 'string' } },
      `Expected one job id.\n${this.usage}`,
    );
    const interval = Number(values['interval-ms'] ?? 1000);
    return withCliContext(values, async (context) => {
      const seen = new Set<string>();
      let lastProgress = '';
      for (;;) {
        const job = await context.jobs.get(null, id);
        for (const note of [...(await context.jobs.notifications(job))].reverse()) {
          if (seen.has(note.uid)) continue;
          seen.add(note.uid);
          console.log(
            values.json
              ? JSON.stringify({ notification: note })
              : `${note.time} ${note.level.padEnd(5)} ${note.message}`,
          );
        }
        const progress = `${job.status} ${progressText(job)}`;
        if (progress !== lastProgress) {
          lastProgress = progress;
          console.log(
            values.json
              ? JSON.stringify({ status: job.status, progress: job.progress })
              : `[${progress.trim()}]`,
          );
        }
        if (isFinished(job.status)) return job.status === 'COMPLETED' ? 0 : 1;
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
    });
  },
};

export const JOBS_COMMANDS: CliCommand[] = [
  listCommand,
  showCommand,
  cancelCommand,
  recreateCommand,
  tailCommand,
];
