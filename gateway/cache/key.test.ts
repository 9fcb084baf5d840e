import { describe, expect, it } from 'vitest';
import { cacheKey, cacheKeyText, isCacheable } from './key.ts';

const base = {
  model: 'support-bot',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
  ],
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
  tool_choice: 'auto',
  response_format: { type: 'json_object' },
  temperature: 0,
  top_p: 1,
  max_tokens: 100,
  stop: ['END'],
  seed: 7,
  n: 2,
  logprobs: true,
  top_logprobs: 3,
  parallel_tool_calls: false,
};
const key = (request: Record<string, unknown>, extra: { provider?: string; model?: string; scope?: string } = {}) =>
  cacheKey({ provider: extra.provider ?? 'openai', model: extra.model ?? 'gpt-4o-mini', request, ...(extra.scope ? { scope: extra.scope } : {}) });

/** Rebuilds a value with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
  }
  return value;
}

describe('cacheKey', () => {
  it('is a SHA-256 hex digest that ignores key order at every level', () => {
    const k = key(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(key(reversed(base) as Record<string, unknown>)).toBe(k);
  });

  it('changes with each field that determines the answer', () => {
    const k = key(base);
    const variants: Record<string, Record<string, unknown>> = {
      messages: { messages: [{ role: 'user', content: 'Hi' }] },
      messageOrder: { messages: [...base.messages].reverse() },
      tools: { tools: [] },
      tool_choice: { tool_choice: 'none' },
      response_format: { response_format: { type: 'text' } },
      temperature: { temperature: 0.5 },
      top_p: { top_p: 0.9 },
      max_tokens: { max_tokens: 101 },
      stop: { stop: ['STOP'] },
      seed: { seed: 8 },
      n: { n: 3 },
      logprobs: { logprobs: false },
      top_logprobs: { top_logprobs: 4 },
      parallel_tool_calls: { parallel_tool_calls: true },
      presence_penalty: { presence_penalty: 0.5 },
      unknownUpstreamParam: { top_k: 40 },
    };
    const seen = new Set([k]);
    for (const [name, change] of Object.entries(variants)) {
      const changed = key({ ...base, ...change });
      expect(changed, name).not.toBe(k);
      seen.add(changed);
    }
    expect(seen.size).toBe(Object.keys(variants).length + 1);
    expect(key(base, { provider: 'azure' })).not.toBe(k);
    expect(key(base, { model: 'gpt-4o' })).not.toBe(k);
    expect(key(base, { scope: 'route:a' })).not.toBe(k);
    expect(key(base, { scope: 'route:a' })).not.toBe(key(base, { scope: 'route:b' }));
  });

  it('ignores who asks and how the answer is delivered', () => {
    const k = key(base);
    expect(key({ ...base, user: 'u-1', metadata: { team: 'a' }, stream: true, stream_options: { include_usage: true } })).toBe(k);
    expect(key({ ...base, model: 'openai/gpt-4o-mini', store: true, service_tier: 'flex', safety_identifier: 's' })).toBe(k);
  });

  it('normalises equivalent spellings', () => {
    const plain = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    expect(key({ ...plain, max_tokens: 50 })).toBe(key({ ...plain, max_completion_tokens: 50 }));
    expect(key({ ...plain, stop: 'END' })).toBe(key({ ...plain, stop: ['END'] }));
    expect(key({ ...plain, n: 1 })).toBe(key(plain));
    expect(key({ ...plain, temperature: null, seed: undefined })).toBe(key(plain));
    expect(key({ ...plain, max_tokens: 50 })).not.toBe(key(plain));
  });

  it('keeps the provider, model and scope apart from request fields of the same name', () => {
    const text = cacheKeyText({ provider: 'p', model: 'm', request: { messages: [], provider: 'x' }, scope: 's' });
    expect(JSON.parse(text)).toEqual({ model: 'm', provider: 'p', request: { messages: [], provider: 'x' }, scope: 's', v: 1 });
  });

  it('writes the same text as before canonical JSON moved to core/ (entries in the shared tier stay valid)', () => {
    const request = { z: { b: 1, a: [2, null] }, messages: [{ role: 'user', content: 'x' }], temperature: 0, max_completion_tokens: 9 };
    expect(cacheKeyText({ provider: 'openai', model: 'gpt-4o-mini', request })).toBe(
      '{"model":"gpt-4o-mini","provider":"openai","request":{"max_tokens":9,"messages":[{"content":"x","role":"user"}],"temperature":0,"z":{"a":[2,null],"b":1}},"v":1}',
    );
    expect(key(request)).toBe('8ff7af35e07a27bca4774fafb4f5a2542ab686be2f4001af140ff5a8023fdd03');
  });

  it('keeps a nested "__proto__" key: the upstream is sent it, so it may change the answer', () => {
    const tools = (props: string) => [{ type: 'function', function: { name: 'f', parameters: JSON.parse(`{"type":"object","properties":${props}}`) } }];
    const plain = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    expect(key({ ...plain, tools: tools('{"__proto__":{"type":"string"}}') })).not.toBe(key({ ...plain, tools: tools('{}') }));
  });
});

describe('isCacheable', () => {
  it('auto caches only temperature 0 or seeded requests; on/off are absolute', () => {
    expect(isCacheable({ temperature: 0 }, { default: 'auto' })).toBe(true);
    expect(isCacheable({ temperature: 0.7, seed: 1 }, { default: 'auto' })).toBe(true);
    expect(isCacheable({ temperature: 0.7 }, { default: 'auto' })).toBe(false);
    expect(isCacheable({}, { default: 'auto' })).toBe(false);
    expect(isCacheable({ seed: null }, { default: 'auto' })).toBe(false);
    expect(isCacheable({ temperature: 0.7 }, { default: 'on' })).toBe(true);
    expect(isCacheable({ temperature: 0 }, { default: 'off' })).toBe(false);
  });
});
