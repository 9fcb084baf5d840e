import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../../prompts/schema.ts';
import { KeyStore } from '../../auth/key-store.ts';
import { openDatabase, type Database } from '../../db/client.ts';
import type { BudgetLimit, SpendView } from '../../governance/types.ts';
import { silentLogger } from '../../logger.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { keyRoutes, type SpendLookup } from './keys.ts';
import { teamRoutes } from './teams.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const ACTOR = '0190a0f0-0000-7000-8000-0000000000aa';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A spend store that has seen $1.50 spent and $0.25 reserved on every budget, this month. */
function fakeSpend(): SpendLookup & { calls: BudgetLimit[][] } {
  const calls: BudgetLimit[][] = [];
  const fn = async (budgets: BudgetLimit[], _now: Date): Promise<SpendView[]> => {
    calls.push(budgets);
    return budgets.map((b) => ({
      subject: b.subject,
      period: b.period,
      periodStart: b.period === 'total' ? null : new Date('2026-03-01T00:00:00Z'),
      resetAt: b.period === 'total' ? null : new Date('2026-04-01T00:00:00Z'),
      spentMicros: 1_500_000,
      reservedMicros: 250_000,
    }));
  };
  return Object.assign(fn, { calls });
}

function appWith(keys: KeyStore, spend: SpendLookup | undefined): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('key', { id: ACTOR, name: 'ops', scope: 'admin', policy: null, team: null });
    await next();
  });
  app.route('/api/keys', keyRoutes({ keys, spend, clock: () => NOW }));
  app.route('/api/teams', teamRoutes({ keys, spend, clock: () => NOW }));
  app.onError(errorHandler(silentLogger));
  return app;
}

describe('/api/keys routes', () => {
  let database: Database;
  let keys: KeyStore;
  let app: Hono<AppEnv>;
  let bare: Hono<AppEnv>;
  const spend = fakeSpend();

  async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, on = app): Promise<{ status: number; body: T; headers: Headers }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await on.request(path, init);
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  }

  async function bad(method: string, path: string, body: unknown, status = 400): Promise<ErrorBody['error']> {
    const res = await call<ErrorBody>(method, path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body.error;
  }

  beforeAll(async () => {
    database = await openDatabase({});
    await database.migrate();
    keys = new KeyStore(database, { now: () => NOW });
    app = appWith(keys, spend);
    bare = appWith(keys, undefined);
    const team = await call('POST', '/api/teams', { name: 'support', budget: { usd: 100, period: 'month' }, rate_limits: { rpm: 1000 } });
    expect(team.status).toBe(201);
  });
  afterAll(async () => {
    await keys?.stop();
    await database?.close();
  });

  it('POST creates a key with its policy; the view has every field and the key once', async () => {
    const res = await call('POST', '/api/keys', {
      name: 'bot',
      team: 'support',
      budget: { usd: 25, period: 'week' },
      rate_limits: { rpm: 60, tpm: 100_000 },
      models: ['openai/*', 'support-bot'],
      prompts: ['support*'],
      metadata: { owner: 'ml' },
      expires_at: '2027-01-01T00:00:00+01:00',
    });
    expect(res.status).toBe(201);
    const teamId = (await keys.getTeam('support'))!.id;
    expect(Object.keys(res.body)).toEqual([
      'id', 'object', 'name', 'prefix', 'scope', 'team', 'budget', 'rate_limits', 'models', 'prompts', 'metadata',
      'expires_at', 'created_at', 'updated_at', 'last_used_at', 'revoked_at', 'key',
    ]);
    expect(res.body).toMatchObject({
      object: 'api_key',
      name: 'bot',
      scope: 'inference',
      team: { id: teamId, name: 'support' },
      budget: { usd: 25, period: 'week' },
      rate_limits: { rpm: 60, tpm: 100_000 },
      models: ['openai/*', 'support-bot'],
      prompts: ['support*'],
      metadata: { owner: 'ml' },
      expires_at: '2026-12-31T23:00:00.000Z',
      last_used_at: null,
      revoked_at: null,
    });
    expect(res.body).not.toHaveProperty('rate_limit_rpm');
    const list = await call<{ data: Array<Record<string, unknown>> }>('GET', '/api/keys');
    const listed = list.body.data.find((k) => k.id === res.body.id);
    expect(listed).toEqual({ ...res.body, key: undefined });
    expect(listed).not.toHaveProperty('key');
    // Audited under the caller's id.
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.subject, `key:${String(res.body.id)}`));
    expect(audit).toMatchObject({ actor: ACTOR, action: 'key.create', before: null, after: { name: 'bot', team: { name: 'support' } } });
  });

  it('defaults: inference scope, no team, nothing limited', async () => {
    const res = await call('POST', '/api/keys', { name: 'plain' });
    expect(res.body).toMatchObject({ scope: 'inference', team: null, budget: null, rate_limits: { rpm: null, tpm: null }, models: null, prompts: null, metadata: {}, expires_at: null });
  });

  it('GET /{id} shows the policy and the spend of the key budget and its team budget', async () => {
    const created = await call<{ id: string }>('POST', '/api/keys', { name: 'spender', team: 'support', budget: { usd: 2.5, period: 'month' } });
    spend.calls.length = 0;
    const res = await call('GET', `/api/keys/${created.body.id}`);
    expect(res.status).toBe(200);
    const team = (await keys.getTeam('support'))!;
    expect(spend.calls).toEqual([
      [
        { subject: `key:${created.body.id}`, limitMicros: 2_500_000, period: 'month' },
        { subject: `team:${team.id}`, limitMicros: 100_000_000, period: 'month' },
      ],
    ]);
    expect(res.body).toMatchObject({ id: created.body.id, budget: { usd: 2.5, period: 'month' } });
    expect(res.body.spend).toEqual({
      key: { period: 'month', period_start: '2026-03-01T00:00:00.000Z', reset_at: '2026-04-01T00:00:00.000Z', spent_usd: 1.5, reserved_usd: 0.25, remaining_usd: 0.75 },
      team: { period: 'month', period_start: '2026-03-01T00:00:00.000Z', reset_at: '2026-04-01T00:00:00.000Z', spent_usd: 1.5, reserved_usd: 0.25, remaining_usd: 98.25 },
    });

    // No budget: null, and the store is not asked about it.
    const plain = await call<{ id: string }>('POST', '/api/keys', { name: 'no budget' });
    spend.calls.length = 0;
    expect((await call('GET', `/api/keys/${plain.body.id}`)).body.spend).toEqual({ key: null, team: null });
    expect(spend.calls).toEqual([]);
    // Spent past the limit: nothing remains (never negative).
    const tiny = await call<{ id: string }>('POST', '/api/keys', { name: 'tiny', budget: { usd: 1, period: 'total' } });
    expect((await call<{ spend: { key: unknown } }>('GET', `/api/keys/${tiny.body.id}`)).body.spend.key).toMatchObject({ period: 'total', period_start: null, reset_at: null, remaining_usd: 0 });

    // Without a spend lookup, spend is null.
    expect((await call('GET', `/api/keys/${created.body.id}`, undefined, bare)).body.spend).toBeNull();
  });

  it('PATCH: absent is unchanged, null clears; audited; a revoked or unknown key is a 404', async () => {
    const created = await call<{ id: string }>('POST', '/api/keys', { name: 'p', team: 'support', rate_limits: { rpm: 5, tpm: 50 }, models: ['a/*'], metadata: { x: 'y' } });
    const id = created.body.id;
    const res = await call('PATCH', `/api/keys/${id}`, { rate_limits: { rpm: null }, models: null, budget: { usd: 0, period: 'day' }, expires_at: '2030-01-01T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'p', team: { name: 'support' }, rate_limits: { rpm: null, tpm: 50 }, models: null, budget: { usd: 0, period: 'day' }, metadata: { x: 'y' }, expires_at: '2030-01-01T00:00:00.000Z' });
    const cleared = await call('PATCH', `/api/keys/${id}`, { team: null, metadata: null, rate_limits: null, expires_at: null, name: 'q', scope: 'admin' });
    expect(cleared.body).toMatchObject({ name: 'q', scope: 'admin', team: null, metadata: {}, rate_limits: { rpm: null, tpm: null }, expires_at: null });
    expect((await call('PATCH', `/api/keys/${id}`, {})).body).toMatchObject({ name: 'q' });
    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subject, `key:${id}`))).map((a) => a.action);
    expect(actions.sort()).toEqual(['key.create', 'key.update', 'key.update']);

    expect((await call('DELETE', `/api/keys/${id}`)).body).toMatchObject({ id, deleted: true });
    expect((await bad('PATCH', `/api/keys/${id}`, { name: 'r' }, 404)).code).toBe('not_found');
    expect((await bad('PATCH', '/api/keys/not-a-uuid', { name: 'r' }, 404)).param).toBe('id');
    expect((await bad('GET', '/api/keys/01890000-0000-7000-8000-000000000000', undefined, 404)).message).toContain('01890000-0000-7000-8000-000000000000');
    // A revoked key can still be read.
    expect((await call('GET', `/api/keys/${id}`)).body).toMatchObject({ id, revoked_at: expect.any(String) });
  });

  it('every bad value is a 400 naming its field', async () => {
    const cases: Array<[unknown, string | null, string?]> = [
      [{ name: 'x', rate_limit_rpm: 60 }, 'rate_limit_rpm', 'rate_limits.rpm'],
      [{ name: 'x', rate_limits: { rpm: 0 } }, 'rate_limits.rpm'],
      [{ name: 'x', rate_limits: { rps: 1 } }, 'rate_limits', 'rps'],
      [{ name: 'x', budget: { usd: Number.MAX_VALUE, period: 'month' } }, 'budget.usd'],
      [{ name: 'x', budget: { usd: 5, period: 'fortnight' } }, 'budget.period'],
      [{ name: 'x', models: ['ok', 'bad glob!'] }, 'models[1]'],
      [{ name: 'x', prompts: 'support*' }, 'prompts'],
      [{ name: 'x', metadata: { k: 5 } }, 'metadata.k'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', expires_at: '2027-01-01T00:00:00' }, 'expires_at'],
      [{ name: 'x', expires_at: '2026-03-10T11:59:59Z' }, 'expires_at', 'future'],
      [{ name: 'x', team: 'nope' }, 'team', "'nope'"],
      [{ name: 'x', team: '' }, 'team'],
      [{ name: 'x', scope: 'root' }, 'scope', 'inference'],
      [{ name: '' }, 'name'],
      [{ name: 'x', budget_usd: 5 }, null, 'budget_usd'],
    ];
    for (const [body, param, words] of cases) {
      const err = await bad('POST', '/api/keys', body);
      expect(err.code, JSON.stringify(body)).toBe('invalid_request');
      expect(err.param, JSON.stringify(body)).toBe(param);
      if (words) expect(err.message).toContain(words);
    }
    const id = ((await call<{ id: string }>('POST', '/api/keys', { name: 'target' })).body).id;
    expect((await bad('PATCH', `/api/keys/${id}`, { rate_limit_rpm: 1 })).param).toBe('rate_limit_rpm');
    expect((await bad('PATCH', `/api/keys/${id}`, { team: 'nope' })).param).toBe('team');
    expect((await bad('PATCH', `/api/keys/${id}`, { name: null })).param).toBe('name');
    // A PATCH may set a past expiry: that expires the key now.
    expect((await call('PATCH', `/api/keys/${id}`, { expires_at: '2020-01-01T00:00:00Z' })).status).toBe(200);
    const names = (await call<{ data: Array<{ name: string }> }>('GET', '/api/keys')).body.data.map((k) => k.name);
    expect(names).not.toContain('x');
  });

  it('a wrong method on a known path is a 405 naming the right ones', async () => {
    const res = await call<ErrorBody>('PUT', '/api/keys/01890000-0000-7000-8000-000000000000', {});
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expect((await call('PATCH', '/api/keys', {})).status).toBe(405);
  });
});
