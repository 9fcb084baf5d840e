import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { expectValidAgainstSpec } from '../../../test/helpers/openapi.ts';
import { jsonFetch } from '../sdk-fetch.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import { newResponseId, outputItemId, toResponse, type ResponseContext } from './to-response.ts';

const RESP = 'resp_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4';

function completion(message: Partial<ChatCompletion.Choice['message']>, finish: ChatCompletion.Choice['finish_reason'] = 'stop'): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_767_225_600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason: finish }],
    usage: {
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 64 },
      completion_tokens_details: { reasoning_tokens: 8 },
    },
  };
}

const ctx = (body: Record<string, unknown> = {}, previousResponseId: string | null = null): ResponseContext => ({
  id: RESP,
  createdAt: 1_767_225_600,
  completedAt: 1_767_225_602,
  request: parseResponsesRequest({ model: 'gpt-4o-mini', input: 'Hi', ...body }),
  previousResponseId,
});

describe('toResponse', () => {
  it('translates a text answer and echoes the defaults (golden, valid against the spec)', () => {
    const res = toResponse(completion({ content: 'Hello!' }), ctx());
    expect(res).toEqual({
      id: RESP,
      object: 'response',
      created_at: 1_767_225_600,
      status: 'completed',
      completed_at: 1_767_225_602,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: 'gpt-4o-mini',
      output: [
        {
          id: 'msg_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: null,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: null,
      truncation: 'disabled',
      metadata: {},
      usage: {
        input_tokens: 120,
        input_tokens_details: { cached_tokens: 64, cache_write_tokens: 0 },
        output_tokens: 30,
        output_tokens_details: { reasoning_tokens: 8 },
        total_tokens: 150,
      },
    });
    expectValidAgainstSpec('Response', res);
  });

  it('translates tool calls into function_call items and echoes the request settings', () => {
    const body = {
      instructions: 'Be terse.',
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      temperature: 0.3,
      top_p: 0.8,
      max_output_tokens: 500,
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
      metadata: { team: 'search' },
      store: false,
      user: 'u-1',
      reasoning: { effort: 'low' },
      prompt: { id: 'support', version: '3', variables: { name: 'Ann' } },
    };
    const res = toResponse(
      completion(
        {
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_B', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        'tool_calls',
      ),
      ctx(body, 'resp_prev'),
    );
    expect(res.output).toEqual([
      {
        id: 'msg_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Let me check.', annotations: [], logprobs: [] }],
      },
      { id: 'fc_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4', type: 'function_call', status: 'completed', call_id: 'call_A', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'fc_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4_1', type: 'function_call', status: 'completed', call_id: 'call_B', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(res).toMatchObject({
      instructions: 'Be terse.',
      previous_response_id: 'resp_prev',
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      temperature: 0.3,
      top_p: 0.8,
      max_output_tokens: 500,
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
      metadata: { team: 'search' },
      store: false,
      user: 'u-1',
      reasoning: { effort: 'low', summary: null },
      prompt: { id: 'support', version: '3', variables: { name: 'Ann' } },
    });
    expectValidAgainstSpec('Response', res);
  });

  it('a length stop is incomplete (max_output_tokens), the cut-off item too', () => {
    const res = toResponse(completion({ content: 'Once upon a' }, 'length'), ctx({ max_output_tokens: 3 }));
    expect(res).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null });
    expect(res.output[0]).toMatchObject({ status: 'incomplete' });
    expectValidAgainstSpec('Response', res);
  });

  it('a refusal is a refusal content part; an empty answer has no items; a prompt may pick the model', () => {
    const refused = toResponse(completion({ refusal: "I can't help with that." }, 'stop'), ctx());
    expect(refused.output).toEqual([
      { id: 'msg_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: "I can't help with that." }] },
    ]);
    expectValidAgainstSpec('Response', refused);

    const c = completion({ content: '' });
    delete c.usage;
    const empty = toResponse(c, { ...ctx(), request: parseResponsesRequest({ prompt: { id: 'support' }, input: 'x' }) });
    expect(empty.output).toEqual([]);
    expect(empty.model).toBe('gpt-4o-mini-2024-07-18');
    expect(empty).not.toHaveProperty('usage');
    expect(empty.prompt).toEqual({ id: 'support', version: null });
    expectValidAgainstSpec('Response', empty);
  });

  it('the openai SDK reads it (output_text is computed by the SDK)', async () => {
    const res = toResponse(completion({ content: 'Hello!' }), ctx());
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.invalid/v1', maxRetries: 0, fetch: jsonFetch(res) });
    const got = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    expect(got.output_text).toBe('Hello!');
    expect(got.id).toBe(RESP);
  });
});

describe('ids', () => {
  it('response ids are resp_ + 32 hex, time-ordered; item ids derive from them', () => {
    const a = newResponseId();
    const b = newResponseId();
    expect(a).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(a < b).toBe(true);
    expect(outputItemId('resp_abc', 'msg', 0)).toBe('msg_abc');
    expect(outputItemId('resp_abc', 'fc', 2)).toBe('fc_abc_2');
    expect(outputItemId('other', 'fc', 0)).toBe('fc_other');
  });
});
