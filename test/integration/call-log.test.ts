import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { testDatabases } from '../helpers/test-db.ts';

/**
 * Issue 3: N concurrent calls of every kind through the real gateway and the real writer
 * produce exactly N rows in Postgres / PGlite, with the right fields and no secrets.
 */
const UPSTREAM_KEY = 'sk-upstream-call-log-secret-7777';

describe.each(testDatabases())('the call log ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    database = await target.open();
    gw = await startTestGateway({
      database,
      callLog: true,
      config: {
        providers: {
          up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, api_key: UPSTREAM_KEY, retry: { max_attempts: 1 } },
          claude: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: UPSTREAM_KEY },
        },
      },
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await database.close();
    await fake.close();
  });

  it('writes exactly one correct row per call, for every kind of call', async () => {
    const messages = [{ role: 'user' as const, content: 'count these words please' }];
    const kinds: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 8; i++) kinds.push(() => client.chat.completions.create({ model: 'up/gpt-4o-mini', messages, user: `u${i}` }));
    for (let i = 0; i < 8; i++) {
      kinds.push(async () => {
        const s = await client.chat.completions.create({ model: 'claude/claude-haiku-4-5', messages, stream: true });
        for await (const _ of s) void _;
      });
    }
    for (let i = 0; i < 4; i++) {
      kinds.push(() => client.chat.completions.create({ model: 'up/gpt-4o-mini', messages, temperature: 'hot' as unknown as number }).catch(() => 'bad input'));
    }
    for (let i = 0; i < 4; i++) kinds.push(() => client.embeddings.create({ model: 'up/text-embedding-3-small', input: `text ${i}` }));
    const aborts: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 4; i++) {
      aborts.push(async () => {
        const controller = new AbortController();
        const s = await client.chat.completions.create({ model: 'up/gpt-4o-mini', messages, stream: true }, { signal: controller.signal });
        let n = 0;
        await (async () => {
          for await (const _ of s) if (++n === 2) controller.abort();
        })().catch(() => {});
      });
    }
    const before = gw.sink.records.length;
    await Promise.all(kinds.map((k) => k()));
    // Client aborts mid-stream, on their own so the slow-drip faults reach exactly these calls.
    for (let i = 0; i < 4; i++) fake.enqueue({ dripMs: 40, path: '/v1/chat/completions' });
    await Promise.all(aborts.map((k) => k()));
    // Upstream errors: a 500 the provider is not allowed to retry (max_attempts 1).
    for (let i = 0; i < 4; i++) {
      fake.enqueue({ status: 500, path: '/v1/chat/completions' });
      await client.chat.completions.create({ model: 'up/gpt-4o-mini', messages }).catch(() => {});
    }
    const total = kinds.length + aborts.length + 4;
    await gw.sink.waitFor(before + total);
    await gw.callLog!.stop(); // drains into the database

    const list = rowsOf<Record<string, unknown>>(
      await database.db.execute(sql`select status, endpoint, stream, provider, model, input_tokens, output_tokens,
        cost_micros, cost_status, ttft_ms, error_code, "user", api_key_id from calls`),
    );
    expect(list.length).toBe(total);
    const count = (pred: (r: Record<string, unknown>) => boolean) => list.filter(pred).length;
    expect(count((r) => r.status === 'ok' && r.endpoint === 'chat.completions' && r.stream === false)).toBe(8);
    expect(count((r) => r.status === 'ok' && r.stream === true)).toBe(8);
    expect(count((r) => r.status === 'client_error' && r.error_code === 'invalid_request')).toBe(4);
    expect(count((r) => r.status === 'ok' && r.endpoint === 'embeddings')).toBe(4);
    expect(count((r) => r.status === 'client_aborted')).toBe(4);
    expect(count((r) => r.status === 'upstream_error')).toBe(4);
    for (const r of list.filter((r) => r.status === 'ok' && r.stream === true)) {
      expect(r.provider).toBe('claude');
      expect(Number(r.output_tokens)).toBeGreaterThan(0);
      expect(Number(r.ttft_ms)).toBeGreaterThanOrEqual(0);
      expect(r.cost_status).toBe('exact');
      expect(Number(r.cost_micros)).toBeGreaterThan(0);
    }
    expect(count((r) => typeof r.user === 'string' && (r.user as string).startsWith('u'))).toBe(8);

    const payloads = rowsOf<{ req: string; res: string }>(await database.db.execute(sql`select request::text as req, response::text as res from call_payloads`));
    const text = JSON.stringify(payloads);
    expect(text).toContain('count these words please');
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).not.toContain(ADMIN_KEY);
  });
});
