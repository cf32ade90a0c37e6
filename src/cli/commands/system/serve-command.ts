import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { DATABASE_OPTIONS, configFromArgs } from '../../cli-database.ts';
import { startServer } from '../../../server.ts';
import { demoLoginHint, prepareDemoForServe } from '../demo/demo-command.ts';

export const serveCommand: CliCommand = {
  path: ['serve'],
  summary: 'Start the HTTP server',
  usage: `Usage: ferry serve [--port N] [--host H] [--data-dir DIR] [--database-url URL] [--demo]

Starts Ferry's HTTP API and web app.
  --port N             port to listen on (env PORT, default 8080)
  --host H             address to bind (env HOST, default 0.0.0.0)
  --data-dir DIR       where the SQLite database and files live (env FERRY_DATA_DIR, default ./data)
  --database-url URL   use PostgreSQL instead of SQLite (env DATABASE_URL)
  --demo               on an empty database, create the demo database first (npm start does this);
                       its users log in with password 'district' (see docs/demo.md)`,
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
    const config = configFromArgs(values, { port: values.port, host: values.host });
    let demoPresent = false;
    const server = await startServer(config, async (context) => {
      // The demo first: it brings its own admin (admin / district), so the bootstrap below finds one.
      if (values.demo) demoPresent = (await prepareDemoForServe(context)).outcome !== 'other-data';
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
    if (demoPresent) console.log(demoLoginHint());
    await new Promise<void>(() => {});
    return 0;
  },
};
