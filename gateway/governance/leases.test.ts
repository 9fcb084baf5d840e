import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { LeasedLimitStore, type LeaseOptions } from './leases.ts';
import { RedisLimitStore } from './redis-limits.ts';
import type { AdmitRequest, AdmitResult, BudgetLimit, RateLimit } from './types.ts';

/** CI sets REDIS_URL; each run writes under its own prefix and deletes it. */
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('leases.test.ts: REDIS_URL is not set, skipping the lease tests');
const prefix = `sluice:test:leases:${randomBytes(6).toString('hex')}:`;
const opened: RedisLimitStore[] = [];

function redis(): RedisLimitStore {
  const store = new RedisLimitStore({ url: REDIS_URL!, prefix });
  store.start();
  opened.push(store);
  return store;
}

/** A store of its own to look at what the others left (they close their connections). */
let inspector: RedisLimitStore | undefined;
const inspect = (): RedisLimitStore => (inspector ??= redis());

function leased(inner: RedisLimitStore, opts: Partial<LeaseOptions> = {}): LeasedLimitStore {
  return new LeasedLimitStore(inner, { ttlMs: 1_000, share: 0.01, maxRequests: 1_000, ...opts });
}

/** Counts the scripts a store sends. */
function counting(store: RedisLimitStore): { sent: number } {
  const count = { sent: 0 };
  const evalsha = store.pipe.evalsha.bind(store.pipe);
  store.pipe.evalsha = (script, keys, args) => {
    count.sent++;
    return evalsha(script, keys, args);
  };
  return count;
}

/** A call as the governor makes it: admit, then finish with what it really used. */
async function call(store: LeasedLimitStore, req: AdmitRequest, now: Date, used: { micros: number; tokens: number }): Promise<AdmitResult> {
  const result = await store.admit(req, now);
  const ok = (result.rate?.ok ?? true) && (result.budget?.ok ?? true);
  if (ok) {
    const reservation = result.budget?.ok ? result.budget.reservation : null;
    await store.finish({ reservation, actualMicros: used.micros, limits: req.limits, tokenDelta: used.tokens - req.tokens, takenAtMs: result.takenAtMs ?? now.getTime(), ticket: result.ticket }, now);
  }
  return result;
}

afterAll(async () => {
  const store = inspector;
  if (store) {
    let cursor = '0';
    do {
      const [next, keys] = await store.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await store.client.del(...keys);
    } while (cursor !== '0');
  }
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
});

describe.skipIf(!REDIS_URL)('leases over the Redis limit store', () => {
  it('a steady stream on a key with large limits costs a round trip per lease, and what the calls used is exactly what stays once the lease is back', async () => {
    const inner = redis();
    const count = counting(inner);
    const store = leased(inner);
    const subject = `key:${randomUUID()}` as const;
    const limits: RateLimit[] = [{ subject, rpm: 100_000, tpm: 10_000_000 }];
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000_000, period: 'day' }];
    const now = new Date();
    const remaining: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await call(store, { limits, tokens: 500, budgets, micros: 5_000 }, now, { micros: 1_000, tokens: 120 });
      expect(r.rate?.ok).toBe(true);
      expect(r.budget?.ok).toBe(true);
      remaining.push(r.rate!.ok ? r.rate!.states[0]!.requests!.remaining : -1);
    }
    // Leases of 4, 8, 16, … up to 1% of the rpm: a handful of round trips, not 200.
    expect(count.sent).toBeLessThan(12);
    expect(store.stats().leased).toBe(200);
    // Within a lease the header counts down one per call.
    for (let i = 1; i < remaining.length; i++) if (remaining[i]! > remaining[i - 1]! - 1) expect(remaining[i]).toBeGreaterThan(remaining[i - 1]!);
    expect(remaining.at(-1)).toBe(100_000 - 200);
    await store.close();
    const [spend] = await inspect().spend(budgets, now);
    expect(spend).toMatchObject({ spentMicros: 200 * 1_000, reservedMicros: 0 });
    expect(await inspect().client.zcard(`${prefix}rq:${subject}`)).toBe(200);
    expect(Number(await inspect().client.get(`${prefix}ts:${subject}`))).toBe(200 * 120);
  });

  it('two instances, 3,000 concurrent calls at 1,000 rpm: never more than 1,000 pass, and the window holds no more', async () => {
    const stores = [leased(redis(), { share: 0.05 }), leased(redis(), { share: 0.05 })];
    const subject = `key:${randomUUID()}` as const;
    const limits: RateLimit[] = [{ subject, rpm: 1_000, tpm: null }];
    const now = new Date();
    const results = await Promise.all(Array.from({ length: 3_000 }, (_, i) => call(stores[i % 2]!, { limits, tokens: 10, budgets: [], micros: 0 }, now, { micros: 0, tokens: 10 })));
    const passed = results.filter((r) => r.rate?.ok).length;
    expect(passed).toBeLessThanOrEqual(1_000);
    // Room another instance's lease held back is at most a lease per instance (50 requests).
    expect(passed).toBeGreaterThanOrEqual(1_000 - 2 * 50);
    expect(stores.some((s) => s.stats().leased > 0)).toBe(true);
    for (const r of results) if (r.rate && !r.rate.ok) expect(r.rate.retryAfterMs).toBeGreaterThan(0);
    await Promise.all(stores.map((s) => s.close()));
    expect(await inspect().client.zcard(`${prefix}rq:${subject}`)).toBe(passed);
  });

  it('two instances, 400 concurrent calls on a budget: settled spend never passes it', async () => {
    const stores = [leased(redis(), { share: 0.1 }), leased(redis(), { share: 0.1 })];
    const subject = `team:${randomUUID()}` as const;
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000, period: 'month' }];
    const now = new Date();
    // Each call reserves 4,000 and really costs 3,000 to 4,000: the budget covers 250 to 333.
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => call(stores[i % 2]!, { limits: [], tokens: 0, budgets, micros: 4_000 }, now, { micros: 3_000 + (i % 1_001), tokens: 0 })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const [spend] = await inspect().spend(budgets, now);
    expect(spend!.reservedMicros).toBe(0);
    expect(spend!.spentMicros).toBeLessThanOrEqual(1_000_000);
    const passed = results.filter((r) => r.budget?.ok).length;
    expect(passed).toBeGreaterThanOrEqual(200);
    for (const r of results) if (r.budget && !r.budget.ok) expect(r.budget.budget.subject).toBe(subject);
  });

  it('small limits go call by call: a lease of two calls would be more than the share', async () => {
    const inner = redis();
    const count = counting(inner);
    const store = leased(inner);
    const limits: RateLimit[] = [{ subject: `key:${randomUUID()}`, rpm: 60, tpm: null }];
    const now = new Date();
    for (let i = 0; i < 5; i++) await call(store, { limits, tokens: 0, budgets: [], micros: 0 }, now, { micros: 0, tokens: 0 });
    expect(store.stats()).toMatchObject({ leased: 0, direct: 5, taken: 0 });
    expect(count.sent).toBe(5);
    await store.close();
  });

  it('a lease that expires gives back what it did not use, without waiting for another call', async () => {
    const inner = redis();
    const store = leased(inner, { ttlMs: 50 });
    const subject = `key:${randomUUID()}` as const;
    const limits: RateLimit[] = [{ subject, rpm: 100_000, tpm: 10_000_000 }];
    const budgets: BudgetLimit[] = [{ subject, limitMicros: 1_000_000_000, period: 'day' }];
    const now = new Date();
    for (let i = 0; i < 6; i++) await call(store, { limits, tokens: 100, budgets, micros: 2_000 }, now, { micros: 700, tokens: 90 });
    await new Promise((r) => setTimeout(r, 150));
    expect(store.stats().active).toBe(0);
    const [spend] = await inner.spend(budgets, now);
    expect(spend).toMatchObject({ spentMicros: 6 * 700, reservedMicros: 0 });
    expect(await inner.client.zcard(`${prefix}rq:${subject}`)).toBe(6);
    expect(Number(await inner.client.get(`${prefix}ts:${subject}`))).toBe(6 * 90);
    await store.close();
  });
});
