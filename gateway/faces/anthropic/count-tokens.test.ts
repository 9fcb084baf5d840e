import { describe, expect, it, vi } from 'vitest';
import { runWithoutSpaces } from '../../../test/helpers/text-samples.ts';
import { encodingForModel, estimatePromptTokens, EXACT_BUDGET_BYTES } from '../../cost/estimate-tokens.ts';
import { loadEncoding, MAX_PIECE_BYTES } from '../../cost/tokenizer.ts';
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

  it('counts a 200K-character run without spaces, plus tools, with one bounded budget', () => {
    const spy = vi.spyOn(loadEncoding(encodingForModel(body.model)), 'encode');
    const tool = { name: 'lookup', description: runWithoutSpaces(50_000, 2), input_schema: { type: 'object' } };
    const result = countTokens({ ...body, tools: [tool], messages: [{ role: 'user', content: runWithoutSpaces(200_000) }] });
    const sizes = spy.mock.calls.map((args) => Buffer.byteLength(args[0], 'utf8'));
    spy.mockRestore();
    expect(result.input_tokens).toBeGreaterThan(250_000 / 8);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PIECE_BYTES);
    // The messages and the tool definitions share one estimator: one budget for the request.
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(EXACT_BUDGET_BYTES);
  });

  it('rejects a model name over 400 characters naming `model`', () => {
    try {
      countTokens({ ...body, model: 'm'.repeat(401) });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect(err).toMatchObject({ status: 400, param: 'model' });
      expect((err as GatewayError).message).toMatch(/at most 400 characters/);
    }
  });
});
