import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetLimit, LimitStore, RateLimit, ReserveResult, Subject } from './types.ts';
import { seededRandom } from '../../test/helpers/seeded-random.ts';

/**
 * The behaviour every LimitStore must have, run against each backend (postgres-limits.test.ts,
 * redis-limits.test.ts). `a` and `b` are two instances on the same backend, as two gateway
 * processes would be. Every case uses subjects of its own, so cases share one backend.
 */
export interface StorePair {
  a: LimitStore;
  b: LimitStore;
  close(): Promise<void>;
}

/** Wednesday 2025-06-11 12:00:00.000 UTC: a whole second, mid-day, mid-week, mid-month. */
const T0 = Date.UTC(2025, 5, 11, 12, 0, 0);
const at = (ms: number): Date => new Date(ms);
const MIN = 60_000;

const key = (): Subject => `key:${randomUUID()}`;
const team = (): Subject => `team:${randomUUID()}`;
const budget = (subject: Subject, limitMicros: number, period: BudgetLimit['period'] = 'day'): BudgetLimit => ({ subject, limitMicros, period });

function reserved(r: ReserveResult) {
  if (!r.ok) throw new Error(`expected the reservation to fit, refused by ${r.budget.subject}`);
  return r.reservation;
}

export function describeLimitStore(name: string, open: () => Promise<StorePair>): void {
  describe(`limit store: ${name}`, () => {
    let pair: StorePair;
    beforeAll(async () => {
      pair = await open();
    });
    afterAll(async () => {
      await pair?.close();
    });

    describe('budgets', () => {
      it('reserves against a key and its team all or nothing, naming the budget that refused', async () => {
        const { a, b } = pair;
        const k = budget(key(), 1_000, 'day');
        const t = budget(team(), 100, 'month');
        const first = reserved(await a.reserve([k, t], 60, at(T0)));
        expect(first).toMatchObject({ subjects: [k.subject, t.subject], micros: 60 });

        const refused = await b.reserve([k, t], 50, at(T0 + 1));
        expect(refused).toEqual({ ok: false, budget: t, spentMicros: 0, reservedMicros: 60, resetAt: new Date(Date.UTC(2025, 6, 1)) });
        // The key's budget had room, but took nothing either.
        const views = await a.spend([k, t], at(T0 + 2));
        expect(views.map((v) => [v.spentMicros, v.reservedMicros])).toEqual([
          [0, 60],
          [0, 60],
        ]);
        expect(views[0]).toMatchObject({ period: 'day', periodStart: new Date(Date.UTC(2025, 5, 11)), resetAt: new Date(Date.UTC(2025, 5, 12)) });

        // A key too small for the call: the team keeps its room.
        const small = budget(key(), 10, 'week');
        const byKey = await a.reserve([small, t], 20, at(T0 + 3));
        expect(byKey).toMatchObject({ ok: false, budget: small, spentMicros: 0, reservedMicros: 0, resetAt: new Date(Date.UTC(2025, 5, 16)) });
        expect((await b.spend([t], at(T0 + 4)))[0]?.reservedMicros).toBe(60);
        // Both refuse: the first named (the key) is reported.
        expect(await b.reserve([small, t], 500, at(T0 + 5))).toMatchObject({ ok: false, budget: small });
        // Exactly the rest of the team's budget fits.
        reserved(await b.reserve([k, t], 40, at(T0 + 6)));
        expect(await a.reserve([k, t], 1, at(T0 + 7))).toMatchObject({ ok: false, budget: t, reservedMicros: 100 });
      });

      it('settles once: releases the reservation, adds the real cost, and a second settle does nothing', async () => {
        const { a, b } = pair;
        const k = budget(key(), 1_000);
        const r = reserved(await a.reserve([k], 100, at(T0)));
        await b.settle(r, 40, at(T0 + 10));
        await a.settle(r, 40, at(T0 + 20));
        await b.settle(r, 900, at(T0 + 30));
        expect(await a.spend([k], at(T0 + 40))).toMatchObject([{ subject: k.subject, spentMicros: 40, reservedMicros: 0 }]);
        reserved(await b.reserve([k], 960, at(T0 + 50)));
        expect(await a.reserve([k], 1, at(T0 + 60))).toMatchObject({ ok: false, spentMicros: 40, reservedMicros: 960 });
      });

      it('a limit of 0 refuses any price; a reservation of 0 always fits and still settles its cost', async () => {
        const { a, b } = pair;
        const zero = budget(key(), 0);
        expect(await a.reserve([zero], 1, at(T0))).toMatchObject({ ok: false, budget: zero });
        expect(await a.reserve([zero], 0.2, at(T0))).toMatchObject({ ok: false, budget: zero });
        const free = reserved(await b.reserve([zero], 0, at(T0)));
        await a.settle(free, 0, at(T0 + 1));

        // Over its limit (a call cost more than reserved): 0 still fits, 1 does not.
        const k = budget(key(), 10, 'total');
        await a.settle(reserved(await a.reserve([k], 10, at(T0))), 50, at(T0 + 1));
        const zeroCall = reserved(await b.reserve([k], 0, at(T0 + 2)));
        expect(await a.reserve([k], 1, at(T0 + 3))).toMatchObject({ ok: false, spentMicros: 50, reservedMicros: 0, resetAt: null });
        // The first use of a period can be a 0 reservation; its settle creates the period's spend.
        const fresh = budget(key(), 10);
        const r = reserved(await a.reserve([fresh, k], 0, at(T0 + 4)));
        await b.settle(r, 3, at(T0 + 5));
        await b.settle(zeroCall, 0, at(T0 + 6));
        expect(await a.spend([fresh, k], at(T0 + 7))).toMatchObject([
          { spentMicros: 3, reservedMicros: 0, periodStart: new Date(Date.UTC(2025, 5, 11)) },
          { spentMicros: 53, reservedMicros: 0, period: 'total', periodStart: null, resetAt: null },
        ]);
      });

      it('an unsettled reservation stops holding budget after its TTL; a late settle still counts the cost, once', async () => {
        const { a, b } = pair;
        const k = budget(key(), 100);
        const t = budget(team(), 1_000);
        const dead = reserved(await a.reserve([k, t], 100, at(T0)));
        expect(await b.reserve([k, t], 1, at(T0 + 5 * MIN))).toMatchObject({ ok: false, budget: k, reservedMicros: 100 });
        // Default TTL 10 minutes (Postgres rounds up to the end of its 1-minute bucket).
        reserved(await b.reserve([k, t], 1, at(T0 + 11 * MIN)));
        expect(await a.spend([k, t], at(T0 + 11 * MIN))).toMatchObject([
          { spentMicros: 0, reservedMicros: 1 },
          { spentMicros: 0, reservedMicros: 1 },
        ]);
        await a.settle(dead, 30, at(T0 + 12 * MIN));
        await b.settle(dead, 30, at(T0 + 12 * MIN));
        expect(await b.spend([k, t], at(T0 + 12 * MIN))).toMatchObject([
          { spentMicros: 30, reservedMicros: 1 },
          { spentMicros: 30, reservedMicros: 1 },
        ]);
      });

      it('settles into the period the reservation was taken in; a new period starts empty', async () => {
        const { a, b } = pair;
        const day = budget(key(), 100, 'day');
        const week = budget(team(), 100, 'week');
        // Sunday 2025-06-15 23:59:30 UTC; the next week starts Monday 00:00.
        const sunday = Date.UTC(2025, 5, 15, 23, 59, 30);
        const r = reserved(await a.reserve([day, week], 100, at(sunday)));
        const monday = Date.UTC(2025, 5, 16, 0, 0, 30);
        expect(await b.spend([day, week], at(monday))).toMatchObject([
          { spentMicros: 0, reservedMicros: 0, periodStart: new Date(Date.UTC(2025, 5, 16)) },
          { spentMicros: 0, reservedMicros: 0, periodStart: new Date(Date.UTC(2025, 5, 16)), resetAt: new Date(Date.UTC(2025, 5, 23)) },
        ]);
        reserved(await b.reserve([day, week], 100, at(monday)));
        await b.settle(r, 70, at(monday + 1));
        expect(await a.spend([day, week], at(sunday + 20_000))).toMatchObject([
          { spentMicros: 70, reservedMicros: 0, periodStart: new Date(Date.UTC(2025, 5, 15)) },
          { spentMicros: 70, reservedMicros: 0, periodStart: new Date(Date.UTC(2025, 5, 9)) },
        ]);
        expect(await a.spend([day, week], at(monday + 2))).toMatchObject([{ spentMicros: 0, reservedMicros: 100 }, { reservedMicros: 100 }]);

        const month = budget(key(), 50, 'month');
        await a.settle(reserved(await a.reserve([month], 50, at(Date.UTC(2025, 5, 30, 23, 0)))), 50, at(Date.UTC(2025, 5, 30, 23, 1)));
        expect(await a.reserve([month], 1, at(Date.UTC(2025, 5, 30, 23, 59)))).toMatchObject({ ok: false, resetAt: new Date(Date.UTC(2025, 6, 1)) });
        reserved(await b.reserve([month], 50, at(Date.UTC(2025, 6, 1))));
      });

      it('two instances, 200 concurrent reservations of random sizes: the reserved total never passes the limit', async () => {
        const { a, b } = pair;
        const random = seededRandom(17);
        const k = budget(key(), 1_000_000);
        const t = budget(team(), 9_000);
        const sizes = Array.from({ length: 200 }, () => 1 + Math.floor(random() * 150));
        const results = await Promise.all(sizes.map((m, i) => (i % 2 ? a : b).reserve([k, t], m, at(T0 + i))));
        const taken = results.flatMap((r) => (r.ok ? [r.reservation] : []));
        const total = taken.reduce((s, r) => s + r.micros, 0);
        expect(total).toBeLessThanOrEqual(9_000);
        expect(taken.length).toBeLessThan(200);
        expect((await a.spend([t], at(T0 + 500)))[0]).toMatchObject({ spentMicros: 0, reservedMicros: total });
        await Promise.all(taken.map((r, i) => (i % 2 ? b : a).settle(r, r.micros, at(T0 + 600))));
        expect((await b.spend([t], at(T0 + 700)))[0]).toMatchObject({ spentMicros: total, reservedMicros: 0 });
      });

      it('two instances, 200 concurrent reserve-then-settle of random sizes: settled spend never passes the limit', async () => {
        const { a, b } = pair;
        const random = seededRandom(42);
        const k = budget(key(), 6_000);
        const t = budget(team(), 5_000);
        const calls = Array.from({ length: 200 }, () => {
          const worst = 1 + Math.floor(random() * 120);
          return { worst, actual: Math.floor(random() * (worst + 1)) };
        });
        const settled = await Promise.all(
          calls.map(async ({ worst, actual }, i) => {
            const store = i % 2 ? a : b;
            const r = await store.reserve([k, t], worst, at(T0 + i));
            if (!r.ok) return 0;
            await (i % 3 ? a : b).settle(r.reservation, actual, at(T0 + i + 1));
            return actual;
          }),
        );
        const spent = settled.reduce((s, x) => s + x, 0);
        expect(spent).toBeLessThanOrEqual(5_000);
        expect(await a.spend([k, t], at(T0 + 1_000))).toMatchObject([
          { spentMicros: spent, reservedMicros: 0 },
          { spentMicros: spent, reservedMicros: 0 },
        ]);
      });
    });

    describe('rate limits', () => {
      it('rpm N: exactly N of 2N concurrent requests from two instances pass; the rest get a retry-after', async () => {
        const { a, b } = pair;
        const limit: RateLimit = { subject: key(), rpm: 60, tpm: null };
        const results = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).take([limit], 10, at(T0 + 5 * i))));
        expect(results.filter((r) => r.ok)).toHaveLength(60);
        for (const r of results) {
          if (r.ok) continue;
          expect(r).toMatchObject({ subject: limit.subject, kind: 'requests' });
          expect(r.retryAfterMs).toBeGreaterThan(0);
          expect(r.retryAfterMs).toBeLessThanOrEqual(MIN);
          expect(r.states[0]).toMatchObject({ requests: { limit: 60, remaining: 0 }, tokens: null });
        }
      });

      it('takes from a key and its team all or nothing, across requests and tokens', async () => {
        const { a, b } = pair;
        const k: RateLimit = { subject: key(), rpm: 10, tpm: 1_000 };
        const t: RateLimit = { subject: team(), rpm: 2, tpm: null };
        const first = await a.take([k, t], 100, at(T0));
        expect(first).toEqual({
          ok: true,
          states: [
            { subject: k.subject, requests: { limit: 10, remaining: 9, resetMs: MIN }, tokens: { limit: 1_000, remaining: 900, resetMs: MIN } },
            { subject: t.subject, requests: { limit: 2, remaining: 1, resetMs: MIN }, tokens: null },
          ],
        });
        expect((await b.take([k, t], 100, at(T0 + 1_000))).ok).toBe(true);
        const third = await a.take([k, t], 100, at(T0 + 2_000));
        expect(third).toMatchObject({ ok: false, subject: t.subject, kind: 'requests', retryAfterMs: 58_000 });
        // The key's window took nothing from the refused request.
        expect(third.states[0]).toEqual({ subject: k.subject, requests: { limit: 10, remaining: 8, resetMs: 59_000 }, tokens: { limit: 1_000, remaining: 800, resetMs: 59_000 } });

        // Tokens refuse too, and then the team's request is not counted.
        const k2: RateLimit = { subject: key(), rpm: null, tpm: 500 };
        const t2: RateLimit = { subject: team(), rpm: 5, tpm: null };
        expect((await a.take([k2, t2], 400, at(T0))).ok).toBe(true);
        expect(await b.take([k2, t2], 200, at(T0 + 10_000))).toMatchObject({ ok: false, subject: k2.subject, kind: 'tokens', retryAfterMs: 50_000 });
        expect((await b.take([t2], 0, at(T0 + 10_001))).states[0]?.requests?.remaining).toBe(3);
      });

      it('slides: a request leaves the window a minute after it was made', async () => {
        const { a, b } = pair;
        const k: RateLimit = { subject: key(), rpm: 2, tpm: null };
        expect((await a.take([k], 0, at(T0))).ok).toBe(true);
        expect((await b.take([k], 0, at(T0 + 30_000))).ok).toBe(true);
        expect(await a.take([k], 0, at(T0 + 40_000))).toMatchObject({ ok: false, retryAfterMs: 20_000, states: [{ requests: { remaining: 0, resetMs: 50_000 } }] });
        const later = await b.take([k], 0, at(T0 + MIN));
        expect(later).toMatchObject({ ok: true, states: [{ requests: { limit: 2, remaining: 0, resetMs: MIN } }] });
        expect(await a.take([k], 0, at(T0 + MIN + 1))).toMatchObject({ ok: false, retryAfterMs: 30_000 - 1 });
      });

      it('tpm: refuses what does not fit, tells when it will, refuses more than the whole limit, and adjusts afterwards', async () => {
        const { a, b } = pair;
        const k: RateLimit = { subject: key(), rpm: null, tpm: 1_000 };
        expect(await a.take([k], 1_001, at(T0))).toMatchObject({ ok: false, kind: 'tokens', retryAfterMs: MIN, states: [{ tokens: { remaining: 1_000, resetMs: 0 } }] });
        expect(await a.take([k], 600, at(T0))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 400 } }] });
        expect(await b.take([k], 300, at(T0 + 20_000))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 100 } }] });
        // 500 more fit once the 600 leave at T0 + 60 s.
        expect(await b.take([k], 500, at(T0 + 30_000))).toMatchObject({ ok: false, retryAfterMs: 30_000 });
        // The 300-token call used 50: the newest entries give back 250.
        await a.adjustTokens([k], -250, at(T0 + 31_000));
        expect(await b.take([k], 340, at(T0 + 32_000))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 10 } }] });
        // A call that used more than estimated: counted now, never refused, remaining floors at 0.
        await b.adjustTokens([k], 200, at(T0 + 33_000));
        expect(await a.take([k], 1, at(T0 + 34_000))).toMatchObject({ ok: false, states: [{ tokens: { remaining: 0 } }] });
        // Giving back more than the window holds leaves it empty, not negative.
        await a.adjustTokens([k], -5_000, at(T0 + 35_000));
        expect(await b.take([k], 1_000, at(T0 + 36_000))).toMatchObject({ ok: true, states: [{ tokens: { remaining: 0 } }] });
      });

      it('fewer tokens than estimated come off where the estimate went when that is known, so they leave the window together', async () => {
        const { a, b } = pair;
        const k: RateLimit = { subject: key(), rpm: null, tpm: 1_000 };
        expect((await a.take([k], 400, at(T0))).ok).toBe(true);
        expect((await b.take([k], 300, at(T0 + 10_000))).ok).toBe(true);
        // The first call used 100 of its 400.
        await a.adjustTokens([k], -300, at(T0 + 11_000), T0);
        expect(await b.take([k], 0, at(T0 + 12_000))).toMatchObject({ states: [{ tokens: { remaining: 600 } }] });
        // Once the first call's minute is over only the second's 300 count: not 0, as if the
        // 300 had come off the newer entry and the older one had left whole.
        expect(await a.take([k], 0, at(T0 + MIN + 1_500))).toMatchObject({ states: [{ tokens: { remaining: 700 } }] });
      });

      it('rpm 0 refuses every request; limits of null cost nothing', async () => {
        const { a } = pair;
        const closed: RateLimit = { subject: key(), rpm: 0, tpm: null };
        expect(await a.take([closed], 0, at(T0))).toMatchObject({ ok: false, kind: 'requests', retryAfterMs: MIN });
        const open: RateLimit = { subject: team(), rpm: null, tpm: null };
        expect(await a.take([open], 100, at(T0))).toEqual({ ok: true, states: [{ subject: open.subject, requests: null, tokens: null }] });
        await a.adjustTokens([open], 50, at(T0));
      });
    });

    describe('admit and finish (a call\'s two trips)', () => {
      it('takes and reserves together; a request the rate limits refuse reserves nothing', async () => {
        const { a, b } = pair;
        const k = key();
        const limits: RateLimit[] = [{ subject: k, rpm: 1, tpm: 1_000 }];
        const budgets = [budget(k, 1_000)];
        const first = await a.admit({ limits, tokens: 100, budgets, micros: 300 }, at(T0));
        expect(first.rate).toMatchObject({ ok: true, states: [{ requests: { remaining: 0 }, tokens: { remaining: 900 } }] });
        const reservation = reserved(first.budget!);
        expect(reservation).toMatchObject({ subjects: [k], micros: 300 });
        const second = await b.admit({ limits, tokens: 100, budgets, micros: 300 }, at(T0 + 1_000));
        expect(second).toMatchObject({ rate: { ok: false, kind: 'requests' }, budget: null });
        expect(await a.spend(budgets, at(T0 + 1_000))).toMatchObject([{ spentMicros: 0, reservedMicros: 300 }]);

        // One trip back: the real cost settles and the token estimate is corrected.
        await b.finish({ reservation, actualMicros: 120, limits, tokenDelta: -60 }, at(T0 + 2_000));
        expect(await a.spend(budgets, at(T0 + 2_000))).toMatchObject([{ spentMicros: 120, reservedMicros: 0 }]);
        const later = await a.admit({ limits: [{ subject: k, rpm: 10, tpm: 1_000 }], tokens: 0, budgets: [], micros: 0 }, at(T0 + 3_000));
        expect(later).toMatchObject({ rate: { ok: true, states: [{ tokens: { remaining: 960 } }] }, budget: null });
        // Settles once: a second finish adds nothing.
        await a.finish({ reservation, actualMicros: 120, limits: [], tokenDelta: 0 }, at(T0 + 4_000));
        expect(await b.spend(budgets, at(T0 + 4_000))).toMatchObject([{ spentMicros: 120, reservedMicros: 0 }]);
      });

      it('a budget that does not fit still lets the rate limits take the request (a cache hit is served)', async () => {
        const { a } = pair;
        const k = key();
        const t = team();
        const limits: RateLimit[] = [{ subject: k, rpm: 5, tpm: null }];
        const refused = await a.admit({ limits, tokens: 0, budgets: [budget(k, 1_000), budget(t, 100, 'month')], micros: 500 }, at(T0));
        expect(refused.rate).toMatchObject({ ok: true, states: [{ requests: { remaining: 4 } }] });
        expect(refused.budget).toMatchObject({ ok: false, budget: { subject: t }, spentMicros: 0, reservedMicros: 0 });
        expect(await a.spend([budget(k, 1_000)], at(T0))).toMatchObject([{ reservedMicros: 0 }]);
        // Nothing asked of the store, nothing taken.
        expect(await a.admit({ limits: [], tokens: 5, budgets: [], micros: 5 }, at(T0))).toEqual({ rate: null, budget: null });
        await a.finish({ reservation: null, actualMicros: 0, limits, tokenDelta: 0 }, at(T0));
      });
    });
  });
}
