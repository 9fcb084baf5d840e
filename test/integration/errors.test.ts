import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../gateway/providers/types.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';

/** Every error the OpenAI face can give: the status, an OpenAI-shaped body naming the problem. */
const UPSTREAM_KEY = 'sk-upstream-secret-abcdef123456';

describe('OpenAI-shaped errors', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let inferenceKey: string;

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    gw = await startTestGateway({
      config: {
        providers: {
          fake: { type: 'openai-compatible', api_key: UPSTREAM_KEY, base_url: fake.openaiBaseUrl },
          badkey: { type: 'openai-compatible', api_key: 'sk-wrong-provider-key-999999', base_url: fake.openaiBaseUrl },
          claude: { type: 'anthropic', api_key: 'sk-ant-wrong-provider-key-999', base_url: fake.anthropicBaseUrl },
        },
        server: { body_limit_bytes: 64 * 1024 },
      },
    });
    inferenceKey = (await gw.keys.mint({ name: 'inference', scope: 'inference' })).key;
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  async function post(path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` }) {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
    expectValidAgainstSpec('ErrorResponse', json);
    return { status: res.status, error: json.error, headers: res.headers };
  }
  const chat = (body: unknown) => post('/v1/chat/completions', JSON.stringify(body));
  const ok = { model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

  it('400 for malformed JSON', async () => {
    const r = await post('/v1/chat/completions', '{"model": "fake/gpt-4o-mini", "messages": [');
    expect(r.status).toBe(400);
    expect(r.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(r.error.message).toMatch(/parse the JSON body/);
  });

  it('400 for an empty body and for a body that is not an object', async () => {
    expect((await post('/v1/chat/completions', '')).status).toBe(400);
    const arr = await post('/v1/chat/completions', '[1,2]');
    expect(arr.status).toBe(400);
    expect(arr.error.message).toMatch(/JSON object/);
  });

  it('400 naming a missing field', async () => {
    const r = await chat({ model: 'fake/gpt-4o-mini' });
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('messages');
    expect(r.error.message).toContain("'messages'");
  });

  it('400 naming an ill-typed field deep inside', async () => {
    const r = await chat({ ...ok, temperature: 'hot' });
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('temperature');
    const deep = await chat({ model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'a' }, { role: 'wizard', content: 'b' }] });
    expect(deep.status).toBe(400);
    expect(deep.error.param).toMatch(/^messages\[1\]/);
    const n = await chat({ ...ok, n: 0 });
    expect(n.error.param).toBe('n');
  });

  it('404 for an unknown model', async () => {
    const r = await chat({ ...ok, model: 'nope/gpt-9' });
    expect(r.status).toBe(404);
    expect(r.error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('413 for a body over the limit', async () => {
    const r = await chat({ ...ok, messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    expect(r.status).toBe(413);
    expect(r.error.code).toBe('body_too_large');
  });

  it('401 for a missing or invalid key, 403 for the wrong scope', async () => {
    const missing = await post('/v1/chat/completions', JSON.stringify(ok), {});
    expect(missing.status).toBe(401);
    expect(missing.error.code).toBe('missing_api_key');
    const invalid = await post('/v1/chat/completions', JSON.stringify(ok), { authorization: 'Bearer sk-sluice-not-a-real-key' });
    expect(invalid.status).toBe(401);
    expect(invalid.error.type).toBe('authentication_error');
    expect(invalid.error.message).not.toContain('sk-sluice-not-a-real-key');
    const res = await fetch(`${gw.url}/api/keys`, { headers: { authorization: `Bearer ${inferenceKey}` } });
    expect(res.status).toBe(403);
    // The inference key does work for inference.
    const good = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${inferenceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(ok),
    });
    expect(good.status).toBe(200);
  });

  it('502 when the provider rejects the gateway credentials, never echoing the provider key', async () => {
    for (const model of ['badkey/gpt-4o-mini', 'claude/claude-haiku-4-5']) {
      const r = await chat({ ...ok, model });
      expect(r.status).toBe(502);
      expect(r.error.code).toBe('upstream_auth_failed');
      const text = JSON.stringify(r);
      expect(text).not.toMatch(/sk-wrong|sk-ant-wrong|9999/);
    }
    const records = gw.sink.records.filter((rec) => rec.errorCode === 'upstream_auth_failed');
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(records)).not.toMatch(/sk-wrong|sk-ant-wrong/);
  });

  it('404 for unknown endpoints and 405 for a wrong method, OpenAI-shaped', async () => {
    const nf = await fetch(`${gw.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(nf.status).toBe(404);
    expectValidAgainstSpec('ErrorResponse', await nf.json());
    const wrong = await fetch(`${gw.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(wrong.status).toBe(405);
    expectValidAgainstSpec('ErrorResponse', await wrong.json());
  });

  it('the SDK surfaces these as typed errors', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-sluice-bogus', maxRetries: 0 });
    await expect(client.chat.completions.create(ok as never)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const admin = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    await expect(admin.chat.completions.create({ ...ok, model: 'nope/x' } as never)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('logs a record for every rejected authenticated call, and none for a call without a valid key', async () => {
    const before = gw.sink.records.length;
    await post('/v1/chat/completions', JSON.stringify(ok), {});
    await post('/v1/chat/completions', JSON.stringify(ok), { authorization: 'Bearer sk-sluice-wrong-000000' });
    await post('/v1/chat/completions', '{bad');
    await gw.sink.waitFor(before + 1);
    // Records are enqueued in order: had the 401s left one, it would come first.
    expect(gw.sink.records.slice(before)).toHaveLength(1);
    expect(gw.sink.records[before]).toMatchObject({ status: 'client_error', errorCode: 'invalid_json', httpStatus: 400 });
  });
});

describe('an unknown internal failure', () => {
  it('is a 500 with the message hidden', async () => {
    const exploding: Provider = {
      name: 'boom',
      type: 'openai-compatible',
      config: { type: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' },
      chat: async () => {
        throw new TypeError('secret internal detail: cannot read x of undefined');
      },
      chatStream: async () => {
        throw new TypeError('secret internal detail');
      },
      embeddings: async () => {
        throw new TypeError('secret internal detail');
      },
      listModels: async () => [],
      close: async () => {},
    };
    const gw = await startTestGateway({
      config: { providers: { boom: { type: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' } } },
      providers: new Map([['boom', exploding]]),
    });
    try {
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'boom/x', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { message: string } };
      expectValidAgainstSpec('ErrorResponse', body);
      expect(body.error.message).not.toContain('secret');
      expect(gw.sink.records.at(-1)).toMatchObject({ status: 'gateway_error', errorCode: 'internal_error' });
    } finally {
      await gw.close();
    }
  });
});
