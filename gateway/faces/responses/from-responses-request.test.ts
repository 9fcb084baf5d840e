import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { expectValidAgainstSpec } from '../../../test/helpers/openapi.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { chatRequestSchema } from '../../pipeline/chat-schema.ts';
import { fromResponsesRequest, normalizeInput } from './from-responses-request.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import type { StoredResponse } from './store.ts';
import { toResponse } from './to-response.ts';

const translate = (body: Record<string, unknown>, previous: StoredResponse[] = []) => fromResponsesRequest(parseResponsesRequest(body), previous);

const weatherTool = { type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true };

function answer(message: Partial<ChatCompletion.Choice['message']>, finish: ChatCompletion.Choice['finish_reason']): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason: finish }],
  };
}

/** A stored turn, built the way the route will build it. */
function stored(id: string, previous: string | null, body: Record<string, unknown>, result: ChatCompletion): StoredResponse {
  const request = parseResponsesRequest(body);
  const response = toResponse(result, { id, createdAt: 0, request, previousResponseId: previous });
  return {
    id,
    createdAt: new Date(0),
    previousResponseId: previous,
    model: 'gpt-4o-mini',
    request: body,
    inputItems: normalizeInput(request.input),
    outputItems: response.output,
    response,
    callId: '0198a1b2-c3d4-7e5f-a7b8-c9d0e1f2a3b4',
    apiKeyId: null,
    truncated: false,
    storedBytes: 0,
  };
}

describe('fromResponsesRequest', () => {
  it('translates a string input with instructions, tools and settings (golden)', () => {
    const req = translate({
      model: 'gpt-4o-mini',
      instructions: 'You are a weather bot.',
      input: 'Weather in Paris?',
      tools: [weatherTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true, description: 'A report' }, verbosity: 'low' },
      reasoning: { effort: 'low', summary: 'auto' },
      max_output_tokens: 300,
      temperature: 0.5,
      top_p: 0.9,
      user: 'u-1',
      metadata: { team: 'search' },
      store: true,
      truncation: 'disabled',
    });
    expect(req).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
            strict: true,
          },
        },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: { type: 'object' }, strict: true, description: 'A report' } },
      verbosity: 'low',
      reasoning_effort: 'low',
      max_tokens: 300,
      temperature: 0.5,
      top_p: 0.9,
      user: 'u-1',
      metadata: { team: 'search' },
    });
    expect(chatRequestSchema.safeParse(req).success).toBe(true);
    expectValidAgainstSpec('CreateChatCompletionRequest', req);
  });

  it('translates item input: consecutive function calls merge, outputs become tool messages', () => {
    const req = translate({
      model: 'gpt-4o-mini',
      input: [
        { role: 'developer', content: [{ type: 'input_text', text: 'Rules.' }] },
        { role: 'user', content: [{ type: 'input_text', text: 'Compare these' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBOR', detail: 'high' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking both.', annotations: [] }] },
        { type: 'function_call', call_id: 'call_A', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_B', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'function_call_output', call_id: 'call_A', output: '18C' },
        { type: 'function_call_output', call_id: 'call_B', output: [{ type: 'input_text', text: '24' }, { type: 'input_text', text: 'C' }] },
        { type: 'function_call', call_id: 'call_C', name: 'now', arguments: '' },
      ],
      stream: true,
    });
    expect(req.messages).toEqual([
      { role: 'developer', content: 'Rules.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR', detail: 'high' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Checking both.',
        tool_calls: [
          { id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_B', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_A', content: '18C' },
      { role: 'tool', tool_call_id: 'call_B', content: '24C' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_C', type: 'function', function: { name: 'now', arguments: '' } }] },
    ]);
    expect(req).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(chatRequestSchema.safeParse(req).success).toBe(true);
  });

  it('continues a stored conversation: earlier input and output items first, earlier instructions dropped', () => {
    const turn1 = stored(
      'resp_1',
      null,
      { model: 'gpt-4o-mini', instructions: 'Old instructions.', input: 'Weather in Paris?', tools: [weatherTool] },
      answer({ tool_calls: [{ id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, 'tool_calls'),
    );
    const turn2 = stored(
      'resp_2',
      'resp_1',
      { model: 'gpt-4o-mini', previous_response_id: 'resp_1', input: [{ type: 'function_call_output', call_id: 'call_A', output: '18C' }] },
      answer({ content: 'It is 18C in Paris.' }, 'stop'),
    );
    const req = translate({ model: 'gpt-4o-mini', previous_response_id: 'resp_2', instructions: 'Answer in French.', input: 'And Rome?' }, [turn1, turn2]);
    expect(req.messages).toEqual([
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_A', content: '18C' },
      { role: 'assistant', content: 'It is 18C in Paris.' },
      { role: 'user', content: 'And Rome?' },
    ]);
    // previous_response_id itself is the route's business, not the upstream's.
    expect(req).not.toHaveProperty('previous_response_id');
    expectValidAgainstSpec('CreateChatCompletionRequest', req);
  });

  it('passes the prompt reference through (nulls dropped) and leaves the model to it', () => {
    const req = translate({ prompt: { id: 'support', version: '3', variables: { name: 'Ann' } }, input: 'Hi' });
    expect(req).toEqual({ messages: [{ role: 'user', content: 'Hi' }], prompt: { id: 'support', version: '3', variables: { name: 'Ann' } } });
    expect(translate({ model: 'm', prompt: { id: 'support', version: null, variables: null } }).prompt).toEqual({ id: 'support' });
  });

  it('maps tool_choice objects; sends none of the tool settings without tools', () => {
    expect(translate({ ...{ model: 'm', input: 'x' }, tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' } }).tool_choice).toEqual({
      type: 'function',
      function: { name: 'get_weather' },
    });
    expect(
      translate({ model: 'm', input: 'x', tools: [weatherTool], tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'get_weather' }] } })
        .tool_choice,
    ).toEqual({ type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_weather' } }] } });
    const bare = translate({ model: 'm', input: 'x', tool_choice: 'required', parallel_tool_calls: true, text: { format: { type: 'json_object' } } });
    expect(bare).not.toHaveProperty('tool_choice');
    expect(bare).not.toHaveProperty('parallel_tool_calls');
    expect(bare.response_format).toEqual({ type: 'json_object' });
  });

  it('keeps cache breakpoints on text parts (system parts stay parts then)', () => {
    const req = translate({
      model: 'm',
      input: [
        { role: 'system', content: [{ type: 'input_text', text: 'Long policy', prompt_cache_breakpoint: { mode: 'explicit' } }] },
        { role: 'user', content: [{ type: 'input_text', text: 'Q', prompt_cache_breakpoint: { mode: 'explicit' } }] },
      ],
    });
    expect(req.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Long policy', prompt_cache_breakpoint: { mode: 'explicit' } }] },
      { role: 'user', content: [{ type: 'text', text: 'Q', prompt_cache_breakpoint: { mode: 'explicit' } }] },
    ]);
  });

  it('rejects images outside user messages, naming the part', () => {
    try {
      translate({ model: 'm', input: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'input_image', image_url: 'https://x.test/a.png' }] }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe('input[1].content[0].type');
    }
  });
});

describe('normalizeInput', () => {
  it('a string is one user message item; no input is no items', () => {
    expect(normalizeInput('Hi')).toEqual([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }]);
    expect(normalizeInput(undefined)).toEqual([]);
  });
});
