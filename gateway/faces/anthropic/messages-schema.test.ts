import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error.ts';
import { parseAnthropicRequest } from './messages-schema.ts';

const base = { model: 'claude-haiku-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] };

function rejection(body: unknown): GatewayError {
  try {
    parseAnthropicRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_request');
    return err as GatewayError;
  }
  throw new Error('expected a rejection');
}

const withContent = (content: unknown[]) => ({ ...base, messages: [{ role: 'user', content }] });

describe('parseAnthropicRequest', () => {
  it('accepts a minimal request and keeps unknown fields (loose)', () => {
    const parsed = parseAnthropicRequest({ ...base, service_tier: 'auto', future_field: { x: 1 } });
    expect(parsed).toMatchObject({ model: 'claude-haiku-4-5', future_field: { x: 1 } });
  });

  it('accepts every translatable block type', () => {
    expect(() =>
      parseAnthropicRequest({
        ...base,
        system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Spec' },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain' } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 'sig' },
              { type: 'redacted_thinking', data: 'xx' },
              { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }], is_error: true }] },
        ],
        tools: [{ name: 'f', input_schema: { type: 'object' } }, { type: 'custom', name: 'g', input_schema: { type: 'object' } }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
        thinking: { type: 'enabled', budget_tokens: 1024 },
        top_k: 5,
      }),
    ).not.toThrow();
  });

  it.each([
    ['max_tokens missing', { model: 'm', messages: base.messages }, 'max_tokens', /max_tokens/],
    ['model missing', { max_tokens: 5, messages: base.messages }, 'model', /model/],
    ['no messages', { ...base, messages: [] }, 'messages', /messages/],
    ['a bad role', { ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role', /role/],
    ['temperature above 1', { ...base, temperature: 1.5 }, 'temperature', /temperature/],
    ['an unknown block type', withContent([{ type: 'audio', data: 'x' }]), 'messages[0].content[0].type', /'audio' is not supported/],
    ['a search_result block', withContent([{ type: 'search_result', source: 'x', title: 't', content: [] }]), 'messages[0].content[0].type', /search_result/],
    [
      'an image from the Files API',
      withContent([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }]),
      'messages[0].content[0].source.type',
      /Files API/,
    ],
    [
      'an image type Anthropic does not take',
      withContent([{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'Qk0=' } }]),
      'messages[0].content[0].source.media_type',
      /media_type/,
    ],
    [
      'a PDF by URL',
      withContent([{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }]),
      'messages[0].content[0].source.type',
      /base64/,
    ],
    [
      'a document inside a tool result',
      withContent([{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }]),
      'messages[0].content[0].content[0].type',
      /'document' is not supported/,
    ],
    ['a tool_use without input', { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f' }] }] }, 'messages[0].content[0].input', /input/],
    ['a tool without input_schema', { ...base, tools: [{ name: 'f' }] }, 'tools[0].input_schema', /input_schema/],
    ['tool_choice tool without a name', { ...base, tool_choice: { type: 'tool' } }, 'tool_choice.name', /name/],
    ['an unknown tool_choice', { ...base, tool_choice: { type: 'required' } }, 'tool_choice.type', /'required' is not supported/],
    ['stop_sequences not strings', { ...base, stop_sequences: [1] }, 'stop_sequences[0]', /stop_sequences/],
  ])('rejects %s, naming the field', (_what, body, param, message) => {
    const err = rejection(body);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });
});
