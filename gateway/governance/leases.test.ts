import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { LeasedLimitStore, type LeaseOptions } from './leases.ts';
import { PostgresLimitStore } from './postgres-limits.ts';
import { RedisLimitStore } from './redis-limits.ts';
import type { AdmitRequest, AdmitResult, BudgetLimit, LimitStore, RateLimit } from './types.ts';

/**
 * Leases over each real store (PGlite, Postgres with DATABASE_URL, Redis with REDIS_URL): what
 * two instances serve from leases never passes a limit, and what their calls used is exactly
 * what stays in the store once the leases are back.
 */
interface Backend {
  name: string;
  open(): Promise<{ make(): { store: LimitStore; count: { admit: number; finish: number } }; close(): Promise<void> }>;
}

/** Counts what reaches the store underneath. */
function counting(store: LimitStore): { store: LimitStore; count: { admit: number; finish: number } } {
  const count = { admit: 0, finish: 0 };
  const wrapped: LimitStore = {
    kind: store.kind,
    admit: (req, now) => (count.admit++, store.admit(req, now)),
    finish: (req, now) => (count.finish++, store.finish(req, now)),
    reserve: (...a) => store.reserve(...a),
    settle: (...a) => store.settle(...a),
    take: (...a) => store.take(...a),
    adjustTokens: (...a) => store.adjustTokens(...a),
    spend: (...a) => store.spend(...a),
    close: async () => {},
  };
  return { store: wrapped, count };
}

const backends: Backend[] = testDatabases().map((target) => ({
  name: target.kind,
  async open() {
    const database: Database = await target.open();
    const store = new PostgresLimitStore(database, { purgeEveryMs: 0, timeoutMs: 30_000 });
    return { make: () => counting(store), close: () => database.close() };
  },
}));
if (process.env.REDIS_URL) {
  backends.push({
    name: 'redis',
    async open() {
      const prefix = `sluice:test:leases:${randomBytes(6).toString('hex')}:`;
      const store = new RedisLimitStore({ url: process.env.REDIS_URL!, prefix });
      store.start();
      return {
        make: () => counting(store),
        async close() {
          const keys = await store.client.keys(`${prefix}*`);
          if (keys.length > 0) await store.client.del(...keys);
          await store.close();
        },
      };
    },
  });
}

/** A call as the governor makes it: admit, then finish with what it really used. */
async function call(store: LeasedLimitStore, req: AdmitRequest, now: Date, used: { micros: number; tokens: number }): Promise<AdmitResult> {
  const result = await store.admit(req, now);
  if ((result.rate?.ok ?? true) && (result.budget?.ok ?? true)) {
    const reservation = result.budget?.ok ? result.budget.reservation : null;
    await store.finish({ reservation, actualMicros: used.micros, limits: req.limits, tokenDelta: used.tokens - req.tokens, takenAtMs: result.takenAtMs ?? now.getTime(), ticket: result.ticket }, now);
  }
  return result;
}

/** Requests and tokens a window holds now (one more request is taken to read them). */
async function window(store: LimitStore, limit: RateLimit, now: Date): Promise<{ requests: number; tokens: number }> {
  const taken = await store.take([limit], 0, now);
  const state = taken.states[0]!;
  return { requests: limit.rpm! - state.requests!.remaining - (taken.ok ? 1 : 0), tokens: limit.tpm === null ? 0 : limit.tpm - state.tokens!.remaining };
}

describe.each(backends)('leases over the $name limit store', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    await opened?.close();
  });
  const leased = (opts: Partial<LeaseOptions> = {}) => {
    const { store, count } = opened.make();
    return { store: new LeasedLimitStore(store, { ttlMs: 60_000, share: 0.01, maxRequests: 1_000, ...opts }), inner: store, count };
  };

  it('a steady stream on a key with large limits costs a store trip per lease, and what the calls used is exactly what stays once the lease is back', async () => {
    const { store, inner, count } = leased();
    const subject = `key:${randomUUID()}` as const;
    const limit: RateLimit = { subject, rpm: 100_000, tpm: 10_000_000 };
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000_000, period: 'day' }];
    const now = new Date();
    const remaining: number[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await call(store, { limits: [limit], tokens: 500, budgets, micros: 5_000 }, now, { micros: 1_000, tokens: 120 });
      expect(r.rate?.ok).toBe(true);
      expect(r.budget?.ok).toBe(true);
      remaining.push(r.rate?.ok ? r.rate.states[0]!.requests!.remaining : -1);
    }
    // Leases of 4, 8, 16, 32, 64: five admits, and the four used up given back; not 200 trips.
    expect(count).toEqual({ admit: 5, finish: 4 });
    expect(store.stats()).toMatchObject({ leased: 100, direct: 0 });
    // The header counts this instance's calls down one by one.
    expect(remaining.slice(0, 4)).toEqual([99_999, 99_998, 99_997, 99_996]);
    expect(remaining.at(-1)).toBe(100_000 - 100);
    await store.close();
    const [spend] = await inner.spend(budgets, now);
    expect(spend).toMatchObject({ spentMicros: 100 * 1_000, reservedMicros: 0 });
    expect(await window(inner, limit, now)).toEqual({ requests: 100, tokens: 100 * 120 });
  });

  it('two instances, 1,500 concurrent calls at 500 rpm: never more than 500 pass, and the window holds no more', async () => {
    const a = leased({ share: 0.05 });
    const b = leased({ share: 0.05 });
    const stores = [a.store, b.store];
    const limit: RateLimit = { subject: `key:${randomUUID()}`, rpm: 500, tpm: null };
    const now = new Date();
    const results = await Promise.all(Array.from({ length: 1_500 }, (_, i) => call(stores[i % 2]!, { limits: [limit], tokens: 10, budgets: [], micros: 0 }, now, { micros: 0, tokens: 10 })));
    const passed = results.filter((r) => r.rate?.ok).length;
    expect(passed).toBeLessThanOrEqual(500);
    // Room another instance's lease held back is at most a lease per instance (25 requests).
    expect(passed).toBeGreaterThanOrEqual(500 - 2 * 25);
    expect(stores.some((s) => s.stats().leased > 0)).toBe(true);
    for (const r of results) if (r.rate && !r.rate.ok) expect(r.rate.retryAfterMs).toBeGreaterThan(0);
    await Promise.all(stores.map((s) => s.close()));
    expect((await window(a.inner, limit, now)).requests).toBe(passed);
  });

  it('two instances, 400 concurrent calls on a budget: settled spend never passes it', async () => {
    const stores = [leased({ share: 0.1 }), leased({ share: 0.1 })];
    const subject = `team:${randomUUID()}` as const;
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000, period: 'month' }];
    const now = new Date();
    // Each call reserves 4,000 and really costs 3,000 to 4,000: the budget covers 250 to 333.
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => call(stores[i % 2]!.store, { limits: [], tokens: 0, budgets, micros: 4_000 }, now, { micros: 3_000 + (i % 1_001), tokens: 0 })),
    );
    await Promise.all(stores.map((s) => s.store.close()));
    const [spend] = await stores[0]!.inner.spend(budgets, now);
    expect(spend!.reservedMicros).toBe(0);
    expect(spend!.spentMicros).toBeLessThanOrEqual(1_000_000);
    const passed = results.filter((r) => r.budget?.ok).length;
    expect(passed).toBeGreaterThanOrEqual(200);
    for (const r of results) if (r.budget && !r.budget.ok) expect(r.budget.budget.subject).toBe(subject);
  });

  it('small limits go call by call: a lease of two calls would be more than the share', async () => {
    const { store, count } = leased();
    const limits: RateLimit[] = [{ subject: `key:${randomUUID()}`, rpm: 60, tpm: null }];
    const now = new Date();
    for (let i = 0; i < 5; i++) await call(store, { limits, tokens: 0, budgets: [], micros: 0 }, now, { micros: 0, tokens: 0 });
    expect(store.stats()).toMatchObject({ leased: 0, direct: 5, taken: 0 });
    expect(count.admit).toBe(5);
    await store.close();
  });

  it('a leased call finished without its ticket is refused loudly, not settled as nothing', async () => {
    const { store } = leased();
    const subject = `key:${randomUUID()}` as const;
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000_000, period: 'day' }];
    const r = await store.admit({ limits: [], tokens: 0, budgets, micros: 1_000 }, new Date());
    expect(r.ticket).toBeDefined();
    const reservation = r.budget?.ok ? r.budget.reservation : null;
    await expect(store.finish({ reservation, actualMicros: 10, limits: [], tokenDelta: 0 }, new Date())).rejects.toThrow(/without its ticket/);
    await store.finish({ reservation, actualMicros: 10, limits: [], tokenDelta: 0, ticket: r.ticket }, new Date());
    await store.close();
  });

  it('a lease that expires gives back what it did not use, without waiting for another call', async () => {
    const { store, inner } = leased({ ttlMs: 50 });
    const subject = `key:${randomUUID()}` as const;
    const limit: RateLimit = { subject, rpm: 100_000, tpm: 10_000_000 };
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000_000, period: 'day' }];
    const now = new Date();
    for (let i = 0; i < 6; i++) await call(store, { limits: [limit], tokens: 100, budgets, micros: 2_000 }, now, { micros: 700, tokens: 90 });
    await expect.poll(() => store.stats().active, { timeout: 2_000 }).toBe(0);
    await expect.poll(async () => (await inner.spend(budgets, now))[0], { timeout: 2_000 }).toMatchObject({ spentMicros: 6 * 700, reservedMicros: 0 });
    // On Postgres a give-back is two statements on the pool (settle, adjustTokens; by-parts.ts),
    // so the tokens can land just after the budget: wait for them the same way.
    await expect.poll(() => window(inner, limit, now), { timeout: 2_000 }).toEqual({ requests: 6, tokens: 6 * 90 });
    await store.close();
  });
});
