import { describe, expect, it } from 'vitest';
import type { ChatCompletionCreateParams, ChatCompletionTool } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { toAnthropicRequest } from './to-anthropic-request.ts';

const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['location'],
    },
    strict: true,
  },
};
const clockTool: ChatCompletionTool = { type: 'function', function: { name: 'now' } };

function translate(extra: Partial<ChatCompletionCreateParams>) {
  return toAnthropicRequest(
    { model: 'claude', messages: [{ role: 'user', content: 'Weather in Paris?' }], ...extra } as ChatCompletionCreateParams,
    { model: 'claude-haiku-4-5', defaultMaxTokens: 1024 },
  );
}

describe('tools', () => {
  it('become name/description/input_schema, with an empty object schema by default', () => {
    expect(translate({ tools: [weatherTool, clockTool] }).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        input_schema: {
          type: 'object',
          properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
          required: ['location'],
        },
      },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it('reject custom (grammar) tools', () => {
    try {
      translate({ tools: [weatherTool, { type: 'custom', custom: { name: 'sql' } }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe('tools[1].type');
    }
  });
});

describe('tool_choice and parallel_tool_calls', () => {
  it.each([
    ['auto', { type: 'auto' }],
    ['required', { type: 'any' }],
    ['none', { type: 'none' }],
    [{ type: 'function', function: { name: 'get_weather' } }, { type: 'tool', name: 'get_weather' }],
  ] as const)('%j → %j', (choice, expected) => {
    expect(translate({ tools: [weatherTool], tool_choice: choice }).tool_choice).toEqual(expected);
  });

  it('no tool_choice means none is sent (Anthropic defaults to auto)', () => {
    expect(translate({ tools: [weatherTool] })).not.toHaveProperty('tool_choice');
  });

  it('parallel_tool_calls: false disables parallel use on the given choice, or on auto', () => {
    expect(translate({ tools: [weatherTool], parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(translate({ tools: [weatherTool], tool_choice: 'required', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
    expect(translate({ tools: [weatherTool], tool_choice: 'none', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'none',
    });
    expect(translate({ tools: [weatherTool], parallel_tool_calls: true })).not.toHaveProperty('tool_choice');
  });

  it('without tools, tool_choice and parallel_tool_calls are not sent', () => {
    const body = translate({ tool_choice: 'auto', parallel_tool_calls: false });
    expect(body).not.toHaveProperty('tool_choice');
    expect(body).not.toHaveProperty('tools');
  });

  it('allowed_tools narrows the tool list and maps its mode', () => {
    const body = translate({
      tools: [weatherTool, clockTool],
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'now' } }] },
      },
    });
    expect(body.tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
    expect(body.tool_choice).toEqual({ type: 'any' });
  });

  it('rejects allowed_tools naming an unknown tool, and custom tool choices', () => {
    expect(() =>
      translate({
        tools: [weatherTool],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'nope' } }] } },
      }),
    ).toThrow(GatewayError);
    expect(() => translate({ tools: [weatherTool], tool_choice: { type: 'custom', custom: { name: 'sql' } } })).toThrow(
      /tool_choice/,
    );
  });

  it('rejects the deprecated functions parameter rather than silently dropping tools', () => {
    expect(() => translate({ functions: [{ name: 'now' }] })).toThrow(/functions/);
  });
});
