import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
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
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent an embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; undefined = in-memory (tests). */
  dataDir?: string | undefined;
  /** Pool size for postgres.js. */
  max?: number;
  /** `application_name` of every connection (default `sluice`), to tell instances apart in pg_stat_activity. */
  applicationName?: string;
}

// Advisory lock key so concurrent instances do not apply migrations at the same time.
const MIGRATION_LOCK = 0x51_1c_e0;

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.max ?? 10, opts.applicationName ?? 'sluice') : openPglite(opts.dataDir);
}

/**
 * postgres.js waits 3^n / 100 s (up to 20 s) before reconnecting after n failed connects, and
 * n grows with every query tried during an outage: once Postgres is back, the pool would sit
 * out up to 20 s more (the call log, key look-ups and prompt refreshes with it). Cap it at 2 s.
 */
const reconnectDelaySeconds = (retries: number): number => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2);

async function openPostgres(url: string, max: number, applicationName: string): Promise<Database> {
  const client = postgres(url, { max, onnotice: () => {}, backoff: reconnectDelaySeconds, connection: { application_name: applicationName } });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    async migrate() {
      // One dedicated connection holds a session advisory lock while drizzle migrates on it.
      const single = postgres(url, { max: 1, onnotice: () => {} });
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

async function openPglite(dataDir: string | undefined): Promise<Database> {
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
