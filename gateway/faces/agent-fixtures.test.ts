import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { chatRequestSchema } from '../pipeline/chat-schema.ts';
import { validate } from '../pipeline/validate.ts';
import { toAnthropicRequest } from '../providers/anthropic/to-anthropic-request.ts';
import { createResponsesStreamTranslator } from '../providers/openai/responses-native.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { createAnthropicEventWriter } from './anthropic/anthropic-event-stream.ts';
import { translateMessagesRequest } from './anthropic/from-anthropic-request.ts';
import { parseAnthropicRequest } from './anthropic/messages-schema.ts';
import { toAnthropicMessage } from './anthropic/to-anthropic-message.ts';
import { translateResponsesRequest } from './responses/from-responses-request.ts';
import { createResponseEventWriter } from './responses/response-event-stream.ts';
import { parseResponsesRequest } from './responses/responses-schema.ts';
import { toResponse } from './responses/to-response.ts';

/**
 * Issue 22: the request bodies the real agents sent (recorded by test/agents/record-fixtures.ts,
 * Claude Code 2.1.197 and Codex CLI 0.171.0), translated for a chat upstream, and answers with
 * parallel tool calls and long streamed arguments translated back.
 */
interface Recorded {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}
const fixture = (name: string): Recorded[] => JSON.parse(readFileSync(new URL(`../../test/fixtures/agents/${name}.json`, import.meta.url), 'utf8')) as Recorded[];

/** A chat stream that calls `calls` one after another, each argument string in 5-character pieces, then usage. */
function toolCallStream(calls: Array<{ id: string; name: string; args: string }>): ChatCompletionChunk[] {
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
    id: 'chatcmpl-fixture',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const out: ChatCompletionChunk[] = [chunk({ role: 'assistant', content: null })];
  calls.forEach((c, index) => {
    out.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const piece of c.args.match(/[\s\S]{1,5}/g) ?? []) out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  out.push(chunk({}, 'tool_calls'));
  out.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 } });
  return out;
}

const dataOf = (frame: string) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, unknown> & { type: string };
const longCommand = `grep -rn "TODO" src/ | head -n ${'9'.repeat(3)} && echo '${'é→x '.repeat(200)}'`;

describe.each(['claude-code.claude', 'claude-code.other-model'])('Claude Code fixture %s on the messages face', (name) => {
  const requests = fixture(name);

  it('recorded the Claude Code request shape', () => {
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const r of requests) {
      expect(r.path).toBe('/v1/messages?beta=true');
      expect(r.headers['anthropic-beta']).toContain('claude-code-20250219');
      expect(Object.keys(r.body)).toEqual(expect.arrayContaining(['thinking', 'context_management', 'output_config', 'metadata', 'system', 'tools']));
    }
  });

  it.each([0, 1])('translates request %i to a valid chat request, and on to Anthropic again', (i) => {
    const req = parseAnthropicRequest(requests[i]!.body);
    const { chat, dropped } = translateMessagesRequest(req);
    expect(dropped).toEqual([]);
    expect(() => validate(chatRequestSchema, chat)).not.toThrow();
    expect(chat.tools?.map((t) => (t.type === 'function' ? t.function.name : ''))).toEqual((req.tools ?? []).map((t) => t.name));
    expect(chat.messages[0]!.role).toBe('system');
    for (const key of ['thinking', 'context_management', 'output_config', 'metadata']) expect(chat).not.toHaveProperty(key);
    const back = toAnthropicRequest(chat, { model: 'claude-haiku-4-5', defaultMaxTokens: 1024 });
    expect(back.messages.map((m) => m.role)).toEqual(req.messages.map((m) => m.role));
    if (i === 1) {
      // The turn after the tool call: the assistant's tool_use and the user's tool_result.
      const calls = chat.messages.find((m) => m.role === 'assistant' && 'tool_calls' in m && m.tool_calls);
      const result = chat.messages.find((m) => m.role === 'tool');
      expect(calls).toBeDefined();
      expect(JSON.stringify(result?.content)).toContain('hello from the fixture file');
    }
  });

  it('moves an image out of a tool result into a user message after it, with a system item kept in place', () => {
    const body = structuredClone(requests[1]!.body) as { messages: Array<{ role: string; content: unknown }> };
    const last = body.messages.at(-1)!.content as Array<Record<string, unknown>>;
    const result = last.find((b) => b.type === 'tool_result')!;
    result.content = [{ type: 'text', text: 'a screenshot:' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }];
    body.messages.splice(1, 0, { role: 'system', content: 'Plan mode is on.' });
    const { chat } = translateMessagesRequest(parseAnthropicRequest(body));
    const roles = chat.messages.map((m) => m.role);
    expect(roles.slice(0, 3)).toEqual(['system', 'user', 'system']);
    const tool = chat.messages.findIndex((m) => m.role === 'tool' && JSON.stringify(m.content).includes('[image]'));
    expect(tool).toBeGreaterThan(0);
    const after = chat.messages.slice(tool + 1).find((m) => m.role === 'user');
    expect(JSON.stringify(after?.content)).toContain('data:image/png;base64,iVBORw0KGgo=');
  });

  it('streams parallel tool calls with long arguments back as Anthropic events, and the complete answer agrees', () => {
    const req = parseAnthropicRequest(requests[0]!.body);
    const [first, second] = (req.tools ?? []).map((t) => t.name);
    const calls = [
      { id: 'call_a', name: first!, args: JSON.stringify({ command: longCommand, description: 'search' }) },
      { id: 'call_b', name: second ?? first!, args: JSON.stringify({ file_path: '/tmp/x/hello.txt' }) },
    ];
    const chunks = toolCallStream(calls);
    const writer = createAnthropicEventWriter({ id: 'msg_fixture', model: req.model });
    const frames = [...chunks.flatMap((c) => writer.push(c)), ...writer.end(null)];
    const events = frames.map(dataOf);
    const blocks = new Map<number, { name: string; json: string }>();
    for (const e of events) {
      if (e.type === 'content_block_start') blocks.set(e.index as number, { name: (e.content_block as { name: string }).name, json: '' });
      if (e.type === 'content_block_delta') blocks.get(e.index as number)!.json += (e.delta as { partial_json: string }).partial_json;
    }
    expect([...blocks.values()].map((b) => [b.name, JSON.parse(b.json)])).toEqual(calls.map((c) => [c.name, JSON.parse(c.args)]));
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 200 } });
    const assembler = new ChunkAssembler();
    chunks.forEach((c) => assembler.add(c));
    const message = toAnthropicMessage(assembler.toCompletion(), { model: req.model });
    expect(message.content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : b.type))).toEqual(calls.map((c) => [c.name, JSON.parse(c.args)]));
  });
});

describe('Codex CLI fixture on the responses face', () => {
  const requests = fixture('codex');

  it('recorded the Codex request shape', () => {
    expect(requests.length).toBeGreaterThanOrEqual(2);
    const body = requests[0]!.body;
    expect(body).toMatchObject({ store: false, include: ['reasoning.encrypted_content'], reasoning: { summary: 'auto' }, stream: true });
    expect(body).toHaveProperty('prompt_cache_key');
    expect(body).toHaveProperty('client_metadata');
    expect((body.tools as Array<{ type: string }>).map((t) => t.type)).toEqual(expect.arrayContaining(['function', 'namespace', 'web_search']));
  });

  it.each([0, 1])('translates request %i to a valid chat request', (i) => {
    const req = parseResponsesRequest(requests[i]!.body);
    const { chat, dropped, names } = translateResponsesRequest(req, []);
    expect(() => validate(chatRequestSchema, chat)).not.toThrow();
    expect(dropped).toEqual(['web_search']);
    const chatNames = (chat.tools ?? []).map((t) => (t.type === 'function' ? t.function.name : ''));
    expect(chatNames).toContain('exec_command');
    expect(chatNames).toContain('multi_agent_v1__spawn_agent');
    expect(names.get('multi_agent_v1__spawn_agent')).toEqual({ name: 'spawn_agent', namespace: 'multi_agent_v1', custom: false });
    expect(chat.messages.slice(0, 2).map((m) => m.role)).toEqual(['developer', 'developer']);
    if (i === 1) {
      const roles = chat.messages.map((m) => m.role);
      expect(roles.slice(-2)).toEqual(['assistant', 'tool']);
      expect(chat.messages.at(-1)!.content).toContain('hello from the fixture file');
    }
  });

  it('streams parallel calls (one namespaced, long arguments) back as Responses events, mapped to the client names', () => {
    const req = parseResponsesRequest(requests[0]!.body);
    const { names } = translateResponsesRequest(req, []);
    const ctx = { id: 'resp_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4', createdAt: 1, request: req, previousResponseId: null, tools: names };
    const calls = [
      { id: 'call_1', name: 'exec_command', args: JSON.stringify({ cmd: longCommand }) },
      { id: 'call_2', name: 'multi_agent_v1__spawn_agent', args: JSON.stringify({ message: 'x'.repeat(500) }) },
    ];
    const chunks = toolCallStream(calls);
    const writer = createResponseEventWriter(ctx);
    const frames = [...chunks.flatMap((c) => writer.push(c)), ...writer.end(null, 2)];
    const events = frames.map(dataOf);
    const final = events.at(-1)!;
    expect(final.type).toBe('response.completed');
    const output = (final.response as { output: Array<Record<string, unknown>> }).output;
    expect(output.map((o) => [o.type, o.name, o.namespace, o.arguments])).toEqual([
      ['function_call', 'exec_command', undefined, calls[0]!.args],
      ['function_call', 'spawn_agent', 'multi_agent_v1', calls[1]!.args],
    ]);
    const assembler = new ChunkAssembler();
    chunks.forEach((c) => assembler.add(c));
    expect(toResponse(assembler.toCompletion(), ctx).output).toEqual(output);

    // The same events, as an OpenAI upstream would send them to a pass-through: read back as chat chunks for the record.
    const reader = createResponsesStreamTranslator({ id: 'c', created: 1, model: 'gpt-4o-mini', provider: 'oai', scrub: (s) => s });
    const back = new ChunkAssembler();
    for (const f of frames) for (const c of reader.push(f.slice(f.indexOf('data: ') + 6, -2))) back.add(c);
    expect(reader.finished()).toBe(true);
    expect(reader.usage()).toMatchObject({ inputTokens: 1000, outputTokens: 200 });
    const completion = back.toCompletion();
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]!.message.tool_calls?.map((t) => (t.type === 'function' ? [t.function.name, t.function.arguments] : []))).toEqual(
      calls.map((c) => [c.name, c.args]),
    );
  });

  it('translates a tool result that carries an image', () => {
    const body = structuredClone(requests[1]!.body) as { input: Array<Record<string, unknown>> };
    const output = body.input.find((i) => i.type === 'function_call_output')!;
    output.output = [{ type: 'input_text', text: 'screenshot: ' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }];
    const { chat } = translateResponsesRequest(parseResponsesRequest(body), []);
    expect(chat.messages.at(-2)).toMatchObject({ role: 'tool', content: 'screenshot: [image]' });
    expect(chat.messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] });
  });
});
