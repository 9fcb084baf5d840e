import { describe, expect, it } from 'vitest';
import type { MessageCreateParams } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';
import { chatRequestSchema } from '../../pipeline/chat-schema.ts';
import { toAnthropicRequest } from '../../providers/anthropic/to-anthropic-request.ts';
import { fromAnthropicRequest } from './from-anthropic-request.ts';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
};

/** The SDK's request type plus the sampling fields it no longer declares (API 2023-06-01 has them). */
type AnthropicBody = MessageCreateParams & { temperature?: number; top_p?: number; top_k?: number };

/** A tool-use round trip as the Anthropic SDK sends it on the second request. */
const toolTurn: AnthropicBody = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: 'You are a weather bot.',
  messages: [
    { role: 'user', content: 'Weather in Paris and Rome?' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Two cities, two calls.', signature: 'EqQBCgIYAhIM' },
        { type: 'text', text: "I'll check both." },
        { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { location: 'Paris' } },
        { type: 'tool_use', id: 'toolu_01B', name: 'get_weather', input: { location: 'Rome' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Also, be brief.' },
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: '18°C, sunny' },
        { type: 'tool_result', tool_use_id: 'toolu_01B', content: [{ type: 'text', text: '24°C' }, { type: 'text', text: 'clear' }], is_error: false },
      ],
    },
  ],
  tools: [weatherTool],
  tool_choice: { type: 'auto', disable_parallel_tool_use: true },
  stop_sequences: ['\n\nHuman:'],
  temperature: 0.2,
  top_p: 0.9,
  top_k: 40,
  metadata: { user_id: 'user-42' },
};

describe('fromAnthropicRequest', () => {
  it('translates a tool-use round trip (golden)', () => {
    const req = fromAnthropicRequest(toolTurn);
    expect(req).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: "I'll check both.",
          tool_calls: [
            { id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'toolu_01B', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Rome"}' } },
          ],
        },
        // Tool results first, in order, then the rest of the same user turn.
        { role: 'tool', tool_call_id: 'toolu_01A', content: '18°C, sunny' },
        { role: 'tool', tool_call_id: 'toolu_01B', content: '24°C\nclear' },
        { role: 'user', content: 'Also, be brief.' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
          },
        },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      stop: ['\n\nHuman:'],
      temperature: 0.2,
      top_p: 0.9,
      user: 'user-42',
    });
    expect(chatRequestSchema.safeParse(req).success).toBe(true);
  });

  it('translates back to the same Anthropic request (both directions agree)', () => {
    const back = toAnthropicRequest(fromAnthropicRequest(toolTurn), { model: 'claude-sonnet-4-5', defaultMaxTokens: 1 });
    const { top_k: _k, ...rest } = toolTurn;
    expect(back).toEqual({
      ...rest,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            // thinking is dropped on the way in; everything else survives the round trip
            { type: 'text', text: "I'll check both." },
            { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { location: 'Paris' } },
            { type: 'tool_use', id: 'toolu_01B', name: 'get_weather', input: { location: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01A', content: '18°C, sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_01B', content: '24°C\nclear' },
            { type: 'text', text: 'Also, be brief.' },
          ],
        },
      ],
    });
  });

  it('maps images, documents and cache_control to content parts', () => {
    const req = fromAnthropicRequest({
      model: 'claude',
      max_tokens: 100,
      system: [
        { type: 'text', text: 'Long policy…', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Be brief.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' }, cache_control: { type: 'ephemeral' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Spec' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' }, context: 'From the wiki' },
            { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'Chunk 1' }] } },
            { type: 'text', text: 'Describe these.' },
          ],
        },
      ],
    });
    expect(req.messages).toEqual([
      {
        role: 'system',
        content: [
          { type: 'text', text: 'Long policy…', prompt_cache_breakpoint: { mode: 'explicit' } },
          { type: 'text', text: 'Be brief.' },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' }, prompt_cache_breakpoint: { mode: 'explicit' } },
          { type: 'text', text: 'Spec' },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'Spec.pdf' } },
          { type: 'text', text: 'From the wiki' },
          { type: 'text', text: 'Plain notes.' },
          { type: 'text', text: 'Chunk 1' },
          { type: 'text', text: 'Describe these.' },
        ],
      },
    ]);
    expect(chatRequestSchema.safeParse(req).success).toBe(true);
  });

  it('moves images from tool results into the following user message', () => {
    const req = fromAnthropicRequest({
      model: 'claude',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Screenshot please' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: 'Captured:' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
              ],
            },
          ],
        },
      ],
    });
    expect(req.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Captured:\n[image]' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }] },
    ]);
  });

  it('an empty tool result is an empty tool message; a turn of only tool results adds no user message', () => {
    const req = fromAnthropicRequest({
      model: 'claude',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'noop', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] },
      ],
    });
    expect(req.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'toolu_1', content: '' });
  });

  it('drops an assistant turn that held only thinking', () => {
    const req = fromAnthropicRequest({
      model: 'claude',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'xx' }] },
        { role: 'user', content: 'Still there?' },
      ],
    });
    expect(req.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'user', content: 'Still there?' },
    ]);
  });

  it.each([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
    [{ type: 'tool', name: 'get_weather' }, { type: 'function', function: { name: 'get_weather' } }],
  ] as const)('tool_choice %j → %j', (choice, expected) => {
    const req = fromAnthropicRequest({ ...toolTurn, tool_choice: choice });
    expect(req.tool_choice).toEqual(expected);
    expect(req).not.toHaveProperty('parallel_tool_calls');
  });

  it('sends no tool_choice without tools (OpenAI would reject it)', () => {
    const req = fromAnthropicRequest({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'any', disable_parallel_tool_use: true } });
    expect(req).not.toHaveProperty('tool_choice');
    expect(req).not.toHaveProperty('parallel_tool_calls');
  });

  it('stream asks for usage; output_config.format becomes a json_schema response_format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const req = fromAnthropicRequest({
      model: 'c',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      output_config: { format: { type: 'json_schema', schema } },
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(req).toEqual({
      model: 'c',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
      response_format: { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } },
    });
  });

  it.each([
    [
      'tool_use in a user turn',
      [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }],
      'messages[0].content[0].type',
    ],
    [
      'tool_result in an assistant turn',
      [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'tool_result', tool_use_id: 't' }] }],
      'messages[1].content[1].type',
    ],
    [
      'an image in an assistant turn',
      [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }] }],
      'messages[1].content[0].type',
    ],
  ])('rejects %s, naming the block', (_what, messages, param) => {
    try {
      fromAnthropicRequest({ model: 'c', max_tokens: 5, messages });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe(param);
    }
  });
});
