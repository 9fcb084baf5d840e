import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { ChunkAssembler } from '../../streaming/chunk-assembler.ts';
import { translateResponsesRequest } from './from-responses-request.ts';
import { createResponseEventWriter } from './response-event-stream.ts';
import { parseResponsesRequest } from './responses-schema.ts';
import { toResponse, type ResponseContext } from './to-response.ts';
import { flatName } from './tool-plan.ts';

/** Issue 22: the tools Codex CLI sends, translated for a chat-completions upstream and back. */
const RESP = 'resp_0198a1b2c3d4e5f6a7b8c9d0e1f2a3b4';
const tools = [
  { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } }, strict: false },
  {
    type: 'namespace',
    name: 'multi_agent_v1',
    description: 'Sub-agents.',
    tools: [{ type: 'function', name: 'spawn_agent', description: 'Spawn one.', parameters: { type: 'object', properties: {} } }],
  },
  { type: 'custom', name: 'apply_patch', description: 'Apply a patch.', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
  { type: 'web_search', external_web_access: false },
];
const body = { model: 'up/gpt-4o-mini', input: 'go', tools, tool_choice: 'auto', parallel_tool_calls: true, stream: true };
const translate = (b: Record<string, unknown>) => translateResponsesRequest(parseResponsesRequest(b), []);

function chunk(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

describe('Responses tools for a chat upstream', () => {
  it('flattens namespaces, turns custom tools into one-string functions and drops hosted tools', () => {
    const { chat, dropped, names } = translate(body);
    const fns = (chat.tools ?? []).map((t) => (t.type === 'function' ? t.function : null));
    expect(fns.map((f) => f?.name)).toEqual(['exec_command', 'multi_agent_v1__spawn_agent', 'apply_patch']);
    expect(fns[2]?.parameters).toEqual({
      type: 'object',
      properties: { input: { type: 'string', description: 'The raw input for the tool.' } },
      required: ['input'],
      additionalProperties: false,
    });
    expect(fns[2]?.description).toContain('start: "x"');
    expect(dropped).toEqual(['web_search']);
    expect(names.get('multi_agent_v1__spawn_agent')).toEqual({ name: 'spawn_agent', namespace: 'multi_agent_v1', custom: false });
    expect(names.get('apply_patch')?.custom).toBe(true);
    expect(chat).not.toHaveProperty('include');
    expect(chat).not.toHaveProperty('client_metadata');
  });

  it('accepts the rest of what Codex sends: reasoning summary, include, store, prompt_cache_key, client_metadata', () => {
    const { chat } = translate({
      ...body,
      reasoning: { summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      store: false,
      prompt_cache_key: 'thread-1',
      client_metadata: { session_id: 's' },
    });
    expect(chat.prompt_cache_key).toBe('thread-1');
    expect(chat.reasoning_effort).toBeUndefined();
  });

  it('refuses a tool_choice that forces a hosted tool', () => {
    let err: unknown;
    try {
      translate({ ...body, tool_choice: { type: 'web_search' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).param).toBe('tool_choice.type');
    expect((err as GatewayError).message).toMatch(/hosted tool.*refused/);
  });

  it('keeps flattened names valid chat names', () => {
    expect(flatName('f', undefined)).toBe('f');
    const long = flatName('a'.repeat(40), 'mcp.server.with.dots');
    expect(long).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(flatName('a'.repeat(40), 'mcp.server.with.dots')).toBe(long);
  });

  it('translates history: namespaced and custom calls, their outputs, images in tool results, web_search_call', () => {
    const { chat } = translate({
      ...body,
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] },
        { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } },
        { type: 'function_call', call_id: 'c1', name: 'spawn_agent', namespace: 'multi_agent_v1', arguments: '{}' },
        { type: 'custom_tool_call', call_id: 'c2', name: 'apply_patch', input: '*** Begin Patch' },
        { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'see: ' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBO' }] },
        { type: 'custom_tool_call_output', call_id: 'c2', output: 'Done!' },
        { type: 'message', role: 'user', content: 'next' },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'multi_agent_v1__spawn_agent', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'see: [image]' },
      { role: 'tool', tool_call_id: 'c2', content: 'Done!' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } }] },
      { role: 'user', content: 'next' },
    ]);
  });
});

describe('tool calls back to the Responses client', () => {
  const context = (): ResponseContext => {
    const req = parseResponsesRequest(body);
    return { id: RESP, createdAt: 1, request: req, previousResponseId: null, tools: translateResponsesRequest(req, []).names };
  };
  // Two parallel calls, the custom one with its arguments in many small pieces.
  const patch = '*** Begin Patch\n*** Add File: a.txt\n+' + 'x'.repeat(300) + '\n*** End Patch';
  const args = JSON.stringify({ input: patch });
  const pieces = args.match(/.{1,7}/gs) ?? [];
  const chunks: ChatCompletionChunk[] = [
    chunk({ role: 'assistant', content: null }),
    chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'multi_agent_v1__spawn_agent', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"task":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"t"}' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'apply_patch', arguments: '' } }] }),
    ...pieces.map((p) => chunk({ tool_calls: [{ index: 1, function: { arguments: p } }] })),
    chunk({}, 'tool_calls'),
  ];

  it('maps names back in a complete answer', () => {
    const assembler = new ChunkAssembler();
    chunks.forEach((c) => assembler.add(c));
    const res = toResponse(assembler.toCompletion(), context());
    expect(res.output).toEqual([
      { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: 'call_1', name: 'spawn_agent', namespace: 'multi_agent_v1', arguments: '{"task":"t"}' },
      { id: expect.stringMatching(/^ctc_/), type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: patch },
    ]);
  });

  it('maps names back in a stream, and the custom input arrives whole', () => {
    const writer = createResponseEventWriter(context());
    const frames = [...chunks.flatMap((c) => writer.push(c)), ...writer.end(null, 2)];
    const events = frames.map((f) => JSON.parse(f.split('\ndata: ')[1]!) as Record<string, unknown> & { type: string });
    const added = events.filter((e) => e.type === 'response.output_item.added').map((e) => e.item);
    expect(added).toEqual([
      expect.objectContaining({ type: 'function_call', name: 'spawn_agent', namespace: 'multi_agent_v1' }),
      expect.objectContaining({ type: 'custom_tool_call', name: 'apply_patch', input: '' }),
    ]);
    expect(events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta).join('')).toBe('{"task":"t"}');
    expect(events.find((e) => e.type === 'response.custom_tool_call_input.done')).toMatchObject({ input: patch });
    expect(events.filter((e) => e.type === 'response.custom_tool_call_input.delta').map((e) => e.delta).join('')).toBe(patch);
    const completed = events.at(-1)!;
    expect(completed.type).toBe('response.completed');
    expect((completed.response as { output: unknown[] }).output).toEqual([
      expect.objectContaining({ type: 'function_call', name: 'spawn_agent', namespace: 'multi_agent_v1', arguments: '{"task":"t"}' }),
      expect.objectContaining({ type: 'custom_tool_call', name: 'apply_patch', input: patch }),
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });
});
