import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { expectValidAgainstSpec } from '../../../test/helpers/openapi.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { ChunkAssembler } from '../../streaming/chunk-assembler.ts';
import { sseFetch } from '../sdk-fetch.ts';
import { createResponseEventWriter } from './response-event-stream.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import { toResponse, type ResponseContext, type ResponseObject } from './to-response.ts';

const RESP = 'resp_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4';
const BASE = '0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4';

const ctx = (body: Record<string, unknown> = {}): ResponseContext => ({
  id: RESP,
  createdAt: 1_767_225_600,
  request: parseResponsesRequest({ model: 'gpt-4o-mini', input: 'Hi', stream: true, ...body }),
  previousResponseId: null,
});

function chunk(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null, index = 0): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index, delta, logprobs: null, finish_reason: finish }] };
}
function usageChunk(prompt: number, completion: number): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  };
}

function write(chunks: ChatCompletionChunk[], context = ctx()) {
  const writer = createResponseEventWriter(context);
  const frames = [...chunks.flatMap((c) => writer.push(c)), ...writer.end(undefined, 1_767_225_601)];
  return { frames, writer };
}

/** Parses frames, checking framing, event/type agreement, sequence numbers and the spec. */
function events(frames: string[]): Array<Record<string, unknown> & { type: string }> {
  return frames.map((f, i) => {
    const m = /^event: (\S+)\ndata: (.*)\n\n$/s.exec(f);
    if (!m) throw new Error(`bad frame ${JSON.stringify(f)}`);
    const data = JSON.parse(m[2]!) as Record<string, unknown> & { type: string };
    expect(data.type).toBe(m[1]);
    expect(data['sequence_number']).toBe(i);
    expectValidAgainstSpec('ResponseStreamEvent', data);
    return data;
  });
}

/** What the non-stream path returns for the same chunks. */
function nonStream(chunks: ChatCompletionChunk[], context = ctx()): ResponseObject {
  const assembler = new ChunkAssembler();
  chunks.forEach((c) => assembler.add(c));
  return toResponse(assembler.toCompletion(), { ...context, completedAt: 1_767_225_601 });
}

/** The SDK adds conveniences (`output_text`, `output_parsed`, `parsed`, `parsed_arguments`); strip them to compare with the wire form. */
function wireForm(res: Record<string, unknown>): unknown {
  const { output_text: _t, output_parsed: _p, ...rest } = res;
  const output = (rest['output'] as Array<Record<string, unknown>>).map((item) => {
    const { parsed_arguments: _a, ...i } = item;
    if (Array.isArray(i['content'])) i['content'] = (i['content'] as Array<Record<string, unknown>>).map(({ parsed: _x, ...c }) => c);
    return i;
  });
  return { ...rest, output };
}

const sdk = (frames: string[]) =>
  new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.invalid/v1', maxRetries: 0, fetch: sseFetch(frames) }).responses.stream({ model: 'gpt-4o-mini', input: 'Hi' });

const textChunks = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo ✓' }), chunk({}, 'stop'), usageChunk(9, 3)];

describe('createResponseEventWriter', () => {
  it('writes the Responses event sequence for a text answer (golden, every event valid against the spec)', () => {
    const { frames } = write(textChunks);
    const evs = events(frames);
    const msg = `msg_${BASE}`;
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(evs[0]).toMatchObject({ response: { id: RESP, status: 'in_progress', output: [], completed_at: null } });
    expect(evs.slice(2, 9)).toEqual([
      { type: 'response.output_item.added', output_index: 0, item: { id: msg, type: 'message', status: 'in_progress', role: 'assistant', content: [] }, sequence_number: 2 },
      {
        type: 'response.content_part.added',
        item_id: msg,
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
        sequence_number: 3,
      },
      { type: 'response.output_text.delta', item_id: msg, output_index: 0, content_index: 0, delta: 'Hel', logprobs: [], sequence_number: 4 },
      { type: 'response.output_text.delta', item_id: msg, output_index: 0, content_index: 0, delta: 'lo ✓', logprobs: [], sequence_number: 5 },
      { type: 'response.output_text.done', item_id: msg, output_index: 0, content_index: 0, text: 'Hello ✓', logprobs: [], sequence_number: 6 },
      {
        type: 'response.content_part.done',
        item_id: msg,
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: 'Hello ✓', annotations: [], logprobs: [] },
        sequence_number: 7,
      },
      {
        type: 'response.output_item.done',
        output_index: 0,
        item: { id: msg, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello ✓', annotations: [], logprobs: [] }] },
        sequence_number: 8,
      },
    ]);
    expect(evs[9]!['response']).toEqual(nonStream(textChunks));
  });

  it("the SDK's finalResponse() equals the non-stream translation", async () => {
    const { frames, writer } = write(textChunks);
    const stream = sdk(frames);
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Hello ✓');
    expect(deltas).toEqual(['Hel', 'lo ✓']);
    expect(wireForm(final as unknown as Record<string, unknown>)).toEqual(nonStream(textChunks));
    expect(writer.response()).toEqual(nonStream(textChunks));
  });

  it('streams function calls as function_call items with argument deltas', async () => {
    const context = ctx({ tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }] });
    const chunks = [
      chunk({ role: 'assistant', content: 'Checking.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_B', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk(40, 25),
    ];
    const { frames } = write(chunks, context);
    const evs = events(frames);
    expect(evs.map((e) => `${e.type}${'output_index' in e ? `@${String(e['output_index'])}` : ''}`)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added@0',
      'response.content_part.added@0',
      'response.output_text.delta@0',
      'response.output_text.done@0',
      'response.content_part.done@0',
      'response.output_item.done@0',
      'response.output_item.added@1',
      'response.function_call_arguments.delta@1',
      'response.function_call_arguments.delta@1',
      'response.function_call_arguments.done@1',
      'response.output_item.done@1',
      'response.output_item.added@2',
      'response.function_call_arguments.delta@2',
      'response.function_call_arguments.done@2',
      'response.output_item.done@2',
      'response.completed',
    ]);
    expect(evs[8]).toMatchObject({ item: { id: `fc_${BASE}`, type: 'function_call', status: 'in_progress', call_id: 'call_A', name: 'get_weather', arguments: '' } });
    expect(evs[11]).toMatchObject({ item_id: `fc_${BASE}`, name: 'get_weather', arguments: '{"city":"Paris"}' });
    const final = await sdk(frames).finalResponse();
    expect(wireForm(final as unknown as Record<string, unknown>)).toEqual(nonStream(chunks, context));
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call', 'function_call']);
  });

  it('a length stop ends with response.incomplete', async () => {
    const chunks = [chunk({ content: 'Once upon' }), chunk({}, 'length'), usageChunk(5, 2)];
    const { frames } = write(chunks, ctx({ max_output_tokens: 2 }));
    const evs = events(frames);
    expect(evs.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
    expect(evs.at(-2)).toMatchObject({ type: 'response.output_item.done', item: { status: 'incomplete' } });
    const final = await sdk(frames).finalResponse();
    expect(wireForm(final as unknown as Record<string, unknown>)).toEqual(nonStream(chunks, ctx({ max_output_tokens: 2 })));
  });

  it('streams a refusal as a refusal content part', () => {
    const chunks = [chunk({ refusal: "I can't" }), chunk({ refusal: ' help.' }), chunk({}, 'stop')];
    const { frames } = write(chunks);
    const evs = events(frames);
    expect(evs.map((e) => e.type).slice(3, 7)).toEqual(['response.content_part.added', 'response.refusal.delta', 'response.refusal.delta', 'response.refusal.done']);
    expect(evs.at(-1)!['response']).toEqual(nonStream(chunks));
  });

  it('uses the answering model when a prompt chose it; start() can be sent before the first chunk', () => {
    const context = { ...ctx(), request: parseResponsesRequest({ prompt: { id: 'support' }, input: 'x', stream: true }) };
    const writer = createResponseEventWriter(context);
    const first = writer.start();
    expect(events(first).map((e) => e.type)).toEqual(['response.created', 'response.in_progress']);
    expect(writer.start()).toEqual([]);
    writer.push(chunk({ content: 'ok' }, 'stop'));
    writer.end(null);
    expect(writer.response().model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('a mid-stream failure is response.failed then an error event; the SDK rejects', async () => {
    const writer = createResponseEventWriter(ctx());
    const frames = [...writer.push(chunk({ content: 'partial' })), ...writer.error(new GatewayError('upstream_rate_limited', 'provider openai is rate limited'))];
    const evs = events(frames);
    expect(evs.slice(-2)).toMatchObject([
      {
        type: 'response.failed',
        response: {
          status: 'failed',
          error: { code: 'rate_limit_exceeded', message: 'provider openai is rate limited' },
          output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'partial' }] }],
        },
      },
      { type: 'error', code: 'upstream_rate_limited', message: 'provider openai is rate limited', param: null },
    ]);
    expect(writer.response().status).toBe('failed');
    expect(writer.push(chunk({ content: 'late' }))).toEqual([]);
    expect(writer.end()).toEqual([]);
    await expect(sdk(frames).finalResponse()).rejects.toMatchObject({ type: 'error', code: 'upstream_rate_limited' });
    // Internal errors keep their message to the log.
    const hidden = createResponseEventWriter(ctx()).error(new GatewayError('internal_error', 'db password is hunter2'));
    expect(hidden.join('')).not.toMatch(/hunter2/);
  });

  it('translates only choice 0 and fails clearly on interleaved tool calls', () => {
    const { frames } = write([chunk({ content: 'other' }, 'stop', 1)]);
    expect(events(frames).map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
    const writer = createResponseEventWriter(ctx());
    writer.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{' } }] }));
    writer.push(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '{' } }] }));
    expect(() => writer.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }))).toThrow(GatewayError);
  });
});
