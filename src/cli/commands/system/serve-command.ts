import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { DATABASE_OPTIONS, configFromArgs } from '../../cli-database.ts';
import { startServer } from '../../../server.ts';
import { demoLoginHint, prepareServeDemo, watchDemoSeed } from '../demo/demo-command.ts';
import type { DemoServePreparation } from '../../../services/demo/demo-jobs.ts';
import { DEFAULT_HOST, DEMO_HOST } from '../../../config.ts';

export const serveCommand: CliCommand = {
  path: ['serve'],
  summary: 'Start the HTTP server',
  usage: `Usage: ferry serve [--port N] [--host H] [--data-dir DIR] [--database-url URL] [--demo]

Starts Ferry's HTTP API and web app.
  --port N             port to listen on (env PORT, default 8080)
  --host H             address to bind (env HOST; default 0.0.0.0, with --demo 127.0.0.1)
  --data-dir DIR       where the SQLite database and files live (env FERRY_DATA_DIR, default ./data)
  --database-url URL   use PostgreSQL instead of SQLite (env DATABASE_URL)
  --demo               on an empty database, create the demo database (npm start does this): its
                       metadata and users before listening, its data values in the background
                       (job DEMO_SEED); its users log in with password 'district', so it listens
                       on 127.0.0.1 unless HOST or --host is set (see docs/demo.md)`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        ...DATABASE_OPTIONS,
        demo: { type: 'boolean', default: false },
      },
      strict: true,
    });
    // The demo's users all have the published password 'district': unless HOST or --host says
    // otherwise, the demo listens on this machine only.
    const config = configFromArgs(
      values,
      { port: values.port, host: values.host },
      { host: values.demo ? DEMO_HOST : DEFAULT_HOST },
    );
    let demo: DemoServePreparation | undefined;
    const server = await startServer(config, async (context) => {
      // The demo first: it brings its own admin (admin / district), so the bootstrap below finds one.
      // Only its metadata and users are written now; its data values follow once the server listens.
      if (values.demo) demo = await prepareServeDemo(context);
      // First start on an empty database: create the administrator; a generated password is shown once.
      const admin = await context.users.ensureAdmin({ password: config.adminPassword });
      if (admin.created) {
        console.log(
          admin.generatedPassword
            ? `Created user '${admin.username}' with password: ${admin.generatedPassword}\n` +
                'It is shown only this once; change it with: ferry user set-password --username admin --password-stdin'
            : `Created user '${admin.username}' with the password from FERRY_ADMIN_PASSWORD`,
        );
      }
    });
    console.log(`Ferry is running at ${server.url} (${server.context.storage.description})`);
    if (config.host === DEMO_HOST && values.demo) {
      console.log(
        `Demo mode: listening on ${DEMO_HOST} only, as the demo's passwords are public; ` +
          'set HOST or --host (e.g. --host 0.0.0.0) to serve other machines.',
      );
    }
    if (demo && demo.outcome !== 'other-data') console.log(demoLoginHint());
    if (demo?.outcome === 'seeding') watchDemoSeed(server.context, demo.job.id);
    await new Promise<void>(() => {});
    return 0;
  },
};
