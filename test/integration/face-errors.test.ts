import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Issue 15: the error shape is the face's (faces/registry.ts), chosen for every request under
 * a face's path — handler errors, auth, wrong method, unknown sub-paths — not by a path test
 * in the error handler.
 */
describe('errors in the shape of the face the request came to', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({ config: { providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } } } });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const anthropicShape = { type: 'error', error: { type: expect.any(String), message: expect.any(String) } };
  const openaiShape = { error: { message: expect.any(String), type: expect.any(String), code: expect.any(String) } };

  it.each([
    { what: 'no key on /v1/messages', method: 'POST', path: '/v1/messages', key: null, status: 401, shape: 'anthropic' },
    { what: 'bad body on /v1/messages', method: 'POST', path: '/v1/messages', key: ADMIN_KEY, status: 400, shape: 'anthropic' },
    { what: 'GET /v1/messages', method: 'GET', path: '/v1/messages', key: ADMIN_KEY, status: 405, shape: 'anthropic' },
    { what: 'GET /v1/messages/count_tokens', method: 'GET', path: '/v1/messages/count_tokens', key: ADMIN_KEY, status: 405, shape: 'anthropic' },
    { what: 'an unknown path under /v1/messages', method: 'POST', path: '/v1/messages/nope', key: ADMIN_KEY, status: 404, shape: 'anthropic' },
    { what: 'no key on /v1/chat/completions', method: 'POST', path: '/v1/chat/completions', key: null, status: 401, shape: 'openai' },
    { what: 'bad body on /v1/responses', method: 'POST', path: '/v1/responses', key: ADMIN_KEY, status: 400, shape: 'openai' },
    { what: 'GET /v1/embeddings', method: 'GET', path: '/v1/embeddings', key: ADMIN_KEY, status: 405, shape: 'openai' },
    { what: 'an unknown /v1 path', method: 'POST', path: '/v1/nope', key: ADMIN_KEY, status: 404, shape: 'openai' },
  ])('$what: $status in the $shape shape', async ({ method, path, key, status, shape }) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      ...(method === 'POST' ? { body: JSON.stringify({ model: 3 }) } : {}),
    });
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, unknown>;
    if (shape === 'anthropic') expect(body).toMatchObject(anthropicShape);
    else {
      expect(body).toMatchObject(openaiShape);
      expect(body).not.toHaveProperty('type');
    }
  });
});
