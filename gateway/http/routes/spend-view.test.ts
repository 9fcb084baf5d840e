import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { KeyStore } from '../../auth/key-store.ts';
import type { Database } from '../../db/client.ts';
import { PostgresLimitStore } from '../../governance/postgres-limits.ts';
import type { BudgetLimit, SpendView } from '../../governance/types.ts';
import { silentLogger } from '../../logger.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { keyRoutes } from './keys.ts';
import type { SpendJson } from './spend-view.ts';
import { teamRoutes } from './teams.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');
type Row = { id: string; name: string; spend?: unknown };

/**
 * The key and team lists with `?include=spend` (the dashboard's keys page) against a real
 * governance store: the same numbers as GET one, in one store call for the whole list.
 */
describe.each(testDatabases())('GET /api/keys|teams?include=spend ($kind)', (target) => {
  let database: Database;
  let keys: KeyStore;
  let store: PostgresLimitStore;
  let app: Hono<AppEnv>;
  const lookups: BudgetLimit[][] = [];

  beforeAll(async () => {
    database = await target.open();
    keys = new KeyStore(database, { now: () => NOW });
    store = new PostgresLimitStore(database, { purgeEveryMs: 0, timeoutMs: 30_000 });
    const spend = (budgets: BudgetLimit[], now: Date): Promise<SpendView[]> => {
      lookups.push(budgets);
      return store.spend(budgets, now);
    };
    app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      c.set('key', { id: null, name: 'ops', scope: 'admin', policy: null, team: null });
      await next();
    });
    app.route('/api/keys', keyRoutes({ keys, spend, clock: () => NOW }));
    app.route('/api/teams', teamRoutes({ keys, spend, clock: () => NOW }));
    app.onError(errorHandler(silentLogger));

    const teamRes = await app.request('/api/teams', post({ name: 'support', budget: { usd: 100, period: 'month' } }));
    const team = (await teamRes.json()) as Row;
    await app.request('/api/teams', post({ name: 'no-budget' }));
    const made: Row[] = [];
    for (let i = 0; i < 12; i++) {
      const body = { name: `bot-${i}`, ...(i % 3 === 0 ? {} : { budget: { usd: 10 + i, period: i % 2 ? 'day' : 'week' } }), ...(i < 6 ? { team: 'support' } : {}) };
      made.push((await (await app.request('/api/keys', post(body))).json()) as Row);
    }
    // Spend on a few keys (and their team), through the store as the pipeline would.
    for (const [i, micros] of [[1, 1_250_000], [2, 40_000], [7, 3_000_000]] as const) {
      const key = made[i]!;
      const budgets: BudgetLimit[] = [{ subject: `key:${key.id}`, limitMicros: (10 + i) * 1e6, period: i % 2 ? 'day' : 'week' }];
      if (i < 6) budgets.push({ subject: `team:${team.id}`, limitMicros: 100e6, period: 'month' });
      const r = await store.reserve(budgets, 500_000, new Date(NOW));
      if (!r.ok) throw new Error('reservation refused');
      await store.settle(r.reservation, micros, new Date(NOW));
    }
    // An outstanding reservation shows as reserved.
    await store.reserve([{ subject: `key:${made[4]!.id}`, limitMicros: 14e6, period: 'week' }], 200_000, new Date(NOW));
  });
  afterAll(async () => {
    await store?.close();
    await keys?.stop();
    await database?.close();
  });

  it('keys: every key with {key, team} spend equal to GET one, in one store call', async () => {
    lookups.length = 0;
    const list = (await (await app.request('/api/keys?include=spend')).json()) as { data: Array<Row & { spend: { key: SpendJson | null; team: SpendJson | null } }> };
    expect(lookups).toHaveLength(1);
    expect(list.data).toHaveLength(12);
    for (const k of list.data) {
      const one = (await (await app.request(`/api/keys/${k.id}`)).json()) as Row;
      expect(k.spend, k.name).toEqual(one.spend);
    }
    const byName = new Map(list.data.map((k) => [k.name, k.spend]));
    expect(byName.get('bot-1')!.key).toMatchObject({ period: 'day', spent_usd: 1.25, reserved_usd: 0, remaining_usd: 9.75 });
    expect(byName.get('bot-1')!.team).toMatchObject({ period: 'month', spent_usd: 1.29 });
    expect(byName.get('bot-4')!.key).toMatchObject({ spent_usd: 0, reserved_usd: 0.2 });
    expect(byName.get('bot-0')).toEqual({ key: null, team: expect.objectContaining({ spent_usd: 1.29 }) });
    expect(byName.get('bot-9')).toEqual({ key: null, team: null });
  });

  it('teams: every team with its spend equal to GET one', async () => {
    const list = (await (await app.request('/api/teams?include=spend')).json()) as { data: Array<Row & { spend: SpendJson | null }> };
    for (const t of list.data) expect(t.spend, t.name).toEqual(((await (await app.request(`/api/teams/${t.id}`)).json()) as Row).spend);
    expect(list.data.find((t) => t.name === 'no-budget')!.spend).toBeNull();
  });

  it('without include the lists are as before; any other include is a 400 naming it', async () => {
    const plain = (await (await app.request('/api/keys')).json()) as { data: Row[] };
    expect(plain.data[0]).not.toHaveProperty('spend');
    const bad = await app.request('/api/teams?include=secrets');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('include');
  });
});

function post(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
