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
    await gw.sink.waitFor(5);

    const everything = [...lines, ...bodies.slice(1), JSON.stringify(gw.sink.records)].join('\n');
    expect(bodies[1]).toContain('upstream_auth_failed');
    for (const secret of [PROVIDER_KEY, WRONG_PROVIDER_KEY, ADMIN_KEY, 'sk-sluice-guessed-key-000000', 'sk-wr', '1a2b3c4d']) {
      expect(everything).not.toContain(secret);
    }
  });
});
