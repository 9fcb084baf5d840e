import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Issue 15: a /v1/messages body that passes through to an Anthropic upstream is cached under
 * the body actually sent. The key used to hash the chat translation, which has no place for
 * `top_k` or `thinking`, so the same body with and without them shared one entry.
 */
describe('/v1/messages pass-through: the cache key is the body sent upstream', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  const headers = { 'x-api-key': ADMIN_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
  const question = `what is cached ${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      config: { providers: { up: { type: 'anthropic', base_url: fake.anthropicBaseUrl, models: ['claude-haiku-4-5'] } } },
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  async function send(extra: Record<string, unknown>): Promise<{ cache: string | null; body: Record<string, unknown> }> {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers,
      // temperature 0: the default cache mode (`auto`) caches answers meant to be repeatable.
      body: JSON.stringify({ model: 'up/claude-haiku-4-5', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: question }], ...extra }),
    });
    expect(res.status).toBe(200);
    return { cache: res.headers.get('x-sluice-cache'), body: (await res.json()) as Record<string, unknown> };
  }

  it('the same body with and without top_k are two entries, each a hit on repeat', async () => {
    fake.reset();
    expect((await send({ top_k: 5 })).cache).toBe('miss');
    expect(fake.requests.at(-1)!.body).toMatchObject({ top_k: 5 });
    expect((await send({})).cache).toBe('miss');
    expect(fake.requests.at(-1)!.body).not.toHaveProperty('top_k');
    expect(fake.requests).toHaveLength(2);

    const again = await send({ top_k: 5 });
    expect(again.cache).toBe('hit');
    expect(again.body).toMatchObject({ type: 'message', role: 'assistant' });
    expect((await send({})).cache).toBe('hit');
    expect(fake.requests).toHaveLength(2);
  });

  it('a pass-through body and the chat request it translates to never share a key', async () => {
    fake.reset();
    const viaMessages = await send({ top_k: 7, system: 'terse' });
    expect(viaMessages.cache).toBe('miss');
    // The same conversation through the chat face is a different body upstream: its own entry.
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'up/claude-haiku-4-5',
        max_tokens: 50,
        temperature: 0,
        messages: [
          { role: 'system', content: 'terse' },
          { role: 'user', content: question },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-cache')).toBe('miss');
    expect(fake.requests).toHaveLength(2);
  });
});
