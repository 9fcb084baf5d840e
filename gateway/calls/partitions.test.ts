import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { rowsOf, type Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { daysInDefault, listDayPartitions, PartitionMaintainer } from './partitions.ts';
import { usageSummary } from './queries.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { CallLogWriter } from './writer.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2031-03-10T15:00:00Z');

describe.each(testDatabases())('call log partitions on $kind', (target) => {
  let database: Database;

  const names = async (table: 'calls' | 'call_payloads') => (await listDayPartitions(database, table)).map((p) => p.name);
  const maintainer = (now: number, retentionDays?: number) =>
    new PartitionMaintainer({ database, logger: silentLogger, now: () => now, retentionDays });

  /** Writes records through the real writer, dated as given. */
  async function write(dates: number[]): Promise<void> {
    const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    const w = new CallLogWriter({
      database,
      spoolDir,
      logger: silentLogger,
      payloads: { enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] },
    });
    for (const d of dates) w.enqueue(sampleRecord({}, new Date(d)));
    await w.close();
    await rm(spoolDir, { recursive: true, force: true });
  }
  const placement = async () =>
    rowsOf<{ part: string; n: number }>(
      await database.db.execute(
        sql`select tableoid::regclass::text as part, count(*)::int as n from calls group by 1 order by 1`,
      ),
    );

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    await database.db.execute(sql`truncate calls, call_payloads`);
    for (const table of ['calls', 'call_payloads'] as const) {
      for (const p of await listDayPartitions(database, table)) await database.db.execute(sql.raw(`drop table ${p.name}`));
    }
  });

  it('creates yesterday … today+3 for both tables, idempotently and from several instances at once', async () => {
    const first = await maintainer(T0).start();
    expect(first.created).toHaveLength(10);
    const expected = ['20310309', '20310310', '20310311', '20310312', '20310313'];
    expect(await names('calls')).toEqual(expected.map((d) => `calls_p${d}`));
    expect(await names('call_payloads')).toEqual(expected.map((d) => `call_payloads_p${d}`));

    const again = await Promise.all([maintainer(T0 + DAY).runOnce(), maintainer(T0 + DAY).runOnce()]);
    expect(again.flatMap((r) => r.created)).toEqual(['calls_p20310314', 'call_payloads_p20310314']);
    expect((await maintainer(T0 + DAY).runOnce()).created).toEqual([]);
  });

  it('routes rows to their day partition', async () => {
    await maintainer(T0).runOnce();
    await write([T0, T0 + 10, T0 + DAY, T0 - DAY]);
    expect(await placement()).toEqual([
      { part: 'calls_p20310309', n: 1 },
      { part: 'calls_p20310310', n: 2 },
      { part: 'calls_p20310311', n: 1 },
    ]);
  });

  it('retention drops whole partitions older than retention_days and keeps the rest', async () => {
    const old = T0 - 10 * DAY; // 2031-02-28
    await maintainer(old).runOnce(); // Feb 27 … Mar 3
    await maintainer(T0).runOnce(); // Mar 9 … Mar 13
    await write([old, old + DAY, T0 - 2 * DAY, T0]); // Mar 8 has no partition: DEFAULT
    expect(await names('calls')).toHaveLength(10);

    const result = await maintainer(T0, 3).runOnce();
    // Cutoff is midnight starting Mar 7 (today − 3 days): every day that ended by then goes.
    const dropped = ['20310227', '20310228', '20310301', '20310302', '20310303'];
    expect(result.dropped).toEqual(
      expect.arrayContaining([...dropped.map((d) => `calls_p${d}`), ...dropped.map((d) => `call_payloads_p${d}`)]),
    );
    expect(result.dropped).toHaveLength(10);
    expect(result.adopted).toContain('calls_p20310308');
    expect(await names('calls')).toEqual(
      ['20310308', '20310309', '20310310', '20310311', '20310312', '20310313'].map((d) => `calls_p${d}`),
    );
    expect(await placement()).toEqual([
      { part: 'calls_p20310308', n: 1 },
      { part: 'calls_p20310310', n: 1 },
    ]);
  });

  it('keeps the rollups past the call log: their own, longer retention, and /api/usage still counts them', async () => {
    await database.db.execute(sql`truncate call_rollups, call_rollups_minute`);
    const old = T0 - 10 * DAY;
    await maintainer(old).runOnce();
    await maintainer(T0).runOnce();
    await write([old, old + DAY, T0 - 6 * DAY, T0]);
    const rollupCalls = async () =>
      rowsOf<{ n: number }>(await database.db.execute(sql`select coalesce(sum(calls), 0)::int as n from call_rollups`))[0]!.n;
    expect(await rollupCalls()).toBe(4);
    const m = new PartitionMaintainer({ database, logger: silentLogger, now: () => T0, retentionDays: 3, rollupRetentionDays: 8 });
    const result = await m.runOnce();
    expect(result.dropped.length).toBeGreaterThan(0);
    // Calls of 10 and 9 days ago: partitions and rollups gone; 6 days ago: partition gone, rollup kept.
    expect(result.rollupRowsDeleted).toBe(4); // one hourly and one minute row for each of the two old calls
    expect(await rollupCalls()).toBe(2);
    const usage = await usageSummary(database, 'day', { since: new Date(T0 - 30 * DAY), until: new Date(T0 + DAY) });
    expect(usage.map((r) => r.calls)).toEqual([1, 1]);
  });

  it('deletes the scores of the calls retention drops (online, feedback), never those of an eval run, at start and when a day goes', async () => {
    await database.db.execute(sql`truncate call_scores`);
    const old = T0 - 10 * DAY;
    await maintainer(old).runOnce();
    await maintainer(T0).runOnce();
    const score = async (source: string, callStartedAt: number | null, createdAt: number, scorer = 'groundedness') => {
      await database.db.execute(sql`
        insert into call_scores (id, call_id, scorer, score, source, call_started_at, created_at, production)
        values (gen_random_uuid(), gen_random_uuid(), ${scorer}, 0.5, ${source},
          ${callStartedAt === null ? null : new Date(callStartedAt).toISOString()}::timestamptz, ${new Date(createdAt).toISOString()}::timestamptz, true)`);
    };
    await score('online', old, old + 1000); // gone: its call's day is past retention
    await score('feedback', old, T0); // gone: by its call's day, though written today
    await score('online', null, old); // gone: no call found, written long ago
    await score('eval', old, old); // kept: an eval run's
    await score('online', T0 - DAY, T0 - DAY); // kept: recent
    const left = async () =>
      rowsOf<{ source: string; n: number }>(
        await database.db.execute(sql`select source, count(*)::int as n from call_scores group by 1 order by 1`),
      );

    const m = maintainer(T0, 3);
    const first = await m.runOnce();
    expect(first.scoreRowsDeleted).toBe(3);
    expect(await left()).toEqual([
      { source: 'eval', n: 1 },
      { source: 'online', n: 1 },
    ]);
    // Not rescanned every hour: only after a start or when a day's partitions went.
    await score('online', old, old);
    expect((await m.runOnce()).scoreRowsDeleted).toBeUndefined();
    expect((await maintainer(T0, 3).runOnce()).scoreRowsDeleted).toBe(1);
    // Without retention nothing is deleted.
    await score('online', old, old);
    expect((await maintainer(T0).runOnce()).scoreRowsDeleted).toBeUndefined();
    expect(await left()).toEqual([
      { source: 'eval', n: 1 },
      { source: 'online', n: 2 },
    ]);
  });

  it('moves rows that landed in the DEFAULT partition into their day when it is created', async () => {
    await write([T0, T0 + 1, T0 + 2 * DAY]);
    expect(await placement()).toEqual([{ part: 'calls_default', n: 3 }]);
    expect(await daysInDefault(database, 'calls')).toEqual([Date.UTC(2031, 2, 10), Date.UTC(2031, 2, 12)]);

    const result = await maintainer(T0).runOnce();
    expect(result.adopted).toEqual(
      expect.arrayContaining(['calls_p20310310', 'calls_p20310312', 'call_payloads_p20310310', 'call_payloads_p20310312']),
    );
    expect(await placement()).toEqual([
      { part: 'calls_p20310310', n: 2 },
      { part: 'calls_p20310312', n: 1 },
    ]);
    expect(await daysInDefault(database, 'call_payloads')).toEqual([]);
    // The adopted partitions got the parent's indexes.
    const idx = rowsOf<{ n: number }>(
      await database.db.execute(sql`select count(*)::int as n from pg_indexes where tablename = 'calls_p20310310'`),
    );
    expect(idx[0]!.n).toBe(6);
  });
});
