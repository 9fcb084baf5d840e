import { describe, expect, it } from 'vitest';
import { contentHash } from './canonical.ts';
import type { PromptContent } from './types.ts';

const content = {
  messages: [
    { role: 'system', content: 'You answer for {{company}}. Today is {{date}}.' },
    { role: 'user', content: [{ type: 'text', text: 'Hi ü \u2028' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } }] },
  ],
  model: 'openai/gpt-4o-mini',
  params: { temperature: 0.2, max_tokens: 300, stop: ['END'], nested: { b: 1, a: [1.5e-7, null, -0] } },
  variables: { type: 'object', required: ['company'], properties: { company: { type: 'string' }, date: { type: 'string' } } },
} as PromptContent;

describe('contentHash', () => {
  // The hashes are stored with each version: these values were computed by the first implementation.
  it('is the hash stored for the same content by earlier releases', () => {
    expect(contentHash(content)).toBe('c4116875e4364ee209a13c27d5b621248315d9c9ba3fd9c6f73005c0429837b2');
    const withProto = { ...content, params: JSON.parse('{"temperature":0.2,"extra":{"__proto__":{"x":1},"k":2}}') as PromptContent['params'] };
    expect(contentHash(withProto)).toBe('920bd1d3f0385be12fe19050025ac611bb3be3a84ff2d2e335d73f15df901526');
    const logitBias = { messages: [{ role: 'user', content: 'Hi' }], model: null, params: { logit_bias: { '50256': -100, '198': 5, '0': 1 }, temperature: 0 }, variables: null };
    expect(contentHash(logitBias as PromptContent)).toBe('6fb8c5a9ef6639ac28bf2bf69692fb42875431cb28afed94abe872ba193b0a08');
  });

  it('does not depend on key order', () => {
    const reordered = { variables: content.variables, params: { ...content.params }, model: content.model, messages: content.messages } as PromptContent;
    expect(contentHash(reordered)).toBe(contentHash(content));
  });
});
