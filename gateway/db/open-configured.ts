import { join } from 'node:path';
import type { SluiceEnv } from '../config/env.ts';
import { openDatabase, type Database } from './client.ts';

type DatabaseEnv = Pick<SluiceEnv, 'DATABASE_URL' | 'SLUICE_DATA_DIR'>;

/** Where the embedded PGlite keeps its files (`pgdata/` in SLUICE_DATA_DIR); undefined on Postgres. */
export function pgliteDir(env: DatabaseEnv): string | undefined {
  return env.DATABASE_URL ? undefined : join(env.SLUICE_DATA_DIR, 'pgdata');
}

/**
 * The database the environment names, migrated: the Postgres server at DATABASE_URL, else the
 * embedded PGlite in SLUICE_DATA_DIR. The one way the server, the CLI and in-process evals
 * open it; the caller owns the embedded directory first (data-dir-owner.ts) and closes it.
 */
export async function openConfiguredDatabase(env: DatabaseEnv): Promise<Database> {
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: pgliteDir(env) });
  try {
    await database.migrate();
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return database;
}
