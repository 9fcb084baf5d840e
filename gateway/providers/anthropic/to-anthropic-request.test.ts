import { describe, expect, it } from 'vitest';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { toAnthropicRequest } from './to-anthropic-request.ts';

const opts = { model: 'claude-sonnet-4-5', defaultMaxTokens: 4096 };
const PNG_1PX =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function translate(req: Omit<ChatCompletionCreateParams, 'model'>, o: Partial<typeof opts> & { omitSamplingParams?: boolean } = {}) {
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
  it('json_object appends a JSON-only instruction to the system prompt', () => {
    const body = translate({
      messages: [
        { role: 'system', content: 'You extract contacts.' },
        { role: 'user', content: 'Ann, ann@example.com' },
      ],
      response_format: { type: 'json_object' },
    });
    expect(body.system).toBe(
      'You extract contacts.\n\nRespond with a single valid JSON object and nothing else: ' +
        'no text before or after it and no Markdown code fences.',
    );
  });

  it('json_schema puts the schema in the instruction', () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, email: { type: 'string' } },
      required: ['name', 'email'],
      additionalProperties: false,
    };
    const body = translate({
      messages: [{ role: 'user', content: 'Ann, ann@example.com' }],
      response_format: { type: 'json_schema', json_schema: { name: 'contact', description: 'One contact', schema, strict: true } },
    });
    expect(body.system).toBe(
      'Respond with a single valid JSON object (contact: One contact) that conforms to this JSON Schema, ' +
        'and nothing else: no text before or after it and no Markdown code fences.\n\n' +
        JSON.stringify(schema),
    );
  });

  it('text adds nothing', () => {
    const body = translate({ messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'text' } });
    expect(body).not.toHaveProperty('system');
  });
});
