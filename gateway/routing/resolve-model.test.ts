import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { closeProviders, createProviders, type Providers } from '../providers/registry.ts';
import { createModelResolver, MODEL_MEMO_BYTES } from './resolve-model.ts';

const opened: Providers[] = [];
afterAll(async () => {
  await Promise.all(opened.map(closeProviders));
});

/** A resolver over real providers built from a raw config (constructing them opens no connection). */
function resolverFor(raw: Record<string, unknown>) {
  const config = parseConfig(raw, {});
  const providers = createProviders(config, { now: Date.now });
  opened.push(providers);
  const resolve = createModelResolver(config, providers);
  return (model: string) => {
    const target = resolve(model);
    return { provider: target.provider.name, model: target.model };
  };
}

function notFound(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect(e).toMatchObject({ code: 'model_not_found', status: 404, param: 'model' });
    return e;
  }
  throw new Error('expected model_not_found, the model resolved');
}

const OPENAI = { type: 'openai', api_key: 'sk-test' };
const ANTHROPIC = { type: 'anthropic', api_key: 'sk-ant-test' };
const LOCAL = { type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1' };

describe('createModelResolver', () => {
  const resolve = resolverFor({
    providers: {
      openai: OPENAI,
      anthropic: ANTHROPIC,
      local: LOCAL,
      groq: { type: 'openai-compatible', base_url: 'http://127.0.0.1:9/openai/v1', models: ['llama-3.1-8b-instant', 'mixtral-8x7b'] },
    },
    models: { fast: 'openai/gpt-4o-mini', smart: 'anthropic/claude-sonnet-4-5', cheap: 'groq/llama-3.1-8b-instant', typo: 'groq/llama-9' },
  });

  it('resolves provider/model to that provider and the upstream id', () => {
    expect(resolve('openai/gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(resolve('anthropic/claude-haiku-4-5')).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    // Any name goes to a provider that lists nothing: the upstream decides.
    expect(resolve('local/llama3')).toEqual({ provider: 'local', model: 'llama3' });
  });

  it('keeps the rest of the id after the provider, slashes included', () => {
    expect(resolve('local/meta-llama/Llama-3-8B')).toEqual({ provider: 'local', model: 'meta-llama/Llama-3-8B' });
    expect(resolve('local/org/sub/model:q4')).toEqual({ provider: 'local', model: 'org/sub/model:q4' });
  });

  it('a provider that lists its models accepts only those', () => {
    expect(resolve('groq/mixtral-8x7b')).toEqual({ provider: 'groq', model: 'mixtral-8x7b' });
    const err = notFound(() => resolve('groq/gpt-4o'));
    expect(err.message).toBe('The model `groq/gpt-4o` does not exist or is not served by this gateway');
  });

  it('a listed model may be called by its bare name', () => {
    expect(resolve('llama-3.1-8b-instant')).toEqual({ provider: 'groq', model: 'llama-3.1-8b-instant' });
  });

  it('resolves aliases from models:', () => {
    expect(resolve('fast')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(resolve('smart')).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5' });
    expect(resolve('cheap')).toEqual({ provider: 'groq', model: 'llama-3.1-8b-instant' });
  });

  it('an alias to a model its provider does not list is not found', () => {
    notFound(() => resolve('typo'));
  });

  it('sends bare gpt-…/o…/text-embedding-… names to the OpenAI provider, not to an OpenAI-compatible one', () => {
    expect(resolve('gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(resolve('o3-mini')).toEqual({ provider: 'openai', model: 'o3-mini' });
    expect(resolve('text-embedding-3-small')).toEqual({ provider: 'openai', model: 'text-embedding-3-small' });
  });

  it('sends bare claude-… names to the Anthropic provider', () => {
    expect(resolve('claude-haiku-4-5')).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
  });

  it('does not guess a provider for a bare name of no known family when there are several', () => {
    notFound(() => resolve('llama3'));
    notFound(() => resolve('mistral-large'));
  });

  it('rejects an unknown provider prefix, an empty model after the prefix and an empty name', () => {
    notFound(() => resolve('nope/gpt-4o'));
    notFound(() => resolve('openai/'));
    notFound(() => resolve(''));
    notFound(() => resolve('/gpt-4o'));
  });

  it('is a 404, not a crash, for names that are Object.prototype members', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) notFound(() => resolve(name));
  });

  it('quotes the requested name (truncated) in the message', () => {
    const long = `x${'y'.repeat(500)}`;
    const err = notFound(() => resolve(long));
    expect(err.message).toContain(long.slice(0, 200));
    expect(err.message).not.toContain(long.slice(0, 201));
  });

  it('returns the same answer on repeated calls (memoised) and keeps failing for unknown names', () => {
    const r = createModelResolver(parseConfig({ providers: { openai: OPENAI } }, {}), new Map());
    notFound(() => r('gpt-4o'));
    notFound(() => r('gpt-4o'));
    expect(resolve('fast')).toEqual(resolve('fast'));
  });
});

describe('createModelResolver: ambiguity and single providers', () => {
  it('two OpenAI providers make a bare gpt-… name ambiguous → 404', () => {
    const resolve = resolverFor({ providers: { a: OPENAI, b: OPENAI } });
    notFound(() => resolve('gpt-4o-mini'));
    expect(resolve('b/gpt-4o-mini')).toEqual({ provider: 'b', model: 'gpt-4o-mini' });
  });

  it('two Anthropic providers make a bare claude-… name ambiguous → 404', () => {
    const resolve = resolverFor({ providers: { a: ANTHROPIC, b: ANTHROPIC } });
    notFound(() => resolve('claude-haiku-4-5'));
  });

  it('without an OpenAI provider, a gpt-… name goes to the only OpenAI-compatible one (OPENAI_BASE_URL setups)', () => {
    const resolve = resolverFor({ providers: { openai: LOCAL, anthropic: ANTHROPIC } });
    expect(resolve('gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(resolve('claude-haiku-4-5')).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    const two = resolverFor({ providers: { a: LOCAL, b: LOCAL } });
    notFound(() => two('gpt-4o-mini'));
  });

  it('a claude-… name is never sent to an OpenAI(-compatible) provider, nor a gpt-… name to Anthropic', () => {
    notFound(() => resolverFor({ providers: { openai: OPENAI, local: LOCAL } })('claude-haiku-4-5'));
    notFound(() => resolverFor({ providers: { anthropic: ANTHROPIC, other: ANTHROPIC } })('gpt-4o-mini'));
    // With one Anthropic and one OpenAI-compatible provider, gpt-… goes to the latter.
    expect(resolverFor({ providers: { anthropic: ANTHROPIC, local: LOCAL } })('gpt-4o-mini')).toEqual({ provider: 'local', model: 'gpt-4o-mini' });
  });

  it('the only provider there is takes any bare name, even one that looks like org/model', () => {
    const resolve = resolverFor({ providers: { local: LOCAL } });
    expect(resolve('llama3')).toEqual({ provider: 'local', model: 'llama3' });
    expect(resolve('meta-llama/Llama-3-8B')).toEqual({ provider: 'local', model: 'meta-llama/Llama-3-8B' });
    expect(resolve('local/meta-llama/Llama-3-8B')).toEqual({ provider: 'local', model: 'meta-llama/Llama-3-8B' });
  });

  it('the only provider does not take unlisted names when it lists its models', () => {
    const resolve = resolverFor({ providers: { local: { ...LOCAL, models: ['llama3'] } } });
    expect(resolve('llama3')).toEqual({ provider: 'local', model: 'llama3' });
    notFound(() => resolve('mistral'));
  });

  it('with no providers at all every model is not found', () => {
    const resolve = resolverFor({ providers: {} });
    notFound(() => resolve('gpt-4o-mini'));
  });
});

describe('the resolution memo (issue 14: client strings held in memory)', () => {
  const config = parseConfig({ providers: { local: LOCAL, openai: OPENAI } }, {});
  const providers = createProviders(config, { now: Date.now });
  opened.push(providers);

  it('stays within MODEL_MEMO_BYTES over 20,000 distinct names that resolve', () => {
    const resolve = createModelResolver(config, providers);
    for (let i = 0; i < 20_000; i++) {
      expect(resolve(`local/${String(i).padStart(390, 'm')}`).provider.name).toBe('local');
    }
    expect(resolve.memoBytes).toBeGreaterThan(MODEL_MEMO_BYTES / 2);
    expect(resolve.memoBytes).toBeLessThanOrEqual(MODEL_MEMO_BYTES);
  });

  it('keeps no entry for a huge name, and none for a name that does not resolve', () => {
    const resolve = createModelResolver(config, providers, 64 * 1024);
    for (let i = 0; i < 60; i++) expect(resolve(`local/${String(i)}${'x'.repeat(2 * 1024 * 1024)}`).provider.name).toBe('local');
    expect(resolve.memoBytes).toBe(0);
    for (let i = 0; i < 100; i++) notFound(() => resolve(`nowhere-${String(i)}`));
    expect(resolve.memoBytes).toBe(0);
    resolve('openai/gpt-4o');
    expect(resolve.memoBytes).toBeGreaterThan(0);
    expect(resolve.memoBytes).toBeLessThan(1024);
  });
});
