import { describe, expect, it } from 'vitest';
import { estimatePromptTokens } from '../../cost/estimate-tokens.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { countTokens } from './count-tokens.ts';

const body = {
  model: 'claude-sonnet-4-5',
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'How many tokens is this sentence?' }],
};

describe('countTokens', () => {
  it('estimates the translated prompt (max_tokens not needed)', () => {
    const expected = estimatePromptTokens(
      [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'How many tokens is this sentence?' },
      ],
      'claude-sonnet-4-5',
    );
    expect(countTokens(body)).toEqual({ input_tokens: expected });
    expect(expected).toBeGreaterThan(10);
  });

  it('counts tool definitions and images too', () => {
    const plain = countTokens(body).input_tokens;
    const tool = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };
    expect(countTokens({ ...body, tools: [tool] }).input_tokens).toBeGreaterThan(plain + 10);
    const image = { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } };
    const withImage = countTokens({ ...body, messages: [{ role: 'user', content: [image, { type: 'text', text: 'How many tokens is this sentence?' }] }] });
    expect(withImage.input_tokens).toBeGreaterThanOrEqual(plain + 85);
  });

  it('rejects a bad body naming the field', () => {
    try {
      countTokens({ ...body, messages: [{ role: 'user', content: [{ type: 'video' }] }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe('messages[0].content[0].type');
    }
  });
});
