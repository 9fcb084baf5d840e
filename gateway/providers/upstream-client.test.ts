import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../../test/helpers/fake-provider.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { postJson, readJson, startStream } from './provider-http.ts';
import { UpstreamClient, type UpstreamClientOptions, type UpstreamTimeouts } from './upstream-client.ts';
import { rejection, until } from '../../test/helpers/provider-tests.ts';

/**
 * UpstreamClient against a real HTTP server (the fake provider on 127.0.0.1, random port).
 * Timeouts are made small where a test needs one to fire; assertions are on error codes only.
 */

const KEY = 'sk-proj-UpstreamClientTestKey0123456789';
const CUSTOM = 'custom-credential-value-4f1c9e77';
const SECRETS = [KEY, CUSTOM];
const LONG: UpstreamTimeouts = { connect_ms: 5_000, first_byte_ms: 30_000, total_ms: 60_000 };
const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }] };

let fake: FakeProvider;
const clients: UpstreamClient[] = [];

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  fake.reset();
});
afterAll(async () => {
  await fake.close();
});

function client(over: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  const c = new UpstreamClient({
    provider: 'fakeai',
    baseUrl: fake.openaiBaseUrl,
    headers: { authorization: `Bearer ${KEY}`, 'x-custom-auth': CUSTOM, 'user-agent': 'sluice-test' },
    timeouts: LONG,
    secrets: SECRETS,
    ...over,
  });
  clients.push(c);
  return c;
}

const live = (): AbortSignal => new AbortController().signal;

function expectNoSecrets(err: GatewayError): void {
  for (const text of [err.message, err.publicMessage, String(err)]) {
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('UpstreamClient: success', () => {
  it('POSTs JSON under the base URL path with the configured headers and returns the answer', async () => {
    const c = client();
    const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live());
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const json = JSON.parse(await c.readText(res, live())) as { object: string; choices: Array<{ message: { content: string } }> };
    expect(json.object).toBe('chat.completion');
    expect(json.choices[0]?.message.content).toBe('Echo: hi there');

    const rec = fake.requests[0];
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: CHAT, aborted: false });
    expect(rec?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'x-custom-auth': CUSTOM,
      'user-agent': 'sluice-test',
      'content-type': 'application/json',
    });
  });

  it('GET sends no body and no content-type; a trailing slash on the base URL is not doubled', async () => {
    const c = client({ baseUrl: `${fake.openaiBaseUrl}/` });
    const res = await c.send('GET', '/models', undefined, live());
    expect(res.status).toBe(200);
    const json = JSON.parse(await c.readText(res, live())) as { object: string; data: unknown[] };
    expect(json).toMatchObject({ object: 'list' });
    expect(json.data.length).toBeGreaterThan(0);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models', body: undefined });
    expect(fake.requests[0]?.headers['content-type']).toBeUndefined();
  });

  it('keeps serving requests one after another over its agent', async () => {
    const c = client();
    for (let i = 0; i < 3; i++) {
      const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live());
      expect(res.status).toBe(200);
      await c.readText(res, live());
    }
    expect(fake.requests).toHaveLength(3);
  });
});

describe('UpstreamClient: upstream HTTP errors', () => {
  it('returns a non-2xx status as a response (send does not throw on status)', async () => {
    fake.enqueue({ status: 503 });
    const c = client();
    const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live());
    expect(res.status).toBe(503);
    expect(await c.readText(res, live())).toContain('Injected fault: HTTP 503');
  });

  it.each([
    [400, 'upstream_bad_request', 400],
    [422, 'upstream_bad_request', 422],
    [404, 'model_not_found', 404],
    [500, 'upstream_error', 502],
    [503, 'upstream_error', 502],
  ] as const)('failure(): upstream %i → %s (HTTP %i) with the upstream message', async (upstream, code, status) => {
    fake.enqueue({ status: upstream });
    const c = client();
    const err = await c.failure(await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()), live());
    expect(err).toMatchObject({ code, status, provider: 'fakeai', upstreamStatus: upstream });
    expect(err.message).toContain(`Injected fault: HTTP ${upstream}`);
  });

  it('failure(): 429 → upstream_rate_limited with Retry-After', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '3' } });
    const c = client();
    const err = await c.failure(await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()), live());
    expect(err).toMatchObject({ code: 'upstream_rate_limited', status: 429, upstreamStatus: 429, retryAfter: 3 });
  });

  it('failure(): a real 401 (wrong key) → upstream_auth_failed that echoes nothing of the key', async () => {
    const wrong = 'sk-proj-WrongKeyForTheFakeUpstream98765';
    const c = client({ headers: { authorization: `Bearer ${wrong}` }, secrets: [wrong] });
    const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live());
    expect(res.status).toBe(401);
    const err = await c.failure(res, live());
    expect(err).toMatchObject({ code: 'upstream_auth_failed', status: 502, upstreamStatus: 401 });
    expect(err.message).not.toMatch(/Incorrect|8765|sk-pr/);
  });

  it('provider-http: postJson throws the mapped error, readJson rejects non-JSON and non-object bodies', async () => {
    const c = client();
    fake.enqueue({ status: 400 });
    expect((await rejection(postJson(c, 'fakeai', '/chat/completions', CHAT, live()))).code).toBe('upstream_bad_request');

    fake.enqueue({ malformed: true });
    expect((await rejection(postJson(c, 'fakeai', '/chat/completions', CHAT, live()))).code).toBe('upstream_bad_response');

    fake.enqueue({ status: 200, body: [1, 2, 3] });
    const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live());
    expect((await rejection(readJson(c, 'fakeai', res, live()))).code).toBe('upstream_bad_response');

    const ok = await postJson(c, 'fakeai', '/chat/completions', CHAT, live());
    expect(ok.json).toMatchObject({ object: 'chat.completion' });
    expect(JSON.parse(ok.text)).toEqual(ok.json);

    fake.enqueue({ status: 500 });
    expect((await rejection(startStream(c, '/chat/completions', { ...CHAT, stream: true }, live()))).code).toBe('upstream_error');
  });
});

describe('UpstreamClient: network failures and timeouts', () => {
  it('connection refused → upstream_unreachable naming the cause', async () => {
    const port = await closedPort();
    const c = client({ baseUrl: `http://127.0.0.1:${port}/v1` });
    const err = await rejection(c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()));
    expect(err).toMatchObject({ code: 'upstream_unreachable', status: 502, provider: 'fakeai' });
    expect(err.message).toContain('ECONNREFUSED');
    expectNoSecrets(err);
  });

  it('the upstream closing the socket before answering → upstream_unreachable', async () => {
    fake.enqueue({ reset: true });
    const err = await rejection(client().send('POST', '/chat/completions', JSON.stringify(CHAT), live()));
    expect(err).toMatchObject({ code: 'upstream_unreachable', provider: 'fakeai' });
    expectNoSecrets(err);
  });

  it('first-byte timeout: no response headers → upstream_timeout, and the upstream sees the request dropped', async () => {
    fake.enqueue({ hang: true });
    const c = client({ timeouts: { connect_ms: 5_000, first_byte_ms: 150, total_ms: 60_000 } });
    const err = await rejection(c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()));
    expect(err).toMatchObject({ code: 'upstream_timeout', status: 504, provider: 'fakeai' });
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('idle body timeout (first_byte_ms between chunks) mid-body → upstream_timeout from readText', async () => {
    fake.enqueue({ dripMs: 60_000 });
    const c = client({ timeouts: { connect_ms: 5_000, first_byte_ms: 300, total_ms: 60_000 } });
    const res = await c.send('POST', '/chat/completions', JSON.stringify({ ...CHAT, stream: true }), live());
    expect(res.status).toBe(200);
    expect((await rejection(c.readText(res, live()))).code).toBe('upstream_timeout');
  });

  it('total timeout before the headers → upstream_timeout', async () => {
    fake.enqueue({ hang: true });
    const c = client({ timeouts: { connect_ms: 5_000, first_byte_ms: 30_000, total_ms: 150 } });
    const err = await rejection(c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()));
    expect(err).toMatchObject({ code: 'upstream_timeout', status: 504 });
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('total timeout while the body is still arriving → upstream_timeout (not "unreachable")', async () => {
    // Headers come at once; the second SSE event would come a minute later. The total timer,
    // still running after send() resolved, must end the read as a timeout.
    fake.enqueue({ dripMs: 60_000 });
    const c = client({ timeouts: { connect_ms: 5_000, first_byte_ms: 30_000, total_ms: 1_000 } });
    const res = await c.send('POST', '/chat/completions', JSON.stringify({ ...CHAT, stream: true }), live());
    expect(res.status).toBe(200);
    const err = await rejection(c.readText(res, live()));
    expect(err).toMatchObject({ code: 'upstream_timeout', status: 504, provider: 'fakeai' });
    await until(() => fake.requests[0]?.aborted === true);
  });
});

describe('UpstreamClient: cancellation', () => {
  it('an already-aborted signal → client_aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await rejection(client().send('POST', '/chat/completions', JSON.stringify(CHAT), ac.signal));
    expect(err).toMatchObject({ code: 'client_aborted', status: 499, provider: 'fakeai' });
  });

  it('aborting while waiting for headers cancels the upstream request → client_aborted', async () => {
    fake.enqueue({ hang: true });
    const ac = new AbortController();
    const pending = rejection(client().send('POST', '/chat/completions', JSON.stringify(CHAT), ac.signal));
    await until(() => fake.requests.length === 1);
    ac.abort();
    expect((await pending).code).toBe('client_aborted');
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('aborting mid-body ends the read as client_aborted and drops the upstream connection', async () => {
    fake.enqueue({ dripMs: 60_000 });
    const ac = new AbortController();
    const c = client();
    const res = await c.send('POST', '/chat/completions', JSON.stringify({ ...CHAT, stream: true }), ac.signal);
    expect(res.status).toBe(200);
    const reading = rejection(c.readText(res, ac.signal));
    ac.abort();
    expect((await reading).code).toBe('client_aborted');
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('aborting after the body was read changes nothing', async () => {
    const ac = new AbortController();
    const c = client();
    const res = await c.send('POST', '/chat/completions', JSON.stringify(CHAT), ac.signal);
    const text = await c.readText(res, ac.signal);
    ac.abort();
    expect(JSON.parse(text)).toMatchObject({ object: 'chat.completion' });
    // the client is still usable with a fresh signal
    const again = await c.send('GET', '/models', undefined, live());
    expect(again.status).toBe(200);
    await c.readText(again, live());
  });
});

describe('UpstreamClient: secrets never reach an error', () => {
  it('an upstream 4xx quoting the request headers is scrubbed of every credential', async () => {
    fake.enqueue({ status: 400, echoHeaders: true });
    const c = client();
    const err = await c.failure(await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()), live());
    expect(err.code).toBe('upstream_bad_request');
    expect(err.message).toContain('request headers');
    expect(err.message).toContain('[redacted]');
    expect(err.message).toContain('sluice-test'); // non-secret headers survive
    expectNoSecrets(err);
  });

  it('an upstream 5xx quoting the key (plain and masked) is scrubbed', async () => {
    const masked = `${KEY.slice(0, 5)}${'*'.repeat(KEY.length - 9)}${KEY.slice(-4)}`;
    fake.enqueue({ status: 502, body: { error: { message: `backend choked on ${KEY} (${masked}) / ${CUSTOM}` } } });
    const c = client();
    const err = await c.failure(await c.send('POST', '/chat/completions', JSON.stringify(CHAT), live()), live());
    expect(err.code).toBe('upstream_error');
    expect(err.message).toContain('backend choked on');
    expect(err.message).not.toContain(masked);
    expectNoSecrets(err);
  });

  it('network and timeout errors carry no credential', async () => {
    fake.enqueue({ hang: true });
    const timedOut = await rejection(
      client({ timeouts: { connect_ms: 5_000, first_byte_ms: 100, total_ms: 60_000 } }).send('POST', '/chat/completions', JSON.stringify(CHAT), live()),
    );
    expect(timedOut.code).toBe('upstream_timeout');
    expectNoSecrets(timedOut);

    const port = await closedPort();
    const refused = await rejection(client({ baseUrl: `http://127.0.0.1:${port}/v1` }).send('GET', '/models', undefined, live()));
    expectNoSecrets(refused);
  });

  it('networkError scrubs a credential out of an unexpected error message', () => {
    const err = client().networkError(new Error(`socket hang up while sending Bearer ${KEY} and ${CUSTOM}`), live(), undefined);
    expect(err.code).toBe('upstream_unreachable');
    expectNoSecrets(err);
  });

  it('scrub() removes configured secrets and key-shaped strings from upstream text', () => {
    const out = client().scrub(`oops ${KEY} / ${CUSTOM} / sk-other-abcdefgh1234 end`);
    expect(out).toBe('oops [redacted] / [redacted] / [redacted] end');
  });
});

describe('UpstreamClient: close', () => {
  it('close() resolves and later sends fail as a GatewayError', async () => {
    const c = client();
    const res = await c.send('GET', '/models', undefined, live());
    await c.readText(res, live());
    await c.close();
    const err = await rejection(c.send('GET', '/models', undefined, live()));
    expect(err.code).toBe('upstream_unreachable');
  });
});
