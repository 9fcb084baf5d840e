import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../../gateway/auth/key-store.ts';
import type { Database } from '../../gateway/db/client.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';
import { testDatabases } from '../helpers/test-db.ts';

interface KeyView {
  id: string;
  object: 'api_key';
  name: string;
  prefix: string;
  scope: 'inference' | 'admin';
  team: { id: string; name: string } | null;
  budget: { usd: number; period: string } | null;
  rate_limits: { rpm: number | null; tpm: number | null };
  models: string[] | null;
  prompts: string[] | null;
  metadata: Record<string, string>;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  key?: string;
  deleted?: boolean;
}

interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Every api_keys row as JSON text, whatever columns the table has, on either driver. */
async function tableDump(database: Database): Promise<string[]> {
  const result = (await database.db.execute(sql`select row_to_json(k)::text as j from api_keys k`)) as unknown;
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ j: string }>;
  return rows.map((r) => r.j);
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe.each(testDatabases())('gateway keys on $kind', ({ open }) => {
  let database: Database;
  let gw: TestGateway;

  beforeAll(async () => {
    database = await open();
    gw = await startTestGateway({ config: { providers: {} }, database });
  });
  afterAll(async () => {
    await gw?.close();
    await database?.close();
  });

  async function call<T>(method: string, path: string, opts: { key?: string | null; body?: unknown; raw?: string } = {}) {
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (opts.raw !== undefined || opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = opts.raw ?? JSON.stringify(opts.body);
    }
    const res = await fetch(`${gw.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as T };
  }

  async function expectError(res: { status: number; json: unknown }, status: number, code: string): Promise<OpenAIError['error']> {
    expect(res.status).toBe(status);
    expectValidAgainstSpec('ErrorResponse', res.json);
    const { error } = res.json as OpenAIError;
    expect(error.code).toBe(code);
    return error;
  }

  const mint = (body: unknown, key?: string) => call<KeyView>('POST', '/api/keys', { body, ...(key === undefined ? {} : { key }) });
  const models = (key: string | null) => call<unknown>('GET', '/v1/models', { key });

  it('POST /api/keys mints a key and shows it once', async () => {
    const res = await mint({ name: 'ci pipeline', scope: 'inference', rate_limits: { rpm: 600 } });
    expect(res.status).toBe(201);
    const view = res.json;
    expect(view).toMatchObject({ object: 'api_key', name: 'ci pipeline', scope: 'inference', rate_limits: { rpm: 600, tpm: null }, last_used_at: null, revoked_at: null });
    expect(view).not.toHaveProperty('rate_limit_rpm');
    expect(view.id).toMatch(UUID);
    expect(Number.isNaN(Date.parse(view.created_at))).toBe(false);
    expect(view.key).toMatch(/^sk-sluice-[A-Za-z0-9_-]{32}$/);
    expect(view.prefix).toBe(view.key!.slice(0, 14));

    const list = await call<{ object: string; data: KeyView[] }>('GET', '/api/keys');
    expect(list.status).toBe(200);
    expect(list.json.object).toBe('list');
    const listed = list.json.data.find((k) => k.id === view.id);
    expect(listed).toEqual({ ...view, key: undefined });
    expect(listed).not.toHaveProperty('key');
    // Not even the part after the prefix appears anywhere in the listing.
    expect(list.text).not.toContain(view.key!.slice(14));
  });

  it('defaults the scope to inference and lists keys newest first', async () => {
    const a = await mint({ name: 'first' });
    const b = await mint({ name: 'second' });
    expect(a.json.scope).toBe('inference');
    expect(a.json).toMatchObject({ team: null, budget: null, rate_limits: { rpm: null, tpm: null }, models: null, prompts: null, metadata: {}, expires_at: null });
    const ids = (await call<{ data: KeyView[] }>('GET', '/api/keys')).json.data.map((k) => k.id);
    expect(ids.indexOf(b.json.id)).toBeLessThan(ids.indexOf(a.json.id));
  });

  it('stores only the SHA-256 of the key', async () => {
    const { json } = await mint({ name: 'hashed' });
    const key = json.key!;
    const rows = await tableDump(database);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).not.toContain(key);
      expect(row).not.toContain(key.slice(14));
    }
    const mine = rows.map((r) => JSON.parse(r) as Record<string, unknown>).find((r) => r.id === json.id);
    expect(mine?.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('a minted key authenticates on /v1/models; a wrong or missing key does not', async () => {
    const { json } = await mint({ name: 'client' });
    const ok = await models(json.key!);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ object: 'list', data: [] });
    await expectError(await models(`${json.key!}x`), 401, 'invalid_api_key');
    await expectError(await models(null), 401, 'missing_api_key');
  });

  it('DELETE /api/keys/{id} revokes: the key gets 401 at once, and a second delete is a 404', async () => {
    const { json } = await mint({ name: 'to revoke' });
    expect((await models(json.key!)).status).toBe(200);

    const del = await call<KeyView>('DELETE', `/api/keys/${json.id}`);
    expect(del.status).toBe(200);
    expect(del.json).toMatchObject({ id: json.id, deleted: true, name: 'to revoke' });
    expect(del.json.revoked_at).not.toBeNull();
    expect(del.json).not.toHaveProperty('key');

    const after = await expectError(await models(json.key!), 401, 'invalid_api_key');
    expect(after.type).toBe('authentication_error');

    const listed = (await call<{ data: KeyView[] }>('GET', '/api/keys')).json.data.find((k) => k.id === json.id);
    expect(listed?.revoked_at).toBe(del.json.revoked_at);

    const again = await expectError(await call('DELETE', `/api/keys/${json.id}`), 404, 'not_found');
    expect(again.param).toBe('id');
    // The first revocation time is kept.
    const still = (await call<{ data: KeyView[] }>('GET', '/api/keys')).json.data.find((k) => k.id === json.id);
    expect(still?.revoked_at).toBe(del.json.revoked_at);
  });

  it('an unknown or malformed id is an OpenAI-shaped 404', async () => {
    const unknown = await expectError(await call('DELETE', '/api/keys/01890000-0000-7000-8000-000000000000'), 404, 'not_found');
    expect(unknown).toMatchObject({ type: 'invalid_request_error', param: 'id' });
    expect(unknown.message).toContain('01890000-0000-7000-8000-000000000000');
    const malformed = await expectError(await call('DELETE', '/api/keys/not-a-uuid'), 404, 'not_found');
    expect(malformed.message).toContain('not-a-uuid');
  });

  it('a bad body is a 400 naming the field', async () => {
    const missing = await expectError(await mint({ scope: 'admin' }), 400, 'invalid_request');
    expect(missing.param).toBe('name');
    expect(missing.message).toContain("'name'");

    const empty = await expectError(await mint({ name: '' }), 400, 'invalid_request');
    expect(empty.param).toBe('name');

    const unknown = await expectError(await mint({ name: 'x', budget_usd: 5 }), 400, 'invalid_request');
    expect(unknown.message).toContain('budget_usd');

    const scope = await expectError(await mint({ name: 'x', scope: 'root' }), 400, 'invalid_request');
    expect(scope.param).toBe('scope');
    expect(scope.message).toContain('inference');

    const old = await expectError(await mint({ name: 'x', rate_limit_rpm: 60 }), 400, 'invalid_request');
    expect(old.param).toBe('rate_limit_rpm');
    expect(old.message).toContain('rate_limits.rpm');

    const rpm = await expectError(await mint({ name: 'x', rate_limits: { rpm: 0 } }), 400, 'invalid_request');
    expect(rpm.param).toBe('rate_limits.rpm');
    const budget = await expectError(await mint({ name: 'x', budget: { usd: 5, period: 'year' } }), 400, 'invalid_request');
    expect(budget.param).toBe('budget.period');
    const glob = await expectError(await mint({ name: 'x', models: ['openai/*', 'no spaces'] }), 400, 'invalid_request');
    expect(glob.param).toBe('models[1]');
    const team = await expectError(await mint({ name: 'x', team: 'no-such-team' }), 400, 'invalid_request');
    expect(team.param).toBe('team');
    const past = await expectError(await mint({ name: 'x', expires_at: '2020-01-01T00:00:00Z' }), 400, 'invalid_request');
    expect(past.param).toBe('expires_at');

    await expectError(await call('POST', '/api/keys', { raw: '{"name": ' }), 400, 'invalid_json');
    await expectError(await call('POST', '/api/keys', { raw: '["x"]' }), 400, 'invalid_request');

    // None of the rejected bodies minted anything.
    const names = (await call<{ data: KeyView[] }>('GET', '/api/keys')).json.data.map((k) => k.name);
    expect(names).not.toContain('x');
  });

  it('an inference key may not use /api/keys (403); an admin key may', async () => {
    const inference = (await mint({ name: 'inference only' })).json.key!;
    const list = await expectError(await call('GET', '/api/keys', { key: inference }), 403, 'insufficient_scope');
    expect(list.type).toBe('permission_error');
    await expectError(await mint({ name: 'escalate', scope: 'admin' }, inference), 403, 'insufficient_scope');
    await expectError(await call('GET', '/api/keys', { key: null }), 401, 'missing_api_key');

    const admin = (await mint({ name: 'second admin', scope: 'admin' })).json.key!;
    expect((await call('GET', '/api/keys', { key: admin })).status).toBe(200);
    // An admin key may also call inference endpoints.
    expect((await models(admin)).status).toBe(200);
  });

  it('a key minted by another instance is accepted, and its revocation there reaches this one', async () => {
    const other = new KeyStore(database, {});
    await other.start({ pollMs: 100 });
    try {
      const minted = await other.mint({ name: 'from elsewhere', scope: 'inference' });
      // Found by the one database look-up, or already in memory when this instance's NOTIFY
      // reload won the race (the slow path itself: gateway/auth/key-store.test.ts).
      expect((await models(minted.key)).status).toBe(200);
      expect(gw.keys.lookup(minted.key)).toMatchObject({ id: minted.row.id, scope: 'inference' });

      expect(await other.revoke(minted.row.id)).toMatchObject({ id: minted.row.id });
      // NOTIFY on Postgres; on PGlite this instance polls (every 2 s by default).
      const took = await until(async () => (await models(minted.key)).status === 401, 5_000);
      expect(took).toBeLessThan(5_000);
      expect(gw.keys.lookup(minted.key)).toBeUndefined();

      // And the other way round: a key revoked here is refused there once it reloads.
      const mine = (await mint({ name: 'revoked here' })).json;
      await until(async () => other.lookup(mine.key!) !== undefined, 3_000);
      expect((await call('DELETE', `/api/keys/${mine.id}`)).status).toBe(200);
      await until(async () => other.lookup(mine.key!) === undefined, 3_000);
      expect(await other.lookupSlow(mine.key!)).toBeUndefined();
    } finally {
      await other.stop();
    }
  });

  it('teams and key policies: create, get with spend, patch, and a team with keys cannot be deleted', async () => {
    const team = await call<{ id: string; name: string }>('POST', '/api/teams', { body: { name: 'support', budget: { usd: 100, period: 'month' }, rate_limits: { rpm: 1000 } } });
    expect(team.status).toBe(201);
    expect(team.json).toMatchObject({ object: 'team', name: 'support', budget: { usd: 100, period: 'month' }, rate_limits: { rpm: 1000, tpm: null } });

    const made = await mint({
      name: 'support bot',
      team: 'support',
      budget: { usd: 25, period: 'week' },
      rate_limits: { tpm: 50_000 },
      models: ['openai/*', 'support-bot'],
      prompts: ['support*'],
      metadata: { owner: 'cx' },
      expires_at: '2099-01-01T00:00:00Z',
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ team: { id: team.json.id, name: 'support' }, budget: { usd: 25, period: 'week' }, rate_limits: { rpm: null, tpm: 50_000 }, expires_at: '2099-01-01T00:00:00.000Z' });
    // The gateway has it in memory with both policies.
    expect(gw.keys.lookup(made.json.key!)).toMatchObject({
      policy: { budget: { usd: 25, period: 'week' }, tpm: 50_000, models: ['openai/*', 'support-bot'], prompts: ['support*'] },
      team: { id: team.json.id, name: 'support', policy: { rpm: 1000, budget: { usd: 100, period: 'month' } } },
    });

    const got = await call<KeyView & { spend: unknown }>('GET', `/api/keys/${made.json.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: made.json.id, models: ['openai/*', 'support-bot'] });
    expect(got.json).not.toHaveProperty('key');
    // Null without a governance store; else the current period of each budget.
    if (got.json.spend !== null) expect(got.json.spend).toMatchObject({ key: { period: 'week' }, team: { period: 'month' } });

    const patched = await call<KeyView>('PATCH', `/api/keys/${made.json.id}`, { body: { rate_limits: { rpm: 30 }, models: null } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ rate_limits: { rpm: 30, tpm: 50_000 }, models: null, prompts: ['support*'] });
    expect(gw.keys.lookup(made.json.key!)?.policy).toMatchObject({ rpm: 30, tpm: 50_000, models: null });

    const teamView = await call<{ key_count: number }>('GET', '/api/teams/support');
    expect(teamView.json).toMatchObject({ id: team.json.id, key_count: 1 });
    const refused = await expectError(await call('DELETE', `/api/teams/${team.json.id}`), 409, 'conflict');
    expect(refused.message).toContain('1 unrevoked key');
    expect((await call('PATCH', `/api/keys/${made.json.id}`, { body: { team: null } })).status).toBe(200);
    expect((await call('DELETE', '/api/teams/support')).status).toBe(200);
    await expectError(await call('GET', '/api/teams/support'), 404, 'not_found');
    await expectError(await call('GET', '/api/teams', { key: made.json.key! }), 403, 'insufficient_scope');
  });

  it('an expired key is a 401 saying when it expired', async () => {
    const { json } = await mint({ name: 'expiring' });
    expect((await models(json.key!)).status).toBe(200);
    expect((await call('PATCH', `/api/keys/${json.id}`, { body: { expires_at: '2020-01-01T00:00:00Z' } })).status).toBe(200);
    const err = await expectError(await models(json.key!), 401, 'invalid_api_key');
    expect(err.message).toContain('expired at 2020-01-01T00:00:00.000Z');
    expect(err.message).not.toContain(json.key!);
    // An unknown key keeps the generic message.
    expect((await expectError(await models('sk-sluice-nope'), 401, 'invalid_api_key')).message).not.toContain('expired');
  });

  it('a PATCH through the API reaches another instance', async () => {
    const other = new KeyStore(database, {});
    await other.start({ pollMs: 100 });
    try {
      const team = (await call<{ id: string }>('POST', '/api/teams', { body: { name: 'elsewhere' } })).json;
      const made = (await mint({ name: 'shared', team: team.id, rate_limits: { rpm: 10 } })).json;
      await until(async () => other.lookup(made.key!) !== undefined, 5_000);
      expect((await call('PATCH', `/api/keys/${made.id}`, { body: { rate_limits: { rpm: 20 } } })).status).toBe(200);
      await until(async () => other.lookup(made.key!)?.policy?.rpm === 20, 5_000);
      expect((await call('PATCH', '/api/teams/elsewhere', { body: { budget: { usd: 1, period: 'day' } } })).status).toBe(200);
      await until(async () => other.lookup(made.key!)?.team?.policy.budget?.usd === 1, 5_000);
    } finally {
      await other.stop();
    }
  });

  // Last: it stops the gateway's key store to flush (close() stops it again, harmlessly).
  it('records last_used_at for a used key (flushed on stop)', async () => {
    const used = (await mint({ name: 'used' })).json;
    const unused = (await mint({ name: 'unused' })).json;
    const before = Date.now();
    expect((await models(used.key!)).status).toBe(200);
    await gw.keys.stop();
    const data = (await call<{ data: KeyView[] }>('GET', '/api/keys')).json.data;
    const lastUsed = data.find((k) => k.id === used.id)?.last_used_at;
    expect(lastUsed).not.toBeNull();
    expect(Date.parse(lastUsed!)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(lastUsed!)).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(data.find((k) => k.id === unused.id)?.last_used_at).toBeNull();
  });
});
