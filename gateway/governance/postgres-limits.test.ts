import { describe, expect, it } from 'vitest';
import { createScratchDatabase, testDatabases } from '../../test/helpers/test-db.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { describeLimitStore, type StorePair } from './limit-store-cases.ts';
import { PostgresLimitStore } from './postgres-limits.ts';

/**
 * Two store instances over the same database. On a Postgres server they get a connection pool
 * each, as two gateway processes would; PGlite is in-process, so they share its one handle.
 */
async function openPair(kind: 'pglite' | 'postgres', open: () => Promise<Database>): Promise<StorePair & { database: Database }> {
  if (kind === 'pglite') {
    const database = await open();
    const a = new PostgresLimitStore(database, { purgeEveryMs: 0, timeoutMs: 30_000 });
    const b = new PostgresLimitStore(database, { purgeEveryMs: 0, timeoutMs: 30_000 });
    return { a, b, database, close: () => database.close() };
  }
  const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
  const first = await openDatabase({ url: scratch.url, max: 8 });
  await first.migrate();
  const second = await openDatabase({ url: scratch.url, max: 8 });
  return {
    a: new PostgresLimitStore(first, { purgeEveryMs: 0, timeoutMs: 30_000 }),
    b: new PostgresLimitStore(second, { purgeEveryMs: 0, timeoutMs: 30_000 }),
    database: first,
    async close() {
      await first.close();
      await second.close();
      await scratch.drop();
    },
  };
}

for (const target of testDatabases()) {
  describeLimitStore(`postgres (${target.kind})`, () => openPair(target.kind, target.open));
}

describe.each(testDatabases())('postgres limit store ($kind)', (target) => {
  it('purges reservations too old to settle; their settle is then a no-op', async () => {
    const database = await target.open();
    try {
      const store = new PostgresLimitStore(database, { purgeEveryMs: 0, lateSettleMs: 3_600_000 });
      const now = Date.UTC(2025, 5, 11, 12);
      const budget = { subject: 'key:purge' as const, limitMicros: 100, period: 'total' as const };
      const r = await store.reserve([budget], 100, new Date(now));
      if (!r.ok) throw new Error('expected to fit');
      await store.purgeReservations(new Date(now + 11 * 60_000));
      await store.purgeReservations(new Date(now + 72 * 60_000));
      await store.settle(r.reservation, 100, new Date(now + 73 * 60_000));
      expect(await store.spend([budget], new Date(now + 73 * 60_000))).toMatchObject([{ spentMicros: 0, reservedMicros: 0 }]);
      await store.close();
    } finally {
      await database.close();
    }
  });

  it('times out instead of waiting on a stuck database', async () => {
    const never = { db: { execute: () => new Promise(() => {}) } } as unknown as Database;
    const store = new PostgresLimitStore(never, { purgeEveryMs: 0, timeoutMs: 50 });
    await expect(store.take([{ subject: 'key:stuck', rpm: 1, tpm: null }], 1, new Date())).rejects.toThrow(/take took longer than 50 ms/);
    await expect(store.reserve([{ subject: 'key:stuck', limitMicros: 1, period: 'day' }], 1, new Date())).rejects.toThrow(/reserve/);
  });
});
