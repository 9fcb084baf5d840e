import { join } from 'node:path';

import { openDatabase } from '../db/client.ts';
import { runServer, type Env } from '../server.ts';

const USAGE = `usage: sluice <command>

commands:
  serve       run the gateway (same as npm start)
  migrate     apply database migrations (DATABASE_URL, else embedded PGlite in SLUICE_DATA_DIR)
  help        show this text

environment: PORT, HOST, DATABASE_URL, SLUICE_CONFIG, SLUICE_ADMIN_KEY, SLUICE_DATA_DIR`;

/** The CLI entry: returns the process exit code. */
export async function run(argv: string[], env: Env): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve':
      await runServer(env);
      return 0;
    case 'migrate': {
      const database = await openDatabase({ url: env.DATABASE_URL || undefined, dataDir: join(env.SLUICE_DATA_DIR || './.sluice', 'pgdata') });
      try {
        await database.migrate();
        process.stdout.write(`migrations applied (${database.kind})\n`);
      } finally {
        await database.close();
      }
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}


