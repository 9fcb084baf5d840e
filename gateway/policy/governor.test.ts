import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { AuthenticatedKey } from '../auth/key-store.ts';
import { CallEvents } from '../calls/call-events.ts';
import { CallTracker } from '../calls/tracker.ts';
import { createTokenEstimator, promptTokenBound } from '../cost/estimate-tokens.ts';
import { createPricer } from '../cost/pricing.ts';
import type { Database } from '../db/client.ts';
import { PostgresLimitStore } from '../governance/postgres-limits.ts';
import { LeasedLimitStore } from '../governance/leases.ts';
import { RedisLimitStore } from '../governance/redis-limits.ts';
import type { LimitStore, Policy } from '../governance/types.ts';
import { silentLogger } from '../logger.ts';
import type { Provider } from '../providers/types.ts';
import { Governor, type Demand } from './governor.ts';

/**
 * The governor's request path on each real store (PGlite, Postgres with DATABASE_URL, Redis
 * with REDIS_URL): one store operation before the upstream call and one after it, the cheap
 * prompt bound first and the tiktoken estimate only when the bound is what refused.
 */
const PROVIDER = { name: 'up', type: 'openai-compatible' } as Provider;
const MODEL = 'gpt-4o-mini';
const TARGETS = [{ provider: PROVIDER, model: MODEL }];
const MESSAGES = [{ role: 'user', content: 'hello there, how are you doing today?' }];
const EXACT = createTokenEstimator(MODEL).prompt(MESSAGES);
const BOUND = promptTokenBound(MESSAGES);
/** Input costs 1,000 micro-USD a token, output nothing: a call's worst case is its prompt. */
const pricer = createPricer({ overrides: { [`up/${MODEL}`]: { input: 1000, output: 0 } } });

interface Backend {
  name: string;
  open(): Promise<{ store: LimitStore; close(): Promise<void> }>;
}

const backends: Backend[] = testDatabases().map((target) => ({
  name: target.kind,
  async open() {
    const database: Database = await target.open();
    const store = new PostgresLimitStore(database, { purgeEveryMs: 0, timeoutMs: 30_000 });
    return { store, close: () => database.close() };
  },
}));
if (process.env.REDIS_URL) {
  backends.push({
    name: 'redis',
    async open() {
      const prefix = `sluice:test:governor:${randomBytes(6).toString('hex')}:`;
      const store = new RedisLimitStore({ url: process.env.REDIS_URL!, prefix });
      store.start();
      return {
        store,
        async close() {
          const keys = await store.client.keys(`${prefix}*`);
          if (keys.length > 0) await store.client.del(...keys);
          await store.close();
        },
      };
    },
  });
}

/** Counts what the governor asks of the real store underneath. */
function counted(store: LimitStore) {
  const calls = { admit: 0, finish: 0, other: 0 };
  const wrapped: LimitStore = {
    kind: store.kind,
    admit: (req, now) => (calls.admit++, store.admit(req, now)),
    finish: (req, now) => (calls.finish++, store.finish(req, now)),
    reserve: (...a) => (calls.other++, store.reserve(...a)),
    settle: (...a) => (calls.other++, store.settle(...a)),
    take: (...a) => (calls.other++, store.take(...a)),
    adjustTokens: (...a) => (calls.other++, store.adjustTokens(...a)),
    spend: (...a) => store.spend(...a),
    close: () => store.close(),
  };
  return { calls, store: wrapped };
}

const keyWith = (policy: Partial<Policy>): AuthenticatedKey => ({
  id: randomUUID(),
  name: 'k',
  scope: 'inference',
  policy: { budget: null, rpm: null, tpm: null, models: null, prompts: null, ...policy },
  team: null,
});

describe.each(backends)('governor on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    await opened?.close();
  });

  function setup() {
    const { calls, store } = counted(opened.store);
    const events = new CallEvents();
    const governor = new Governor({ store, pricer, logger: silentLogger, events, clock: Date.now, onStoreError: 'closed', defaultMaxTokens: 0 });
    let exactAsked = 0;
    const demand: Demand = {
      promptTokens: BOUND,
      exactPromptTokens: () => (exactAsked++, EXACT),
      maxOutputTokens: null,
      choices: 1,
    };
    const call = (key: AuthenticatedKey) => {
      const tracker = new CallTracker({ id: randomUUID(), requestId: 'r', endpoint: 'chat.completions', startedAt: new Date(), t0: 0 }, { events, pricer, now: () => 0, clock: Date.now });
      tracker.setKey(key);
      tracker.setTarget(PROVIDER, MODEL);
      return tracker;
    };
    const gate = async (tracker: CallTracker) => {
      const g = governor.start(tracker, TARGETS, demand);
      return { limited: await g.admitted, overBudget: await g.reserved };
    };
    return { calls, governor, call, gate, exactAsked: () => exactAsked, store };
  }

  it('the bound is a bound of the estimate, and several times it for English', () => {
    expect(BOUND).toBeGreaterThan(EXACT);
  });

  it('one store trip before the call and one after, sent once the finish event has returned', async () => {
    const s = setup();
    const key = keyWith({ budget: { usd: 100, period: 'day' }, rpm: 100, tpm: 100_000 });
    const tracker = s.call(key);
    expect(await s.gate(tracker)).toEqual({ limited: null, overBudget: null });
    expect(s.calls).toEqual({ admit: 1, finish: 0, other: 0 });
    expect(s.exactAsked()).toBe(0);
    expect(tracker.limitHeaders).toMatchObject({ 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-remaining-tokens': String(100_000 - BOUND) });
    tracker.price({ inputTokens: EXACT, outputTokens: 3, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, false, 'chat');
    tracker.finishOk({ ok: true });
    // Not on the response path: nothing is sent before the event loop turns.
    expect(s.calls.finish).toBe(0);
    expect(s.governor.stats().reservations_open).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(s.calls).toEqual({ admit: 1, finish: 1, other: 0 });
    // The settle and the token correction both landed.
    await expect.poll(async () => (await s.store.spend([{ subject: `key:${key.id}`, limitMicros: 1e8, period: 'day' }], new Date()))[0]).toMatchObject({ spentMicros: EXACT * 1000, reservedMicros: 0 });
    const next = s.call(key);
    await s.gate(next);
    expect(next.limitHeaders?.['x-ratelimit-remaining-tokens']).toBe(String(100_000 - (EXACT + 3) - BOUND));
  });

  it('a budget the bound does not fit now is asked again with the estimate, and the request is taken once', async () => {
    const s = setup();
    const key = keyWith({ budget: { usd: (BOUND * 1000) / 1e6, period: 'day' }, rpm: 10 });
    const subject = `key:${key.id}` as const;
    const budget = { subject, limitMicros: BOUND * 1000, period: 'day' as const };
    // Another call holds enough that the bound's worst case no longer fits, the estimate's does.
    const held = await s.store.reserve([budget], (BOUND - EXACT) * 1000 - 500, new Date());
    expect(held.ok).toBe(true);
    const tracker = s.call(key);
    expect(await s.gate(tracker)).toEqual({ limited: null, overBudget: null });
    expect(s.exactAsked()).toBe(1);
    expect(s.calls.admit).toBe(2);
    expect(tracker.limitHeaders?.['x-ratelimit-remaining-requests']).toBe('9');
    const spend = await s.store.spend([budget], new Date());
    expect(spend[0]?.reservedMicros).toBe((BOUND - EXACT) * 1000 - 500 + EXACT * 1000);
    // A second call does not fit either way: refused, and its request still counted.
    const again = s.call(key);
    const refused = await s.gate(again);
    expect(refused.limited).toBeNull();
    expect(refused.overBudget?.code).toBe('budget_exceeded');
    expect(again.limitHeaders?.['x-ratelimit-remaining-requests']).toBe('8');
  });

  it('a bound above a whole budget or tpm is not sent: the estimate is asked for first', async () => {
    const s = setup();
    const key = keyWith({ budget: { usd: ((EXACT + BOUND) / 2) * 1000 / 1e6, period: 'day' }, tpm: EXACT + 1 });
    const tracker = s.call(key);
    expect(await s.gate(tracker)).toEqual({ limited: null, overBudget: null });
    expect(s.exactAsked()).toBe(1);
    expect(s.calls.admit).toBe(1);
    expect(tracker.limitHeaders?.['x-ratelimit-remaining-tokens']).toBe('1');
  });

  it('a tpm the bound does not fit now is asked again with the estimate', async () => {
    const s = setup();
    const key = keyWith({ tpm: BOUND });
    const limit = { subject: `key:${key.id}` as const, rpm: null, tpm: BOUND };
    expect((await s.store.take([limit], BOUND - EXACT, new Date())).ok).toBe(true);
    const tracker = s.call(key);
    expect(await s.gate(tracker)).toEqual({ limited: null, overBudget: null });
    expect(s.exactAsked()).toBe(1);
    expect(s.calls.admit).toBe(2);
    expect(tracker.limitHeaders?.['x-ratelimit-remaining-tokens']).toBe('0');
    const refused = await s.gate(s.call(key));
    expect(refused.limited?.code).toBe('rate_limited');
  });

  it('a request the rate limits refuse reserves nothing', async () => {
    const s = setup();
    const key = keyWith({ budget: { usd: 100, period: 'day' }, rpm: 0 });
    const refused = await s.gate(s.call(key));
    expect(refused.limited?.code).toBe('rate_limited');
    expect(s.exactAsked()).toBe(0);
    expect(s.governor.stats().reservations_open).toBe(0);
    const spend = await s.store.spend([{ subject: `key:${key.id}`, limitMicros: 0, period: 'day' }], new Date());
    expect(spend[0]?.reservedMicros).toBe(0);
  });
});

describe.skipIf(!process.env.REDIS_URL)('governor on redis with leases', () => {
  it('calls on a key with large limits are served from leases: few store trips, and every real cost is in the spend once the leases are back', async () => {
    const prefix = `sluice:test:governor-leases:${randomBytes(6).toString('hex')}:`;
    const redis = new RedisLimitStore({ url: process.env.REDIS_URL!, prefix });
    redis.start();
    const { calls, store } = counted(redis);
    const leased = new LeasedLimitStore(store, { ttlMs: 60_000, share: 0.01, maxRequests: 1_000 });
    const events = new CallEvents();
    const governor = new Governor({ store: leased, pricer, logger: silentLogger, events, clock: Date.now, onStoreError: 'closed', defaultMaxTokens: 0 });
    const key = keyWith({ budget: { usd: 1_000, period: 'day' }, rpm: 100_000, tpm: 10_000_000 });
    const demand: Demand = { promptTokens: BOUND, exactPromptTokens: () => EXACT, maxOutputTokens: null, choices: 1 };
    const inspect = new RedisLimitStore({ url: process.env.REDIS_URL!, prefix });
    try {
      const remaining: string[] = [];
      for (let i = 0; i < 40; i++) {
        const tracker = new CallTracker({ id: randomUUID(), requestId: 'r', endpoint: 'chat.completions', startedAt: new Date(), t0: 0 }, { events, pricer, now: () => 0, clock: Date.now });
        tracker.setKey(key);
        tracker.setTarget(PROVIDER, MODEL);
        const g = governor.start(tracker, TARGETS, demand);
        expect(await g.admitted).toBeNull();
        expect(await g.reserved).toBeNull();
        remaining.push(tracker.limitHeaders?.['x-ratelimit-remaining-requests'] ?? '');
        tracker.price({ inputTokens: EXACT, outputTokens: 3, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, false, 'chat');
        tracker.finishOk({ ok: true });
        await new Promise((r) => setImmediate(r));
      }
      // Leases of 4, 8, 16, then 12 more calls of a lease of 32: four admits, no finish yet.
      expect(calls.admit).toBe(4);
      expect(leased.stats()).toMatchObject({ leased: 40, direct: 0 });
      expect(remaining.at(-1)).toBe(String(100_000 - 40));
      expect(governor.stats()).toMatchObject({ reservations_open: 0, leases_active: 1, leases_taken: 4, calls_leased: 40, calls_direct: 0 });
      await leased.close();
      const [spend] = await inspect.spend([{ subject: `key:${key.id}`, limitMicros: 1e9, period: 'day' }], new Date());
      expect(spend).toMatchObject({ spentMicros: 40 * EXACT * 1000, reservedMicros: 0 });
      expect(Number(await inspect.client.get(`${prefix}ts:key:${key.id}`))).toBe(40 * (EXACT + 3));
    } finally {
      const keys = await inspect.client.keys(`${prefix}*`);
      if (keys.length > 0) await inspect.client.del(...keys);
      await inspect.close();
    }
  });
});
