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
import { keyRoutes } from './keys.ts';
import { teamRoutes } from './teams.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('/api/teams routes', () => {
  let database: Database;
  let keys: KeyStore;
  let app: Hono<AppEnv>;
  const asked: BudgetLimit[][] = [];
  const spend = async (budgets: BudgetLimit[]): Promise<SpendView[]> => {
    asked.push(budgets);
    return budgets.map((b) => ({ subject: b.subject, period: b.period, periodStart: new Date('2026-03-10T00:00:00Z'), resetAt: new Date('2026-03-11T00:00:00Z'), spentMicros: 4_000_000, reservedMicros: 0 }));
  };

  async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await app.request(path, init);
    return { status: res.status, body: (await res.json()) as T };
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
    app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      c.set('key', { id: null, name: 'SLUICE_ADMIN_KEY', scope: 'admin', policy: null, team: null });
      await next();
    });
    app.route('/api/keys', keyRoutes({ keys, spend, clock: () => NOW }));
    app.route('/api/teams', teamRoutes({ keys, spend, clock: () => NOW }));
    app.onError(errorHandler(silentLogger));
  });
  afterAll(async () => {
    await database?.close();
  });

  it('create, list, get (with spend and key count), patch, delete', async () => {
    const created = await call<{ id: string }>('POST', '/api/teams', {
      name: 'ml-platform',
      budget: { usd: 10, period: 'day' },
      rate_limits: { rpm: 100 },
      models: ['openai/*'],
      metadata: { cost_center: '42' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toEqual({
      id,
      object: 'team',
      name: 'ml-platform',
      budget: { usd: 10, period: 'day' },
      rate_limits: { rpm: 100, tpm: null },
      models: ['openai/*'],
      prompts: null,
      metadata: { cost_center: '42' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect((await call<{ object: string; data: Array<{ id: string }> }>('GET', '/api/teams')).body).toMatchObject({ object: 'list', data: [{ id }] });

    await call('POST', '/api/keys', { name: 'member', team: 'ml-platform' });
    // By id or by name.
    for (const ref of [id, 'ml-platform']) {
      const got = await call('GET', `/api/teams/${ref}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id, key_count: 1, spend: { period: 'day', spent_usd: 4, reserved_usd: 0, remaining_usd: 6, reset_at: '2026-03-11T00:00:00.000Z' } });
    }
    expect(asked.at(-1)).toEqual([{ subject: `team:${id}`, limitMicros: 10_000_000, period: 'day' }]);

    const patched = await call('PATCH', `/api/teams/${id}`, { budget: null, rate_limits: { tpm: 5000 }, prompts: ['triage'] });
    expect(patched.body).toMatchObject({ name: 'ml-platform', budget: null, rate_limits: { rpm: 100, tpm: 5000 }, prompts: ['triage'], models: ['openai/*'] });
    expect((await call('GET', `/api/teams/${id}`)).body.spend).toBeNull();
    // The key's view names the team.
    const member = (await call<{ data: Array<{ name: string; team: unknown }> }>('GET', '/api/keys')).body.data.find((k) => k.name === 'member');
    expect(member?.team).toEqual({ id, name: 'ml-platform' });

    const conflict = await bad('DELETE', `/api/teams/${id}`, undefined, 409);
    expect(conflict.code).toBe('conflict');
    expect(conflict.message).toContain('1 unrevoked key');
    const memberId = (await call<{ data: Array<{ id: string; name: string }> }>('GET', '/api/keys')).body.data.find((k) => k.name === 'member')!.id;
    await call('DELETE', `/api/keys/${memberId}`);
    const deleted = await call('DELETE', `/api/teams/ml-platform`);
    expect(deleted.body).toMatchObject({ id, deleted: true });
    expect((await bad('GET', `/api/teams/${id}`, undefined, 404)).code).toBe('not_found');
    expect((await bad('PATCH', `/api/teams/${id}`, { rate_limits: { rpm: 1 } }, 404)).code).toBe('not_found');
    expect((await bad('DELETE', `/api/teams/${id}`, undefined, 404)).code).toBe('not_found');
    expect((await call<{ data: unknown[] }>('GET', '/api/teams')).body.data).toEqual([]);
    // A key may not join a deleted team.
    expect((await bad('POST', '/api/keys', { name: 'late', team: id })).param).toBe('team');

    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subject, `team:${id}`))).map((a) => [a.action, a.actor]);
    expect(actions).toEqual([
      ['team.create', 'SLUICE_ADMIN_KEY'],
      ['team.update', 'SLUICE_ADMIN_KEY'],
      ['team.delete', 'SLUICE_ADMIN_KEY'],
    ]);
  });

  it('names: valid, unique, never UUID-shaped; bad values name their field', async () => {
    await call('POST', '/api/teams', { name: 'alpha' });
    expect((await bad('POST', '/api/teams', { name: 'alpha' }, 409)).param).toBe('name');
    expect((await bad('POST', '/api/teams', { name: '01890000-0000-7000-8000-000000000000' })).param).toBe('name');
    expect((await bad('POST', '/api/teams', { name: 'has space' })).param).toBe('name');
    expect((await bad('POST', '/api/teams', { name: '-dash' })).param).toBe('name');
    expect((await bad('POST', '/api/teams', {})).param).toBe('name');
    expect((await bad('POST', '/api/teams', { name: 'b', budget: { usd: -1, period: 'day' } })).param).toBe('budget.usd');
    expect((await bad('POST', '/api/teams', { name: 'b', rate_limits: { tpm: 0 } })).param).toBe('rate_limits.tpm');
    expect((await bad('POST', '/api/teams', { name: 'b', expires_at: '2030-01-01T00:00:00Z' })).message).toContain('expires_at');
    expect((await bad('PATCH', '/api/teams/alpha', { name: 'x y' })).param).toBe('name');
    await call('POST', '/api/teams', { name: 'beta' });
    expect((await bad('PATCH', '/api/teams/beta', { name: 'alpha' }, 409)).code).toBe('conflict');
    expect((await call('PATCH', '/api/teams/beta', { name: 'gamma' })).body).toMatchObject({ name: 'gamma' });
    expect((await bad('GET', '/api/teams/nope', undefined, 404)).message).toContain("'nope'");
  });
});
