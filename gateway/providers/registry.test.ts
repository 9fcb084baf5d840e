import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../../test/helpers/fake-provider.ts';
import { parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { createAnthropicProvider } from './anthropic/provider.ts';
import { createOpenAIProvider } from './openai/provider.ts';
import { closeProviders, createProviders, providerFactories, type Providers } from './registry.ts';
import type { ChatRequest } from '../../core/chat.ts';

/** Providers built from a parsed config, talking to the fake provider (a real HTTP server). */

const KEY = 'sk-test-RegistryKey0123456789';
let fake: FakeProvider;
const opened: Providers[] = [];

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY });
});
afterAll(async () => {
  await Promise.all(opened.map(closeProviders));
  await fake.close();
});

function build(providers: Record<string, unknown>, now = Date.now): Providers {
  const made = createProviders(parseConfig({ providers }, {}), { now });
  opened.push(made);
  return made;
}

const signal = (): AbortSignal => new AbortController().signal;

describe('providerFactories', () => {
  it('has one factory per provider type: OpenAI for openai and openai-compatible, Anthropic for anthropic', () => {
    expect(Object.keys(providerFactories).sort()).toEqual(['anthropic', 'openai', 'openai-compatible']);
    expect(providerFactories.openai).toBe(createOpenAIProvider);
    expect(providerFactories['openai-compatible']).toBe(createOpenAIProvider);
    expect(providerFactories.anthropic).toBe(createAnthropicProvider);
  });
});

describe('createProviders', () => {
  it('builds nothing from a config without providers', () => {
    expect(build({}).size).toBe(0);
  });

  it('builds one provider per configured name, in config order, each with its own name, type and config', () => {
    const providers = build({
      main: { type: 'openai', api_key: KEY, base_url: fake.openaiBaseUrl },
      local: { type: 'openai-compatible', base_url: fake.openaiBaseUrl },
      claude: { type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl, default_max_tokens: 64 },
    });
    expect([...providers.keys()]).toEqual(['main', 'local', 'claude']);
    for (const [name, p] of providers) expect(p.name).toBe(name);
    expect(providers.get('main')).toMatchObject({ type: 'openai', config: { api_key: KEY, base_url: fake.openaiBaseUrl } });
    expect(providers.get('local')).toMatchObject({ type: 'openai-compatible', config: { base_url: fake.openaiBaseUrl } });
    expect(providers.get('claude')).toMatchObject({ type: 'anthropic', nativeN: false, nativeFormat: 'anthropic', config: { default_max_tokens: 64 } });
    expect(providers.get('main')?.nativeFormat).toBe('openai-responses');
    expect(providers.get('local')?.nativeFormat).toBeUndefined();
  });

  it('each provider talks to its own base_url with its own credentials in its own wire format', async () => {
    const providers = build({
      main: { type: 'openai', api_key: KEY, base_url: fake.openaiBaseUrl },
      claude: { type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl },
      badkey: { type: 'openai-compatible', api_key: 'sk-test-NotTheRightKey99', base_url: fake.openaiBaseUrl },
    });
    fake.reset();

    const openaiModels = await providers.get('main')!.listModels(signal());
    expect(openaiModels.map((m) => m.id)).toContain('gpt-4o-mini');
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);

    const anthropicModels = await providers.get('claude')!.listModels(signal());
    expect(anthropicModels.map((m) => m.id)).toContain('claude-sonnet-4-6');
    expect(fake.requests.at(-1)?.headers['x-api-key']).toBe(KEY);
    expect(fake.requests.at(-1)?.headers['anthropic-version']).toBeDefined();

    const err = await providers.get('badkey')!.listModels(signal()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'upstream_auth_failed', provider: 'badkey', upstreamStatus: 401 });
  });

  it('hands the deps to the factories (the Anthropic translation stamps `created` from deps.now)', async () => {
    const providers = build({ claude: { type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl } }, () => 1_700_000_123_456);
    const chat = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello' }] } as ChatRequest;
    const result = await providers.get('claude')!.chat({ chat }, 'claude-haiku-4-5', { signal: signal(), attempts: [] });
    expect(result.body).toMatchObject({ object: 'chat.completion', created: 1_700_000_123, model: 'claude-haiku-4-5' });
  });
});

describe('closeProviders', () => {
  it('resolves for an empty set', async () => {
    await expect(closeProviders(new Map())).resolves.toBeUndefined();
  });

  it('closes every provider: none of them sends afterwards', async () => {
    const providers = build({
      main: { type: 'openai', api_key: KEY, base_url: fake.openaiBaseUrl },
      claude: { type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl },
    });
    for (const p of providers.values()) await p.listModels(signal());
    await closeProviders(providers);
    fake.reset();
    for (const p of providers.values()) {
      const err = await p.listModels(signal()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GatewayError);
    }
    expect(fake.requests).toHaveLength(0);
  });
});
