import Anthropic from '@anthropic-ai/sdk';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { testDatabases } from '../helpers/test-db.ts';

/**
 * Issue 14 item 7, through the real gateway, the real call-log writer and a real database:
 * a request that never authenticates writes no call row (it is counted in /healthz instead);
 * an authenticated one always writes exactly one, redacted and capped wherever it lands.
 */
const UPSTREAM_KEY = 'sk-upstream-privacy-secret-5151';
const CLIENT_SECRET = 'sk-live-client-metadata-secret-0042';
const CARD = '4111111111111111';

describe.each(testDatabases())('call-log privacy ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    database = await target.open();
    gw = await startTestGateway({
      database,
      callLog: true,
      config: {
        providers: {
          up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, api_key: UPSTREAM_KEY },
          claude: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: UPSTREAM_KEY },
        },
        server: { body_limit_bytes: 64 * 1024 },
        logging: { redact_fields: ['ticket_owner'], redact_patterns: ['\\d{16}'] },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await database.close();
    await fake.close();
  });

  const calls = async () =>
    rowsOf<Record<string, unknown>>(
      await database.db.execute(sql`select id, status, error_code, http_status, api_key_id, "user", metadata, error_message from calls`),
    );
  const health = async () => (await (await fetch(`${gw.url}/healthz`)).json()) as { rejections: Record<string, number> };

  it('writes no row for a missing or invalid key, on every face; counts it; says how to get a key', async () => {
    const before = (await health()).rejections.unauthenticated!;
    const body = JSON.stringify({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, input: 'hi' });
    const statuses: number[] = [];
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/messages', '/v1/responses']) {
      for (const headers of [{}, { authorization: 'Bearer sk-sluice-not-a-real-key-000' }, { 'x-api-key': 'nope-nope-nope' }]) {
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        statuses.push(res.status);
        expect(res.headers.get('x-sluice-call-id')).toBeNull();
        expect(res.headers.get('x-request-id')).toBeTruthy();
        const json = (await res.json()) as { error: { message: string; type: string } };
        expect(json.error.message).toContain('npx sluice keys create --name NAME');
        expect(json.error.message).toContain('SLUICE_ADMIN_KEY');
        if (path === '/v1/messages') expect(json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      }
    }
    // Endpoints without a call record count too (models, admin API).
    statuses.push((await fetch(`${gw.url}/v1/models`)).status, (await fetch(`${gw.url}/api/keys`)).status);
    expect(statuses.every((s) => s === 401)).toBe(true);

    // The official SDKs see an authentication error, and nothing is logged for them either.
    const openai = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-sluice-bogus-key-1234', maxRetries: 0 });
    await expect(openai.chat.completions.create({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'sk-sluice-bogus-key-1234', maxRetries: 0 });
    await expect(anthropic.messages.create({ model: 'claude/claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );

    expect((await health()).rejections.unauthenticated).toBe(before + statuses.length + 2);
    await gw.callLog!.stop();
    expect(await calls()).toEqual([]);
    expect(gw.sink.records).toEqual([]);
    expect(gw.callLog!.stats()).toMatchObject({ written: 0, spooled: 0, dropped: 0 });
    expect(fake.requests).toHaveLength(0);
  });

  it('still writes exactly one row for every authenticated call that fails (bad JSON, 413, bad input)', async () => {
    const sent = gw.sink.records.length;
    const post = (body: string) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body,
      });
    const bad = await post('{"model": ');
    const big = await post(JSON.stringify({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }));
    const wrong = await post(JSON.stringify({ model: 'up/gpt-4o-mini', messages: 'nope' }));
    expect([bad.status, big.status, wrong.status]).toEqual([400, 413, 400]);
    for (const res of [bad, big, wrong]) expect(res.headers.get('x-sluice-call-id')).toMatch(/^[0-9a-f-]{36}$/);
    await gw.sink.waitFor(sent + 3);
    const codes = gw.sink.records.slice(sent).map((r) => [r.errorCode, r.httpStatus, r.apiKeyId]);
    expect(codes).toEqual([
      ['invalid_json', 400, null],
      ['body_too_large', 413, null],
      ['invalid_request', 400, null],
    ]);
  });
});

describe.each(testDatabases())('stored client text ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    database = await target.open();
    gw = await startTestGateway({
      database,
      callLog: true,
      config: {
        providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, api_key: UPSTREAM_KEY } },
        logging: { redact_fields: ['ticket_owner'], redact_patterns: ['\\d{16}'] },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await database.close();
    await fake.close();
  });

  it('redacts and caps user and metadata in the calls row and the payload table', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const res = await client.chat.completions
      .create({
        model: 'up/gpt-4o-mini',
        messages: [{ role: 'user', content: `my card is ${CARD}` }],
        user: `bob ${CLIENT_SECRET}`,
        metadata: {
          api_key: CLIENT_SECRET,
          Password: 'hunter2-hunter2',
          ticket_owner: 'carol',
          note: `paid with ${CARD}`,
          blob: 'z'.repeat(200_000),
          team: 'support',
        },
      })
      .withResponse();
    const callId = res.response.headers.get('x-sluice-call-id')!;
    await gw.callLog!.stop();

    const [row] = rowsOf<{ user: string; metadata: Record<string, string> }>(
      await database.db.execute(sql`select "user", metadata from calls where id = ${callId}`),
    );
    expect(row!.user).toBe('bob [redacted]');
    expect(row!.metadata).toMatchObject({
      api_key: '[redacted]',
      Password: '[redacted]',
      ticket_owner: '[redacted]',
      note: 'paid with [redacted]',
      team: 'support',
    });
    expect(row!.metadata.blob!.length).toBeLessThanOrEqual(1024);
    expect(row!.metadata.blob).toMatch(/…\[truncated \d+ chars\]$/);

    const [p] = rowsOf<{ req: string; res: string }>(
      await database.db.execute(sql`select request::text as req, response::text as res from call_payloads where call_id = ${callId}`),
    );
    const stored = `${JSON.stringify(row)}${p!.req}${p!.res}`;
    for (const secret of [CLIENT_SECRET, 'hunter2-hunter2', 'carol', CARD, UPSTREAM_KEY, ADMIN_KEY]) expect(stored).not.toContain(secret);
    expect(p!.req).toContain('support');
  });
});
