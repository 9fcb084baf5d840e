import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeLimitStore } from './limit-store-cases.ts';
import { RedisLimitStore } from './redis-limits.ts';

/** CI sets REDIS_URL=redis://127.0.0.1:6379; each run writes under its own prefix and deletes it. */
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('redis-limits.test.ts: REDIS_URL is not set, skipping the Redis limit store tests');
const prefix = `sluice:test:limits:${randomBytes(6).toString('hex')}:`;

async function deletePrefix(store: RedisLimitStore): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await store.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await store.client.del(...keys);
  } while (cursor !== '0');
}

describe.skipIf(!REDIS_URL)('redis limit store', () => {
  describeLimitStore('redis', async () => {
    const a = new RedisLimitStore({ url: REDIS_URL!, prefix });
    const b = new RedisLimitStore({ url: REDIS_URL!, prefix });
    a.start();
    b.start();
    return {
      a,
      b,
      async close() {
        await deletePrefix(a);
        await a.close();
        await b.close();
      },
    };
  });

  it('expires what it keeps: budget counters after their period, request logs after a minute', async () => {
    const store = new RedisLimitStore({ url: REDIS_URL!, prefix });
    try {
      const now = new Date();
      await store.reserve([{ subject: 'key:ttl', limitMicros: 10, period: 'day' }], 1, now);
      await store.take([{ subject: 'key:ttl', rpm: 5, tpm: 100 }], 3, now);
      const keys = await store.client.keys(`${prefix}*ttl*`);
      expect(keys.length).toBe(5);
      for (const k of keys) {
        const ttl = await store.client.pttl(k);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(k.includes(':b:') ? 2 * 86_400_000 : 60_000);
      }
    } finally {
      await deletePrefix(store);
      await store.close();
    }
  });
});

describe('redis limit store, Redis down', () => {
  it('fails within the timeout instead of hanging', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const store = new RedisLimitStore({ url: `redis://127.0.0.1:${port}`, prefix, timeoutMs: 200 });
    store.start();
    await expect(store.take([{ subject: 'key:down', rpm: 1, tpm: null }], 1, new Date())).rejects.toThrow();
    await expect(store.reserve([{ subject: 'key:down', limitMicros: 1, period: 'day' }], 1, new Date())).rejects.toThrow();
    await store.close();
  });
});
