import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JSON_TOOL } from '../../gateway/providers/anthropic/response-format.ts';
import { startFakeProvider, type AnthropicJson, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';

/**
 * JSON modes (response_format) through an Anthropic upstream, driven by the official openai
 * SDK, against a fake Anthropic model that answers JSON only one way and plain text otherwise:
 * - 'structured_outputs': the provider is configured `structured_outputs: true`, and the fake
 *   honours `output_config.format`;
 * - 'forced_tool': the provider has no structured outputs, and the fake ignores output_config,
 *   so only the forced tool yields JSON.
 * A system-prompt instruction gets plain text from the fake in both, so passing proves the
 * mechanism, not a model's goodwill.
 */
const modes: Array<{ mode: AnthropicJson; provider: string }> = [
  { mode: 'structured_outputs', provider: 'claude_so' },
  { mode: 'forced_tool', provider: 'claude' },
];

const Forecast = z.object({ city: z.string(), days: z.number().int(), tags: z.array(z.enum(['warm', 'cold'])) });
// What the fake model writes for that schema (test/helpers/fake-provider.ts): strings are the last user text.
const forecast = { city: 'weather in Oslo', days: 3, tags: ['warm'] };
const messages = [{ role: 'user' as const, content: 'weather in Oslo' }];
const schemaFormat = zodResponseFormat(Forecast, 'forecast');

let fake: FakeProvider;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider();
  gw = await startTestGateway({
    config: {
      providers: {
        claude_so: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: 'k', structured_outputs: true },
        claude: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: 'k' },
      },
    },
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

/** Reads a stream through, checking each chunk, and returns the content, finish reasons and tool calls. */
async function readStream(params: ChatCompletionCreateParams) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  let content = '';
  const finish: string[] = [];
  let toolCalls = 0;
  for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
    expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
    for (const c of chunk.choices) {
      content += c.delta.content ?? '';
      if (c.finish_reason) finish.push(c.finish_reason);
      toolCalls += c.delta.tool_calls?.length ?? 0;
    }
  }
  return { content, finish, toolCalls };
}

const lastUpstreamBody = (): Record<string, unknown> => fake.requests.filter((r) => r.path === '/v1/messages').at(-1)!.body as Record<string, unknown>;

describe.each(modes)('JSON modes to an Anthropic model with $mode', ({ mode, provider }) => {
  const model = `${provider}/claude-haiku-4-5`;
  beforeEach(() => {
    fake.reset();
    fake.setAnthropicJson(mode);
  });

  it('json_object: the answer is a JSON object in content, finish_reason stop, no tool calls', async () => {
    const res = await client.chat.completions.create({ model, messages, response_format: { type: 'json_object' } });
    expectValidAgainstSpec('CreateChatCompletionResponse', res);
    const choice = res.choices[0]!;
    expect(JSON.parse(choice.message.content!)).toEqual({ answer: 'Echo: weather in Oslo' });
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.tool_calls).toBeUndefined();
    // json_object has no schema for structured outputs: a forced tool in both modes.
    expect(lastUpstreamBody()).toMatchObject({ tool_choice: { type: 'tool', name: JSON_TOOL } });

    const streamed = await readStream({ model, messages, response_format: { type: 'json_object' } });
    expect(JSON.parse(streamed.content)).toEqual({ answer: 'Echo: weather in Oslo' });
    expect(streamed.finish).toEqual(['stop']);
    expect(streamed.toolCalls).toBe(0);
  });

  it('json_schema: content that fits the schema, non-stream and stream, by the mode the provider has', async () => {
    const res = await client.chat.completions.create({ model, messages, response_format: schemaFormat });
    expectValidAgainstSpec('CreateChatCompletionResponse', res);
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual(forecast);
    expect(res.choices[0]!.finish_reason).toBe('stop');
    const sent = lastUpstreamBody();
    if (mode === 'structured_outputs') {
      expect(sent['output_config']).toEqual({ format: { type: 'json_schema', schema: schemaFormat.json_schema.schema } });
      expect(sent).not.toHaveProperty('tools');
    } else {
      expect(sent).not.toHaveProperty('output_config');
      expect(sent['tools']).toEqual([expect.objectContaining({ name: JSON_TOOL, input_schema: schemaFormat.json_schema.schema })]);
    }

    const streamed = await readStream({ model, messages, response_format: schemaFormat });
    expect(JSON.parse(streamed.content)).toEqual(forecast);
    expect(streamed.finish).toEqual(['stop']);
    expect(streamed.toolCalls).toBe(0);
  });

  it("works with the SDK's parse() and stream helper and a zod schema", async () => {
    const parsed = await client.chat.completions.parse({ model, messages, response_format: schemaFormat });
    expect(parsed.choices[0]!.message.parsed).toEqual(forecast);
    const final = await client.chat.completions.stream({ model, messages, response_format: schemaFormat }).finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual(forecast);
  });

  it('with n=2, every choice is JSON', async () => {
    const res = await client.chat.completions.create({ model, messages, n: 2, response_format: schemaFormat });
    expect(res.choices.map((c) => JSON.parse(c.message.content!) as unknown)).toEqual([forecast, forecast]);
  });
});

describe('JSON modes beside the client’s own tools (forced-tool mode)', () => {
  const model = 'claude/claude-haiku-4-5';
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  ];
  beforeEach(() => {
    fake.reset();
    fake.setAnthropicJson('forced_tool');
  });

  it('lets the model call a client tool or answer: tool calls come back as tool_calls, the answer as content', async () => {
    const res = await client.chat.completions.create({ model, messages, tools, response_format: schemaFormat });
    expectValidAgainstSpec('CreateChatCompletionResponse', res);
    const choice = res.choices[0]!;
    // The fake calls every offered tool in parallel: the client's, and the answer tool.
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls!.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_weather']);
    expect(JSON.parse(choice.message.content!)).toEqual(forecast);
    expect(lastUpstreamBody()).toMatchObject({ tool_choice: { type: 'any' } });
  });

  it('refuses a client tool named like the reserved one, naming the field', async () => {
    const clash: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: 'function', function: { name: JSON_TOOL } }];
    const err = await client.chat.completions.create({ model, messages, tools: clash, response_format: { type: 'json_object' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('tools[0].function.name');
    expect(fake.requests).toHaveLength(0);
  });
});
