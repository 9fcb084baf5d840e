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
  it('settles ride along with the next admit: a steady stream of calls costs one script run each, and spend sees every settle', async () => {
    const store = new RedisLimitStore({ url: REDIS_URL!, prefix });
    const sent: string[] = [];
    const evalsha = store.pipe.evalsha.bind(store.pipe);
    store.pipe.evalsha = (script, keys, args) => {
      sent.push('evalsha');
      return evalsha(script, keys, args);
    };
    try {
      const budgets = [{ subject: 'key:ride' as const, limitMicros: 1_000_000, period: 'day' as const }];
      const limits = [{ subject: 'key:ride' as const, rpm: 1000, tpm: 100_000 }];
      await store.admit({ limits, tokens: 1, budgets, micros: 1 }, new Date()); // loads the script
      sent.length = 0;
      let previous = null as Awaited<ReturnType<typeof store.admit>> | null;
      for (let i = 0; i < 20; i++) {
        const now = new Date();
        const admitted = await store.admit({ limits, tokens: 50, budgets, micros: 100 }, now);
        expect(admitted.rate?.ok && admitted.budget?.ok).toBe(true);
        if (previous?.budget?.ok) void store.finish({ reservation: previous.budget.reservation, actualMicros: 40, limits, tokenDelta: -30 }, now);
        previous = admitted;
      }
      expect(sent.filter((n) => n === 'evalsha')).toHaveLength(20);
      // The last settle has no admit to ride with: it goes alone within a few milliseconds.
      if (previous?.budget?.ok) await store.finish({ reservation: previous.budget.reservation, actualMicros: 40, limits, tokenDelta: -30 }, new Date());
      expect(sent.filter((n) => n === 'evalsha')).toHaveLength(21);
      const [view] = await store.spend(budgets, new Date());
      // 20 calls settled at 40 µUSD each, the first reservation (1) still open.
      expect(view!.spentMicros).toBe(20 * 40);
      expect(view!.reservedMicros).toBe(1);
      const taken = await store.take(limits, 0, new Date());
      expect(taken.ok && taken.states[0]!.tokens!.remaining).toBe(100_000 - 1 - 20 * 20);
    } finally {
      await deletePrefix(store);
      await store.close();
    }
  });

  it('a lower token count leaves the window together with the estimate it corrects', async () => {
    const store = new RedisLimitStore({ url: REDIS_URL!, prefix });
    try {
      const k = { subject: 'key:correct-leaves' as const, rpm: null, tpm: 1_000 };
      const t0 = Date.now() - 30_000;
      expect(await store.take([k], 600, new Date(t0))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 400 } }] });
      await store.finish({ reservation: null, actualMicros: 0, limits: [k], tokenDelta: -250, takenAtMs: t0 }, new Date(t0 + 1_000));
      expect(await store.take([k], 0, new Date(t0 + 2_000))).toMatchObject({ states: [{ tokens: { remaining: 650 } }] });
      // Both leave at t0 + 60 s: the window is empty again, not 250 short or 250 over.
      expect(await store.take([k], 0, new Date(t0 + 60_001))).toMatchObject({ states: [{ tokens: { remaining: 1_000 } }] });
      expect(await store.take([k], 1_000, new Date(t0 + 60_002))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 0 } }] });
    } finally {
      await deletePrefix(store);
      await store.close();
    }
  });

  it('a settle queued before spend is applied when spend answers, without waiting for an admit', async () => {
    const store = new RedisLimitStore({ url: REDIS_URL!, prefix });
    try {
      const budgets = [{ subject: 'key:spend-sees' as const, limitMicros: 1_000, period: 'day' as const }];
      const r = await store.reserve(budgets, 300, new Date());
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const settled = store.settle(r.reservation, 120, new Date());
      const [view] = await store.spend(budgets, new Date());
      expect(view).toMatchObject({ spentMicros: 120, reservedMicros: 0 });
      await settled;
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
