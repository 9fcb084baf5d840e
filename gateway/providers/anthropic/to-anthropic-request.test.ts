import { describe, expect, it } from 'vitest';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { Tool } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';
import { JSON_TOOL } from './response-format.ts';
import { toAnthropicRequest } from './to-anthropic-request.ts';

const opts = { model: 'claude-sonnet-4-5', defaultMaxTokens: 4096 };
const PNG_1PX =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function translate(req: Omit<ChatCompletionCreateParams, 'model'>, o: Partial<typeof opts> & { omitSamplingParams?: boolean; structuredOutputs?: boolean } = {}) {
  return toAnthropicRequest({ model: 'anthropic/claude-sonnet-4-5', ...req } as ChatCompletionCreateParams, { ...opts, ...o });
}

function invalidParam(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_request');
    expect((err as GatewayError).message).toContain((err as GatewayError).param ?? '');
    return (err as GatewayError).param;
  }
  throw new Error('expected a GatewayError');
}

describe('toAnthropicRequest: conversation', () => {
  it('hoists system and developer messages, merges same-role turns, maps sampling and limits', () => {
    const body = translate({
      messages: [
        { role: 'system', content: 'You are a terse assistant for Acme Corp.' },
        { role: 'user', content: 'Hi, what can you do?' },
        { role: 'assistant', content: 'I answer questions about Acme products.' },
        { role: 'developer', content: [{ type: 'text', text: 'Never mention competitors.' }] },
        { role: 'user', content: 'Compare the A1 and the A2.' },
        { role: 'user', content: [{ type: 'text', text: 'Keep it under 50 words.' }] },
      ],
      temperature: 1.4,
      top_p: 0.9,
      stop: 'END',
      max_tokens: 300,
      user: 'user-7f3a',
      // Accepted and ignored: no Anthropic counterpart.
      seed: 42,
      logprobs: true,
      top_logprobs: 3,
      frequency_penalty: 0.5,
      presence_penalty: 0.2,
      logit_bias: { '50256': -100 },
      service_tier: 'auto',
      store: true,
      metadata: { team: 'support' },
      n: 1,
    });
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 300,
      system: 'You are a terse assistant for Acme Corp.\n\nNever mention competitors.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi, what can you do?' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'I answer questions about Acme products.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare the A1 and the A2.' },
            { type: 'text', text: 'Keep it under 50 words.' },
          ],
        },
      ],
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.9,
      metadata: { user_id: 'user-7f3a' },
    });
  });

  it('prefers max_completion_tokens, falls back to the default, and keeps stop arrays', () => {
    const base = { messages: [{ role: 'user' as const, content: 'Hi' }] };
    expect(translate({ ...base, max_completion_tokens: 50, max_tokens: 300 }).max_tokens).toBe(50);
    expect(translate({ ...base, max_tokens: null }).max_tokens).toBe(4096);
    const body = translate({ ...base, stop: ['\n\nHuman:', '###'], temperature: 0.3 });
    expect(body.stop_sequences).toEqual(['\n\nHuman:', '###']);
    expect(body.temperature).toBe(0.3);
    expect(body).not.toHaveProperty('system');
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('metadata');
    expect(body).not.toHaveProperty('stream');
  });

  it('leaves sampling parameters out when asked to', () => {
    const body = translate({ messages: [{ role: 'user', content: 'Hi' }], temperature: 0.2, top_p: 0.5 }, { omitSamplingParams: true });
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('top_p');
  });

  it('drops empty text and replays earlier refusals as text', () => {
    const body = translate({
      messages: [
        { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'Tell me a secret.' }] },
        { role: 'assistant', content: null, refusal: "I can't share that." },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'OK, a joke then.' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Tell me a secret.' }] },
      { role: 'assistant', content: [{ type: 'text', text: "I can't share that." }] },
      { role: 'user', content: [{ type: 'text', text: 'OK, a joke then.' }] },
    ]);
  });

  it('rejects a conversation with nothing but system messages', () => {
    expect(invalidParam(() => translate({ messages: [{ role: 'system', content: 'Be nice.' }] }))).toBe('messages');
  });
});

describe('toAnthropicRequest: images', () => {
  it('turns data URLs into base64 sources and http(s) URLs into url sources', () => {
    const body = translate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Which of these two is a cat?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}`, detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg' } },
            { type: 'image_url', image_url: { url: `data:image/jpg;base64,${PNG_1PX}` } },
          ],
        },
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Which of these two is a cat?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } },
          { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg' } },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG_1PX } },
        ],
      },
    ]);
  });

  it.each([
    ['an unsupported image type', `data:image/tiff;base64,${PNG_1PX}`],
    ['a data URL that is not base64', 'data:image/png,%89PNG'],
    ['a non-http URL', 'ftp://example.com/cat.png'],
  ])('rejects %s naming the part', (_what, url) => {
    const param = invalidParam(() =>
      translate({
        messages: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url } }] },
        ],
      }),
    );
    expect(param).toBe('messages[2].content[1].image_url.url');
  });

  it('rejects audio and file parts naming the part', () => {
    expect(
      invalidParam(() =>
        translate({
          messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }],
        }),
      ),
    ).toBe('messages[0].content[0]');
    expect(
      invalidParam(() =>
        translate({
          messages: [
            { role: 'system', content: 'x' },
            { role: 'user', content: [{ type: 'text', text: 'summarise' }, { type: 'file', file: { file_id: 'file-abc' } }] },
          ],
        }),
      ),
    ).toBe('messages[1].content[1]');
  });
});

describe('toAnthropicRequest: prompt cache breakpoints', () => {
  it('maps explicit breakpoints to cache_control and keeps only the last four', () => {
    const mark = { prompt_cache_breakpoint: { mode: 'explicit' as const } };
    const body = translate({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long policy document…', ...mark }] },
        { role: 'user', content: [{ type: 'text', text: 'q1', ...mark }] },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: [{ type: 'text', text: 'q2', ...mark }] },
        { role: 'assistant', content: 'a2' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' }, ...mark }] },
        { role: 'user', content: [{ type: 'text', text: 'q3', ...mark }] },
      ],
    });
    // Five marks in the request; the first (the system prompt) is dropped.
    expect(body.system).toBe('Long policy document…');
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'q1', cache_control: { type: 'ephemeral' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'a1' }] },
      { role: 'user', content: [{ type: 'text', text: 'q2', cache_control: { type: 'ephemeral' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'a2' }] },
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' }, cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'q3', cache_control: { type: 'ephemeral' } },
        ],
      },
    ]);
  });

  it('sends system as blocks when a system part is a breakpoint', () => {
    const body = translate({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Policy', prompt_cache_breakpoint: { mode: 'explicit' } }] },
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(body.system).toEqual([
      { type: 'text', text: 'Policy', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Be brief.' },
    ]);
  });
});

describe('toAnthropicRequest: response_format', () => {
  const toolNames = (body: { tools?: unknown[] }): string[] => (body.tools ?? []).map((t) => (t as Tool).name);
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, email: { type: 'string' } },
    required: ['name', 'email'],
    additionalProperties: false,
  };
  const contact = { type: 'json_schema' as const, json_schema: { name: 'contact', description: 'One contact', schema, strict: true } };
  const messages = [
    { role: 'system' as const, content: 'You extract contacts.' },
    { role: 'user' as const, content: 'Ann, ann@example.com' },
  ];
  const weather: ChatCompletionCreateParams['tools'] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  ];

  it('json_object forces the reserved tool with any object as its input, leaving the system prompt alone', () => {
    const body = translate({ messages, response_format: { type: 'json_object' } });
    expect(body.system).toBe('You extract contacts.');
    expect(body.tools).toEqual([
      { name: JSON_TOOL, description: expect.stringContaining('as a JSON object') as string, input_schema: { type: 'object', additionalProperties: true } },
    ]);
    expect(body.tool_choice).toEqual({ type: 'tool', name: JSON_TOOL, disable_parallel_tool_use: true });
    expect(body).not.toHaveProperty('output_config');
  });

  it('json_schema forces the reserved tool with the schema, named and described in the tool', () => {
    const body = translate({ messages, response_format: contact });
    expect(body.tools).toEqual([{ name: JSON_TOOL, description: expect.stringContaining('(contact: One contact)') as string, input_schema: schema }]);
    expect(body.tool_choice).toMatchObject({ type: 'tool', name: JSON_TOOL });
  });

  it('json_schema uses structured outputs when the provider has them', () => {
    const body = translate({ messages, response_format: contact }, { structuredOutputs: true });
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('tool_choice');
    // json_object has no schema to give: a forced tool, even then.
    const object = translate({ messages, response_format: { type: 'json_object' } }, { structuredOutputs: true });
    expect(object).not.toHaveProperty('output_config');
    expect(object.tool_choice).toMatchObject({ type: 'tool', name: JSON_TOOL });
  });

  it('wraps a schema whose root is not an object, moving its $defs to the root', () => {
    const list = { type: 'array', items: { $ref: '#/$defs/c' }, $defs: { c: schema } };
    const body = translate({ messages, response_format: { type: 'json_schema', json_schema: { name: 'list', schema: list } } });
    expect((body.tools![0] as Tool).input_schema).toEqual({
      type: 'object',
      properties: { value: { type: 'array', items: { $ref: '#/$defs/c' } } },
      required: ['value'],
      additionalProperties: false,
      $defs: { c: schema },
    });
  });

  it("beside the client's tools: added, with tool_choice any, so the model calls a tool or answers", () => {
    const auto = translate({ messages, response_format: contact, tools: weather });
    expect(toolNames(auto)).toEqual(['get_weather', JSON_TOOL]);
    expect(auto.tool_choice).toEqual({ type: 'any' });
    const single = translate({ messages, response_format: contact, tools: weather, parallel_tool_calls: false });
    expect(single.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    // tool_choice none: the client's tools stay listed, only the answer is forced.
    const none = translate({ messages, response_format: contact, tools: weather, tool_choice: 'none' });
    expect(toolNames(none)).toEqual(['get_weather', JSON_TOOL]);
    expect(none.tool_choice).toMatchObject({ type: 'tool', name: JSON_TOOL });
  });

  it('adds nothing when the client demands a tool call (the answer is never text)', () => {
    const cases = [
      ['required', { type: 'any' }],
      [{ type: 'function', function: { name: 'get_weather' } }, { type: 'tool', name: 'get_weather' }],
    ] as const;
    for (const [tool_choice, expected] of cases) {
      const body = translate({ messages, response_format: contact, tools: weather, tool_choice });
      expect(toolNames(body)).toEqual(['get_weather']);
      expect(body.tool_choice).toEqual(expected);
    }
  });

  it("rejects a client tool that takes the reserved name, naming it", () => {
    const clash: ChatCompletionCreateParams['tools'] = [{ type: 'function', function: { name: JSON_TOOL } }];
    expect(invalidParam(() => translate({ messages, response_format: { type: 'json_object' }, tools: clash }))).toBe('tools[0].function.name');
    // Without a JSON format the name is the client's to use.
    expect(toolNames(translate({ messages, tools: clash }))[0]).toBe(JSON_TOOL);
  });

  it('text adds nothing', () => {
    const body = translate({ messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'text' } });
    expect(body).not.toHaveProperty('system');
    expect(body).not.toHaveProperty('tools');
  });
});
