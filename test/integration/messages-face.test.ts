import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** Issue 9: the Anthropic Messages face, driven by the official @anthropic-ai/sdk. */
describe.each([
  { kind: 'anthropic', model: 'up/claude-haiku-4-5' },
  { kind: 'openai-compatible', model: 'up/gpt-4o-mini' },
] as const)('/v1/messages over an $kind upstream', ({ kind, model }) => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      config: {
        providers: {
          up: { type: kind, base_url: kind === 'anthropic' ? fake.anthropicBaseUrl : fake.openaiBaseUrl, models: [model.slice(3)] },
        },
      },
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('creates a message', async () => {
    const msg = await client.messages.create({
      model,
      max_tokens: 100,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'hello anthropic face' }],
    });
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: 'Echo: hello anthropic face' })]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    await gw.sink.waitFor(1);
    expect(gw.sink.records.at(-1)).toMatchObject({ endpoint: 'messages', status: 'ok', provider: 'up' });
  });

  it('streams the exact event sequence, and finalMessage() assembles it', async () => {
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'stream it now' }] });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: 'Echo: stream it now' })]);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types.at(-2)).toBe('message_delta');
    const blocks = types.filter((t) => t.startsWith('content_block'));
    expect(blocks[0]).toBe('content_block_start');
    expect(blocks.at(-1)).toBe('content_block_stop');
    expect(blocks.slice(1, -1).every((t) => t === 'content_block_delta')).toBe(true);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('round-trips tool use, streamed and not', async () => {
    const tools: Anthropic.Tool[] = [
      { name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
    ];
    const first = await client.messages.create({ model, max_tokens: 100, tools, messages: [{ role: 'user', content: 'weather in Oslo' }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { query: 'weather in Oslo' } });
    const streamed = await client.messages
      .stream({ model, max_tokens: 100, tools, messages: [{ role: 'user', content: 'weather in Oslo' }] })
      .finalMessage();
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { query: 'weather in Oslo' } });
    const second = await client.messages.create({
      model,
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'weather in Oslo' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as { id: string }).id, content: 'sunny, 21C' }] },
      ],
    });
    expect(second.content).toEqual([expect.objectContaining({ type: 'text', text: 'Tool said: sunny, 21C' })]);
  });

  it('errors in Anthropic shape: unknown model and bad key', async () => {
    const err = (await client.messages.create({ model: 'up/not-a-listed-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const bad = new Anthropic({ baseURL: gw.url, apiKey: 'sk-sluice-wrong', maxRetries: 0 });
    const authErr = await bad.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(authErr).toBeInstanceOf(Anthropic.AuthenticationError);
    const raw = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'no max tokens' }] }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } });
  });

  it(kind === 'anthropic' ? 'passes the body through to an Anthropic upstream, both ways' : 'translates for a non-Anthropic upstream', async () => {
    const body = {
      model,
      max_tokens: 50,
      top_k: 7,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'pass me through' }],
    };
    const headers = { 'x-api-key': ADMIN_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = (await res.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'Echo: pass me through' }] });
    const sent = fake.requests.at(-1)!.body as Record<string, unknown>;
    if (kind === 'anthropic') {
      // The upstream saw what the client wrote (top_k and cache_control survive), and the client
      // got the upstream's own message (fields the translation would not produce survive too).
      expect(sent).toMatchObject({ top_k: 7, system: body.system, model: 'claude-haiku-4-5' });
      expect(answer).toHaveProperty('container');
      const stream = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }) });
      const text = await stream.text();
      expect((fake.requests.at(-1)!.body as Record<string, unknown>).top_k).toBe(7);
      expect(text).toContain('event: ping');
      expect(text.trim().endsWith('data: {"type":"message_stop"}')).toBe(true);
      await gw.sink.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(gw.sink.records.at(-1)).toMatchObject({ endpoint: 'messages', status: 'ok', stream: true });
      expect(gw.sink.records.at(-1)!.usage?.outputTokens).toBeGreaterThan(0);
    } else {
      expect(sent).toHaveProperty('messages');
      expect(sent).not.toHaveProperty('top_k');
    }
  });

  it('counts tokens locally, marked as an estimate', async () => {
    const res = await client.messages.countTokens({ model, messages: [{ role: 'user', content: 'how many tokens is this' }] }).withResponse();
    expect(res.data.input_tokens).toBeGreaterThan(3);
    expect(res.response.headers.get('x-sluice-token-count')).toBe('estimate');
  });
});
