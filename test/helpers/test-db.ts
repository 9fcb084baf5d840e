import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../gateway/db/client.ts';

export interface TestDatabaseTarget {
  kind: 'pglite' | 'postgres';
  /** A fresh, migrated database of its own; close() also drops it. */
  open(): Promise<Database>;
}

/**
 * The databases every DB test runs against: always an in-memory PGlite, and the real
 * Postgres server when DATABASE_URL is set (as in CI). Each open() gets a brand-new database
 * on that server, so test files never see each other's rows.
 */
export function testDatabases(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [{ kind: 'pglite', open: openPgliteForTest }];
  const url = process.env.DATABASE_URL;
  if (url) targets.push({ kind: 'postgres', open: () => openPostgresForTest(url) });
  return targets;
}

async function openPgliteForTest(): Promise<Database> {
  const database = await openDatabase({});
  await database.migrate();
  return database;
}

/** A new database on the server behind `url`, dropped on close. */
export async function createScratchDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sluice_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    url: scratch.toString(),
    async drop() {
      const a = postgres(url, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

async function openPostgresForTest(url: string): Promise<Database> {
  const scratch = await createScratchDatabase(url);
  const database = await openDatabase({ url: scratch.url, max: 4 });
  await database.migrate();
  return {
    ...database,
    async close() {
      await database.close();
      await scratch.drop();
    },
  };
}
