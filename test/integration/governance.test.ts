import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf, type Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { createScratchDatabase } from '../helpers/test-db.ts';

/**
 * Issue 16 end to end: keys that govern, exact under concurrency, on two gateway instances
 * sharing one store — the database (PGlite shared in-process; real Postgres through two
 * connections, as two servers would) and Redis.
 */
interface Backend {
  name: string;
  /** Two handles on one database (PGlite: the same handle, it cannot be opened twice). */
  open(): Promise<{ a: Database; b: Database; close(): Promise<void> }>;
  redisUrl?: string;
}

const pglite = async () => {
  const db = await openDatabase({});
  await db.migrate();
  return { a: db, b: db, close: () => db.close() };
};
const postgresPair = async () => {
  const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
  const a = await openDatabase({ url: scratch.url });
  await a.migrate();
  const b = await openDatabase({ url: scratch.url });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await scratch.drop();
    },
  };
};

const backends: Backend[] = [{ name: 'pglite', open: pglite }];
if (process.env.DATABASE_URL) backends.push({ name: 'postgres', open: postgresPair });
if (process.env.REDIS_URL) backends.push({ name: 'redis', open: process.env.DATABASE_URL ? postgresPair : pglite, redisUrl: process.env.REDIS_URL });
else console.warn('[governance] REDIS_URL not set: the Redis store is not tested here (CI sets it)');

/** $1,000 per 1M output tokens: 1,000 micro-USD per output token; input is free. */
const PRICE_PER_TOKEN_MICROS = 1000;

describe.each(backends)('keys that govern ($name)', (backend) => {
  let fake: FakeProvider;
  let dbs: Awaited<ReturnType<Backend['open']>>;
  let one: TestGateway;
  let two: TestGateway;

  beforeAll(async () => {
    fake = await startFakeProvider();
    dbs = await backend.open();
    const config = {
      providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: { max_attempts: 1 } } },
      routes: { 'support-bot': { variants: [{ name: 'a', target: 'up/gpt-4o-mini' }] } },
      pricing: { overrides: { 'up/gpt-4o-mini': { input: 0, output: 1000 }, 'up/free-model': { input: 0, output: 0 } } },
      logging: { flush_ms: 20 },
    };
    const redis = backend.redisUrl ? { redisUrl: backend.redisUrl } : {};
    one = await startTestGateway({ config, database: dbs.a, callLog: true, ...redis });
    two = await startTestGateway({ config, database: dbs.b, callLog: true, ...redis });
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await dbs?.close();
    await fake?.close();
  });

  async function mintKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const res = await fetch(`${one.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `k-${Math.random().toString(36).slice(2)}`, ...body }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; key: string };
  }
  const chat = (gw: TestGateway, key: string, body: Record<string, unknown> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'up/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hello there' }], ...body }),
    });

  it('200 concurrent calls over two instances never spend past the budget; every refusal is 429 budget_exceeded; every call is logged', async () => {
    // Each call reserves 5 output tokens (5,000 micro-USD) and spends what it used (the fake answers a few words).
    const { id, key } = await mintKey({ budget: { usd: 0.05, period: 'day' } });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(i % 2 ? one : two, key).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    expect(refused.filter((r) => r.status !== 429).map((r) => JSON.stringify(r.body))).toEqual([]);
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('budget_exceeded');
      expect(r.body.error.message).toMatch(/key 'k-.*' exceeded: .* this day .* resets at/);
    }
    const spent = ok.reduce((s, r) => s + (r.body.usage.completion_tokens as number) * PRICE_PER_TOKEN_MICROS, 0);
    expect(spent).toBeLessThanOrEqual(50_000);
    // What the admin API reports, once every call settled, is that spend.
    let view: any;
    for (let i = 0; i < 50; i++) {
      view = await (await fetch(`${one.url}/api/keys/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
      if (view.spend?.key?.reserved_usd === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Math.round(view.spend.key.spent_usd * 1e6)).toBe(spent);
    expect(view.spend.key.remaining_usd).toBeCloseTo(0.05 - spent / 1e6, 6);
    // Every call, answered or refused, has its record.
    let logged = 0;
    for (let i = 0; i < 100 && logged < 200; i++) {
      logged = rowsOf<{ n: number }>(await dbs.a.db.execute(sql`select count(*)::int as n from calls where api_key_id = ${id}`))[0]!.n;
      if (logged < 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(logged).toBe(200);
  }, 120_000);

  it('60 rpm, 120 requests at once over two instances: 60 pass, 60 get 429 with Retry-After; the headers count down', async () => {
    const { key } = await mintKey({ rate_limits: { rpm: 60 } });
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => chat(i % 2 ? one : two, key)));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    const other = results.filter((r) => r.status !== 200 && r.status !== 429);
    expect(await Promise.all(other.map(async (r) => `${r.status} ${await r.text()}`))).toEqual([]);
    expect(ok).toHaveLength(60);
    expect(limited).toHaveLength(60);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await r.json()) as any).error.code).toBe('rate_limited');
    }
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort((x, y) => x - y);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(ok[0]!.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(ok[0]!.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
  }, 60_000);

  it('large limits are served from leases over two instances: never more than the rpm passes, and the budget settles to exactly the spend once the leases are back', async () => {
    // 300 rpm and $100 a day: a lease may hold 1% of each (3 requests), so calls are leased.
    const { id, key } = await mintKey({ rate_limits: { rpm: 300 }, budget: { usd: 100, period: 'day' } });
    const health = async (gw: TestGateway) => ((await (await fetch(`${gw.url}/healthz`)).json()) as { governance: Record<string, number> }).governance;
    const before = (await health(one)).calls_leased! + (await health(two)).calls_leased!;
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => chat(i % 2 ? one : two, key).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }))));
    const ok = results.filter((r) => r.status === 200);
    expect(results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => JSON.stringify(r.body))).toEqual([]);
    expect(ok.length).toBeLessThanOrEqual(300);
    // Room a lease held back on the other instance comes back later: at most a lease each.
    expect(ok.length).toBeGreaterThanOrEqual(300 - 2 * 3);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(r.body.error.code).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    for (const r of ok) expect(Number(r.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(300);
    expect((await health(one)).calls_leased! + (await health(two)).calls_leased! - before).toBeGreaterThan(100);
    const spent = ok.reduce((sum, r) => sum + (r.body.usage.completion_tokens as number) * PRICE_PER_TOKEN_MICROS, 0);
    let view: any;
    for (let i = 0; i < 50; i++) {
      view = await (await fetch(`${one.url}/api/keys/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
      if (view.spend?.key?.reserved_usd === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(view.spend.key.reserved_usd).toBe(0);
    expect(Math.round(view.spend.key.spent_usd * 1e6)).toBe(spent);
  }, 60_000);

  it('free and unpriced models pass a spent budget; cache hits cost nothing', async () => {
    const { key } = await mintKey({ budget: { usd: 0, period: 'month' } });
    expect((await chat(one, key)).status).toBe(429);
    const free = await chat(one, key, { model: 'up/free-model' });
    expect(free.status, await free.clone().text()).toBe(200);
    const unpriced = await chat(two, key, { model: 'up/local-llama' });
    expect(unpriced.status, await unpriced.clone().text()).toBe(200);
    // An answer already in the cache (made by another key) is served: a hit costs 0.
    const question = { temperature: 0, messages: [{ role: 'user', content: 'cached question for the budget test' }] };
    expect((await chat(one, ADMIN_KEY, question)).status).toBe(200);
    const hit = await chat(one, key, question);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-sluice-cache')).toBe('hit');
    expect((await chat(one, key, { ...question, messages: [{ role: 'user', content: 'not cached' }] })).status).toBe(429);
  });

  it("a team's budget is shared by its keys; the refusal names the team, and /v1/messages answers in Anthropic's shape", async () => {
    const team = await fetch(`${one.url}/api/teams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `team-${Math.random().toString(36).slice(2)}`, budget: { usd: 0.02, period: 'week' } }),
    });
    expect(team.status, await team.clone().text()).toBe(201);
    const { id: teamId, name } = (await team.json()) as { id: string; name: string };
    const a = await mintKey({ team: teamId });
    const b = await mintKey({ team: name });
    const statuses: number[] = [];
    for (let i = 0; i < 12 && !statuses.includes(429); i++) statuses.push((await chat(i % 2 ? one : two, i % 2 ? a.key : b.key)).status);
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.at(-1)).toBe(429);
    const anthropic = await fetch(`${one.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': a.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      // Its worst case (1,000 output tokens: $1) can never fit the team's $0.02.
      body: JSON.stringify({ model: 'up/gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(anthropic.status).toBe(429);
    const body = (await anthropic.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('rate_limit_error');
    expect(body.error.message).toContain(`team '${name}'`);
    expect(body.error.message).toMatch(/this week/);
  });

  it('a client that leaves mid-stream, and a failed call, release their reservations', async () => {
    const { id, key } = await mintKey({ budget: { usd: 1, period: 'day' } });
    fake.enqueue({ dripMs: 300 });
    const controller = new AbortController();
    const res = await fetch(`${one.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'up/gpt-4o-mini', stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'one two three four five six' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    fake.enqueue({ status: 500 });
    expect((await chat(two, key)).status).toBe(502);
    let spend: any;
    for (let i = 0; i < 50; i++) {
      spend = ((await (await fetch(`${one.url}/api/keys/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as any).spend.key;
      if (spend.reserved_usd === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(spend.reserved_usd).toBe(0);
    // The abandoned stream is charged for what it got; the failed call for nothing.
    expect(spend.spent_usd).toBeLessThan(50 * PRICE_PER_TOKEN_MICROS / 1e6);
  });

  it('a disallowed model is 403 and absent from /v1/models; a disallowed prompt is 403 whether or not it exists', async () => {
    await one.prompts.store.createPrompt('secret-prompt', null, 'test');
    await one.prompts.store.createVersion('secret-prompt', { messages: [{ role: 'system', content: 'internal only' }], model: null, params: {}, variables: null }, 'test');
    const { key } = await mintKey({ models: ['support-bot', 'up/gpt-4o*'], prompts: ['public-*'] });
    const client = new OpenAI({ baseURL: one.baseURL, apiKey: key, maxRetries: 0 });
    const denied = (await client.chat.completions.create({ model: 'up/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(denied.status).toBe(403);
    expect((denied.error as any).code).toBe('model_not_allowed');
    expect((await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'x' }] })).choices[0]).toBeDefined();
    const models = (await client.models.list()).data.map((m) => m.id);
    expect(models).toContain('support-bot');
    expect(models.every((m) => m === 'support-bot' || m.startsWith('up/gpt-4o'))).toBe(true);
    const refusal = async (prompt: string) => {
      const r = await fetch(`${one.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-sluice-prompt': `${prompt}@latest` },
        body: JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: 'x' }] }),
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const existing = await refusal('secret-prompt');
    const missing = await refusal('no-such-prompt');
    expect(existing.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(existing.body.error.code).toBe('prompt_not_allowed');
    // The same answer either way, apart from the name it was asked about.
    expect(existing.body.error.message.replace('secret-prompt', 'X')).toBe(missing.body.error.message.replace('no-such-prompt', 'X'));
  });
});

describe('while the shared store is down', () => {
  let fake: FakeProvider;
  const gateways: TestGateway[] = [];
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await fake?.close();
  });

  /** A gateway whose store is a Redis nobody listens on. */
  const start = async (onStoreError: 'open' | 'closed') => {
    const gw = await startTestGateway({
      config: {
        providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } },
        governance: { on_store_error: onStoreError },
        cache: { shared: 'none' },
      },
      redisUrl: 'redis://127.0.0.1:1',
    });
    gateways.push(gw);
    const minted = await fetch(`${gw.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'limited', rate_limits: { rpm: 1000 }, budget: { usd: 10, period: 'day' } }),
    });
    const { key } = (await minted.json()) as { key: string };
    const call = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
    const health = async () => ((await (await fetch(`${gw.url}/healthz`)).json()) as { governance: { store_errors: number } }).governance;
    return { call, health };
  };

  it('fail-open (the default) answers, and counts the store errors', async () => {
    const gw = await start('open');
    expect((await gw.call()).status).toBe(200);
    expect((await gw.health()).store_errors).toBeGreaterThanOrEqual(1);
  });

  it('fail-closed refuses with 503 and Retry-After', async () => {
    const gw = await start('closed');
    const res = await gw.call();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/cannot be checked/);
  });
});
