import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { startPgliteThread } from './pglite-host.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Called with the payload of each NOTIFY on a channel. */
export type NotifyListener = (payload: string) => void;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Applies the drizzle-kit migrations in migrations/. Safe to run from several instances. */
  migrate(): Promise<void>;
  /**
   * LISTEN on a channel. Returns false where the driver cannot listen across processes
   * (PGlite is in-process only), so the caller polls instead. `onListen` runs each time the
   * LISTEN is (re)established, the first time included: a NOTIFY sent while the connection was
   * down is lost, so a reconnect is the moment to reload (prompts/refresher.ts does).
   */
  listen(channel: string, onNotify: NotifyListener, onListen?: () => void): Promise<boolean>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Embedded with a data directory: the directory of the unix socket its PGlite thread serves
   * (`psql -h DIR`), where another process of this user reaches the same database.
   */
  socketDir?: string;
  /**
   * Embedded: called once if the thread running PGlite dies (the database is then gone for
   * good, unlike a Postgres outage). Absent where there is no such thread.
   */
  onFailure?(listener: (err: Error) => void): void;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent an embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; undefined = in-memory (tests). */
  dataDir?: string | undefined;
  /** Pool size for postgres.js (also for the embedded thread's socket: 4 by default there). */
  max?: number;
  /**
   * With `dataDir`: run PGlite on this thread, as before the worker thread existed (its queries
   * then block this event loop). For comparing the two (bench/pglite-thread.ts).
   */
  inProcess?: boolean;
  /** `application_name` of every connection (default `sluice`), to tell instances apart in pg_stat_activity. */
  applicationName?: string;
}

// Advisory lock key so concurrent instances do not apply migrations at the same time.
const MIGRATION_LOCK = 0x51_1c_e0;

/**
 * A Postgres server at `url`; else PGlite: in-memory in this thread (tests), or the data
 * directory served by a worker thread (pglite-host.ts) and reached over its unix socket with
 * postgres.js, the same driver and code path as a Postgres server.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const applicationName = opts.applicationName ?? 'sluice';
  if (opts.url) {
    const url = opts.url;
    return overPostgresJs('postgres', (o) => postgres(url, o), opts.max ?? 10, applicationName);
  }
  if (!opts.dataDir || opts.inProcess) return openPglite(opts.dataDir);
  const thread = await startPgliteThread(opts.dataDir);
  try {
    // One backend runs every query in turn: more connections would only queue in the thread.
    const database = overPostgresJs('pglite', (o) => postgres({ ...o, path: thread.socketPath, username: 'postgres', database: 'postgres' }), opts.max ?? 4, applicationName);
    await database.db.execute(sql`select 1`);
    return {
      ...database,
      socketDir: thread.socketDir,
      onFailure: (listener) => thread.onFailure(listener),
      migrate: () => thread.migrate(MIGRATIONS_DIR),
      // PGlite's LISTEN lives in its one backend and a NOTIFY comes back on whichever
      // connection ran next, not on the listening one: callers poll, as in-process.
      listen: async () => false,
      async close() {
        try {
          await database.close();
        } finally {
          await thread.close();
        }
      },
    };
  } catch (err) {
    await thread.close().catch(() => {});
    throw err;
  }
}

/**
 * postgres.js waits 3^n / 100 s (up to 20 s) before reconnecting after n failed connects, and
 * n grows with every query tried during an outage: once Postgres is back, the pool would sit
 * out up to 20 s more (the call log, key look-ups and prompt refreshes with it). Cap it at 2 s.
 */
const reconnectDelaySeconds = (retries: number): number => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2);

type Connect = (options: postgres.Options<Record<string, postgres.PostgresType>>) => postgres.Sql;

function overPostgresJs(kind: Database['kind'], connect: Connect, max: number, applicationName: string): Database {
  const client = connect({ max, onnotice: () => {}, backoff: reconnectDelaySeconds, connection: { application_name: applicationName } });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind,
    async migrate() {
      // One dedicated connection holds a session advisory lock while drizzle migrates on it.
      const single = connect({ max: 1, onnotice: () => {} });
      try {
        await single`select pg_advisory_lock(${MIGRATION_LOCK})`;
        await migratePostgres(drizzlePostgres(single, { schema }), { migrationsFolder: MIGRATIONS_DIR });
        await single`select pg_advisory_unlock(${MIGRATION_LOCK})`;
      } finally {
        await single.end({ timeout: 5 });
      }
    },
    async listen(channel, onNotify, onListen) {
      // postgres.js re-issues LISTEN on a fresh connection whenever its listen connection
      // closes (retrying with the backoff above) and calls onlisten once it is back.
      await client.listen(channel, onNotify, onListen);
      return true;
    },
    async notify(channel, payload) {
      await client.notify(channel, payload);
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * PGlite on this thread: its queries run on this event loop. Loaded here, on first use: a
 * gateway on Postgres or on the PGlite thread never needs it on this thread, and loading it
 * anyway cost a Postgres-mode server ~25 MB of resident memory at start (bench/memory.ts).
 */
async function openPglite(dataDir: string | undefined): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      // The first start runs initdb inside the WASM heap, which never shrinks again (~800 MB
      // RSS); a fresh instance over the initialised directory idles at about half that.
      const init = new PGlite(dataDir);
      await init.waitReady;
      await init.close();
    }
  }
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async migrate() {
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
    },
    async listen() {
      // PGlite's LISTEN only sees its own process; other instances cannot share a PGlite
      // data directory anyway, so callers fall back to polling.
      return false;
    },
    async notify(channel, payload) {
      await db.execute(sql`select pg_notify(${channel}, ${payload})`);
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

/** Rows of a raw `db.execute(sql…)`: postgres.js returns an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** Rows a raw `db.execute(sql…)` changed: postgres.js says `count`, PGlite `affectedRows`. */
export function affectedRows(result: unknown): number {
  const r = result as { count?: number; affectedRows?: number };
  return Number(r.count ?? r.affectedRows ?? 0);
}
