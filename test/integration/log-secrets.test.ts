import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../gateway/logger.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * DESIGN §4.5: "Never a secret" — every line the gateway logs (call lines, retries, fallbacks,
 * breakers, errors), over calls that carry provider keys, client keys, key-shaped text in the
 * body and upstream errors that quote the request's headers.
 */
const PROVIDER_KEY = 'sk-provider-logsecret-7c6d5e4f3a2b';
const WRONG_PROVIDER_KEY = 'sk-wrong-logsecret-9f8e7d6c5b4a';
const TENANT_TOKEN = 'tnt_logsecret_0a1b2c3d4e5f';
const GUESSED_KEY = 'sk-sluice-guessed-logsecret-0000';
/** Key-shaped text a user pasted into a prompt: bodies never reach a log line. */
const IN_BODY = ['sk-proj-InBodyLogSecret0123456789abcdef', 'AKIAINBODYLOGSECRET7', 'Bearer eyJhbGciOiJIUzI1NiJ9.inbody.logsecret'];

describe('secrets stay out of the log lines', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  const lines: string[] = [];

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
    gw = await startTestGateway({
      logger: createJsonLogger({ level: 'trace', destination: (line) => void lines.push(line) }),
      config: {
        providers: {
          good: { type: 'openai-compatible', api_key: PROVIDER_KEY, base_url: fake.openaiBaseUrl, retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2 } },
          bad: { type: 'openai-compatible', api_key: WRONG_PROVIDER_KEY, base_url: fake.openaiBaseUrl, retry: { max_attempts: 1 } },
          claude: { type: 'anthropic', api_key: WRONG_PROVIDER_KEY, base_url: fake.anthropicBaseUrl, retry: { max_attempts: 1 } },
          tenant: {
            type: 'openai-compatible',
            api_key: PROVIDER_KEY,
            base_url: fake.openaiBaseUrl,
            headers: { 'x-tenant-auth': `Token ${TENANT_TOKEN}` },
            retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2 },
          },
        },
        routes: {
          guarded: {
            variants: [{ name: 'main', target: 'bad/gpt-4o' }],
            fallbacks: ['tenant/gpt-4o-mini'],
            circuit_breaker: { failures: 1, cooldown_ms: 60_000 },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const send = async (model: string, opts: { key?: string; stream?: boolean } = {}) => {
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.key ?? ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        stream: opts.stream ?? false,
        user: IN_BODY[0],
        metadata: { note: IN_BODY[1]! },
        messages: [{ role: 'user', content: `my keys: ${IN_BODY.join(' ')}` }],
      }),
    });
    return { status: res.status, text: await res.text() };
  };

  it('across successes, auth failures, echoed headers, retries, fallbacks, breakers and streams', async () => {
    let calls = 0;
    const call = async (...args: Parameters<typeof send>) => {
      calls++;
      return send(...args);
    };
    expect((await call('good/gpt-4o-mini')).status).toBe(200);
    expect((await call('good/gpt-4o-mini', { stream: true })).status).toBe(200);
    // Providers quote (masked) keys in their 401s.
    expect((await call('bad/gpt-4o-mini')).text).toContain('upstream_auth_failed');
    await call('claude/claude-haiku-4-5');
    // Upstream errors that quote every request header, the tenant credential included: a
    // refusal, a failure after retries, and a retry that then succeeds.
    fake.enqueue({ status: 400, echoHeaders: true });
    await call('tenant/gpt-4o-mini');
    fake.enqueue({ status: 500, echoHeaders: true }, { status: 500, echoHeaders: true });
    await call('tenant/gpt-4o-mini');
    fake.enqueue({ status: 503, echoHeaders: true });
    expect((await call('tenant/gpt-4o-mini')).status).toBe(200);
    // A mid-stream error quoting the header.
    fake.enqueue({ streamError: { message: `rejected x-tenant-auth: Token ${TENANT_TOKEN}` } });
    await call('tenant/gpt-4o-mini', { stream: true });
    // A fallback (the primary's key is wrong), which opens its breaker.
    fake.enqueue({ status: 500, echoHeaders: true });
    expect((await call('guarded')).status).toBe(200);
    // A guessed gateway key: turned away before a call exists.
    expect((await send('good/gpt-4o-mini', { key: GUESSED_KEY })).status).toBe(401);
    await gw.sink.waitFor(calls);

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // The paths were exercised: a line per call, warnings and an opened breaker among them.
    expect(parsed.filter((l) => l.msg === 'call')).toHaveLength(calls);
    expect(parsed.some((l) => l.msg === 'call' && l.level === 'warn' && typeof l.error_message === 'string' && l.error_message.includes('[redacted]'))).toBe(true);
    expect(parsed.some((l) => l.msg === 'circuit breaker open')).toBe(true);
    expect(JSON.stringify(fake.requests.map((r) => r.headers))).toContain(TENANT_TOKEN);

    const everything = lines.join('');
    for (const secret of [PROVIDER_KEY, WRONG_PROVIDER_KEY, TENANT_TOKEN, ADMIN_KEY, GUESSED_KEY, ...IN_BODY, 'sk-wr', '9f8e7d6c5b4a', 'logsecret']) {
      expect(everything).not.toContain(secret);
    }
  });
});
