import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SluiceEnv } from '../config/env.ts';
import type { Database } from '../db/client.ts';
import { claimDataDir, DataDirBusyError, describeOwner, liveOwner, readLocalToken, TOKEN_FILE, type OwnerRecord } from '../db/data-dir-owner.ts';
import { openConfiguredDatabase } from '../db/open-configured.ts';
import { CliRefusal, ServerClient } from './server-client.ts';

/**
 * How a CLI command reaches the data (DESIGN §2):
 * - `direct`: it opens the database itself. With DATABASE_URL always (Postgres is shared, and
 *   servers see changes through NOTIFY); embedded, only while no other process owns the data
 *   directory, which this command then owns until it is done.
 * - `server`: a live server owns the embedded directory; the command goes through its admin
 *   API with the local admin token it wrote there.
 * Anything else (another CLI holds it, or the server is not reachable) is a CliRefusal naming
 * that process: never a write to a copy the owner does not see.
 */
export type DataAccess = { kind: 'direct'; withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T> } | { kind: 'server'; server: ServerClient };

/** How long a command waits for a server that has claimed the directory but not listened yet. */
const STARTING_POLLS = 150;
const STARTING_POLL_MS = 200;

/** `command` names what this process does, for the owner file (`docs ingest`, `keys create`). */
export async function dataAccess(env: SluiceEnv, command: string): Promise<DataAccess> {
  if (env.DATABASE_URL) return { kind: 'direct', withDatabase: (fn) => openAndRun(env, undefined, fn) };
  const dataDir = env.SLUICE_DATA_DIR;
  let owner = liveOwner(dataDir);
  // A server opening PGlite and migrating takes seconds; wait for its URL rather than refuse.
  for (let i = 0; i < STARTING_POLLS && owner?.kind === 'server' && !owner.url; i++) {
    await sleep(STARTING_POLL_MS);
    owner = liveOwner(dataDir);
  }
  if (!owner) return { kind: 'direct', withDatabase: (fn) => openAndRun(env, command, fn) };
  return { kind: 'server', server: serverOf(owner, dataDir, env) };
}

function serverOf(owner: OwnerRecord, dataDir: string, env: SluiceEnv): ServerClient {
  const held = `the data directory ${dataDir} is in use by ${describeOwner(owner)}`;
  if (owner.kind === 'cli') throw new CliRefusal(`${held}; wait for it to finish and run this again`);
  if (!owner.url) throw new CliRefusal(`${held}, which has not started listening; try again once it has`);
  const token = readLocalToken(dataDir) ?? env.SLUICE_ADMIN_KEY;
  if (!token) throw new CliRefusal(`${held}, and its local admin token ${join(dataDir, TOKEN_FILE)} cannot be read: run as the user who started it, or set SLUICE_ADMIN_KEY`);
  return new ServerClient({ pid: owner.pid, url: owner.url, token, dataDir });
}

/** Opens (and, embedded, owns) the database, applies migrations, runs `fn`, closes. */
async function openAndRun<T>(env: SluiceEnv, command: string | undefined, fn: (database: Database) => Promise<T>): Promise<T> {
  const dataDir = env.SLUICE_DATA_DIR;
  let claim;
  try {
    claim = command === undefined ? undefined : claimDataDir(dataDir, { kind: 'cli', command });
  } catch (err) {
    // A server (or another command) took the directory since we looked.
    if (err instanceof DataDirBusyError) throw new CliRefusal(`${err.message}; run this again (it then goes through a running server)`);
    throw err;
  }
  try {
    const database = await openConfiguredDatabase(env);
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  } finally {
    claim?.release();
  }
}

/** Opens the database directly or refuses: for commands that cannot go through a server. */
export async function withDirectDatabase<T>(env: SluiceEnv, command: string, refusal: string, fn: (database: Database) => Promise<T>): Promise<T> {
  const access = await dataAccess(env, command);
  if (access.kind === 'server') throw new CliRefusal(`the data directory ${env.SLUICE_DATA_DIR} is in use by ${access.server.describe()}: ${refusal}`);
  return access.withDatabase(fn);
}

/** The one line a command prints (on stderr) when it goes through the owning server. */
export function throughServerNote(server: ServerClient): string {
  return `sluice: going through ${server.describe()}, which holds ${server.server.dataDir}\n`;
}
