import { count, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { completionOf } from './entry.ts';
import { PostgresTier } from './postgres-tier.ts';
import { ResponseCache } from './response-cache.ts';
import { responseCache } from './schema.ts';
import { entryOf, parallelToolCompletion, textCompletion } from '../../test/helpers/completions.ts';

describe.each(testDatabases())('response cache through Postgres ($kind)', (target) => {
  let database: Database;
  let now = 1_760_000_000_000;
  const clock = () => now;
  const tier = (opts: ConstructorParameters<typeof PostgresTier>[1] = {}) => new PostgresTier(database, { now: clock, purgeEveryMs: 0, ...opts });
  const rows = async () => (await database.db.select({ n: count() }).from(responseCache))[0]!.n;

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    now = 1_760_000_000_000;
    await database.db.execute(sql`truncate response_cache`);
  });

  it('two instances share hits: one writes, the other reads it (and keeps a local copy)', async () => {
    const a = new ResponseCache({ memoryBytes: 1_000_000, shared: tier(), now: clock });
    const b = new ResponseCache({ memoryBytes: 1_000_000, shared: tier(), now: clock });
    const entry = entryOf(parallelToolCompletion(), now);
    expect(await b.get('k1')).toBeUndefined();
    a.set('k1', entry, 60);
    await a.flush();
    const hit = await b.get('k1');
    expect(hit).toBeDefined();
    expect(completionOf(hit!)).toEqual(parallelToolCompletion());
    expect(hit).toMatchObject({ usage: entry.usage, costMicros: entry.costMicros, createdAt: entry.createdAt });
    expect(b.getMemory('k1')).toBe(hit);
    expect(b.stats()).toMatchObject({ hits: 2, misses: 1, shared: { kind: 'postgres', hits: 1, readErrors: 0 } });
    await a.close();
    await b.close();
  });

  it('skips expired rows on read and purges them', async () => {
    const t = tier();
    await Promise.all([t.set('short', entryOf(textCompletion('s')), now + 1_000), t.set('long', entryOf(textCompletion('l')), now + 60_000)]);
    expect(await t.get('short')).toBeDefined();
    now += 1_000;
    expect(await t.get('short')).toBeUndefined();
    expect((await t.get('long'))?.expiresAt).toBe(1_760_000_060_000);
    expect(await rows()).toBe(2);
    expect(await t.purgeExpired()).toBe(1);
    expect(await rows()).toBe(1);
    await t.close();
  });

  it('batches writes into one upsert, newest value per key wins, and overwrites across batches', async () => {
    const t = tier({ flushMs: 1_000 });
    const writes = [t.set('k', entryOf(textCompletion('first')), now + 60_000), t.set('k', entryOf(textCompletion('second')), now + 60_000)];
    for (let i = 0; i < 50; i++) writes.push(t.set(`n${i}`, entryOf(textCompletion(`n${i}`)), now + 60_000));
    await t.flush();
    await Promise.all(writes);
    expect(await rows()).toBe(51);
    expect(completionOf((await t.get('k'))!.entry).choices[0]!.message.content).toBe('second');
    const third = t.set('k', entryOf(textCompletion('third')), now + 60_000);
    await t.flush();
    await third;
    expect(completionOf((await t.get('k'))!.entry).choices[0]!.message.content).toBe('third');
    await t.close();
  });

  it('refuses writes beyond maxPending instead of queueing without bound', async () => {
    const t = tier({ flushMs: 10_000, batchSize: 1_000, maxPending: 3 });
    const ok = [1, 2, 3].map((i) => t.set(`k${i}`, entryOf(textCompletion('x')), now + 60_000));
    await expect(t.set('k4', entryOf(textCompletion('x')), now + 60_000)).rejects.toThrow(/queue full/);
    await t.flush();
    await Promise.all(ok);
    expect(await rows()).toBe(3);
    await t.close();
  });

  it('stores the completion as jsonb, queryable in SQL', async () => {
    const t = tier();
    await t.set('k', entryOf(textCompletion('hello')), now + 60_000);
    const result = await database.db.select({ content: sql<string>`${responseCache.value}->'choices'->0->'message'->>'content'` }).from(responseCache);
    expect(result[0]?.content).toBe('hello');
    await t.close();
  });
});
