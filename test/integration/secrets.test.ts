import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../gateway/logger.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Secrets never reach a log line, a response or a stored record: provider keys (which
 * providers echo, masked, in their 401 messages) and gateway keys, over the paths that log.
 */
const PROVIDER_KEY = 'sk-provider-secret-4f9a8b7c6d5e';
const WRONG_PROVIDER_KEY = 'sk-wrong-provider-secret-1a2b3c4d';
/** A credential in a custom header: nothing about it looks like a key, only the config says it is one. */
const TENANT_TOKEN = 'tnt_9f8e7d6c5b4a3210zz';

describe('secrets stay out of logs, responses and records', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  const lines: string[] = [];

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
    gw = await startTestGateway({
      logger: createJsonLogger((line) => lines.push(line)),
      config: {
        providers: {
          good: { type: 'openai-compatible', api_key: PROVIDER_KEY, base_url: fake.openaiBaseUrl },
          bad: { type: 'openai-compatible', api_key: WRONG_PROVIDER_KEY, base_url: fake.openaiBaseUrl },
          claude: { type: 'anthropic', api_key: WRONG_PROVIDER_KEY, base_url: fake.anthropicBaseUrl },
          down: { type: 'openai-compatible', api_key: PROVIDER_KEY, base_url: 'http://127.0.0.1:9/v1', retry: { max_attempts: 1 } },
          tenant: {
            type: 'openai-compatible',
            api_key: PROVIDER_KEY,
            base_url: fake.openaiBaseUrl,
            headers: { 'x-tenant-auth': `Token ${TENANT_TOKEN}` },
            retry: { max_attempts: 1 },
          },
          tenantClaude: {
            type: 'anthropic',
            api_key: PROVIDER_KEY,
            base_url: fake.anthropicBaseUrl,
            headers: { 'x-tenant-auth': `Token ${TENANT_TOKEN}` },
            retry: { max_attempts: 1 },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('across provider auth failures, unreachable upstreams, bad keys and successes', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const bodies: string[] = [];
    const messages = [{ role: 'user' as const, content: 'hello' }];
    for (const model of ['good/gpt-4o-mini', 'bad/gpt-4o-mini', 'claude/claude-haiku-4-5', 'down/gpt-4o-mini']) {
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages }),
      });
      bodies.push(await res.text());
    }
    const wrongKey = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-sluice-guessed-key-000000', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'good/gpt-4o-mini', messages }),
    });
    bodies.push(await wrongKey.text());
    await client.models.list();
    // Four calls; the one with a guessed key leaves no record (issue 14 item 7).
    await gw.sink.waitFor(4);

    const everything = [...lines, ...bodies.slice(1), JSON.stringify(gw.sink.records)].join('\n');
    expect(bodies[1]).toContain('upstream_auth_failed');
    for (const secret of [PROVIDER_KEY, WRONG_PROVIDER_KEY, ADMIN_KEY, 'sk-sluice-guessed-key-000000', 'sk-wr', '1a2b3c4d']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('scrubs provider credentials, custom headers included, from upstream errors that echo the request headers', async () => {
    const before = gw.sink.records.length;
    const texts: string[] = [];
    for (const model of ['tenant/gpt-4o-mini', 'tenantClaude/claude-haiku-4-5']) {
      fake.enqueue({ status: 400, echoHeaders: true });
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      texts.push(text);
      // The upstream really did quote the header it was sent; the client sees the quote without it.
      expect(JSON.stringify(fake.requests.at(-1)!.headers)).toContain(TENANT_TOKEN);
      expect(text).toContain('upstream_bad_request');
      expect(text).toContain('x-tenant-auth');
      expect(text).toContain('[redacted]');
    }
    // A mid-stream error event quoting the header is scrubbed too.
    fake.enqueue({ streamError: { message: `rejected x-tenant-auth: Token ${TENANT_TOKEN}` } });
    const stream = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tenant/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const streamed = await stream.text();
    texts.push(streamed);
    expect(streamed).toContain('failed mid-stream: rejected x-tenant-auth: [redacted]');

    await gw.sink.waitFor(before + 3);
    const everything = [...lines, ...texts, JSON.stringify(gw.sink.records.slice(before))].join('\n');
    for (const secret of [TENANT_TOKEN, PROVIDER_KEY]) expect(everything).not.toContain(secret);
  });
});
