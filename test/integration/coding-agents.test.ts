import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentsInstalled, HELLO_TEXT, runClaude, runCodex } from '../agents/agents.ts';
import { startFakeProvider, type FakeProvider, type ScriptedToolCall } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Issue 22: coding agents through sluice. The first part needs nothing installed (the official
 * SDK and raw fetch stand in for the agents); the second runs the real `claude` and `codex`
 * binaries from test/agents (installed by `npm ci --prefix test/agents`) and skips loudly
 * without them.
 */

const UP = { anthropic: 'anth', compatible: 'compat', openai: 'oai' } as const;

/** The tool names in a request of any of the three wire formats. */
function toolNames(body: unknown): string[] {
  const tools = (body as { tools?: Array<{ name?: string; function?: { name?: string } }> }).tools ?? [];
  return tools.map((t) => t.name ?? t.function?.name ?? '');
}

/** The agents' file-reading tools, called on hello.txt in the agent's working directory. */
function readHello(body: unknown): ScriptedToolCall[] | undefined {
  const names = toolNames(body);
  const dir = /\/tmp\/sluice-agent-work-[A-Za-z0-9]+/.exec(JSON.stringify(body))?.[0] ?? '.';
  if (names.includes('Read')) return [{ name: 'Read', input: { file_path: `${dir}/hello.txt` } }];
  if (names.includes('exec_command')) return [{ name: 'exec_command', input: { cmd: 'cat hello.txt', workdir: dir } }];
  return undefined;
}

let fake: FakeProvider;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeProvider();
  gw = await startTestGateway({
    config: {
      providers: {
        [UP.anthropic]: { type: 'anthropic', base_url: fake.anthropicBaseUrl },
        [UP.compatible]: { type: 'openai-compatible', base_url: fake.openaiBaseUrl },
        [UP.openai]: { type: 'openai', base_url: fake.openaiBaseUrl, api_key: 'sk-upstream' },
      },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

const codexLikeTools = [
  { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] }, strict: false },
  {
    type: 'namespace',
    name: 'multi_agent_v1',
    description: 'Sub-agents.',
    tools: [{ type: 'function', name: 'spawn_agent', parameters: { type: 'object', properties: { task: { type: 'string' } } } }],
  },
  { type: 'web_search', external_web_access: false },
];

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('/v1/responses to an openai provider passes through', () => {
  const body = {
    model: `${UP.openai}/gpt-4o-mini`,
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'pass me through' }] }],
    tools: codexLikeTools,
    tool_choice: 'none',
    reasoning: { summary: 'auto' },
    include: ['reasoning.encrypted_content'],
    store: false,
    prompt_cache_key: 'thread-1',
    client_metadata: { session_id: 's-1' },
  };

  it('sends the body as written and returns the upstream answer as sent; the call is logged and priced', async () => {
    const before = gw.sink.records.length;
    const res = await post('/v1/responses', body);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-dropped-tools')).toBeNull();
    const answer = (await res.json()) as { id: string; output: Array<{ type: string }> };
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toEqual({ ...body, model: 'gpt-4o-mini', stream: false });
    expect(answer.id).toMatch(/^resp_/);
    expect(answer.output[0]).toMatchObject({ type: 'message' });
    await gw.sink.waitFor(before + 1);
    const record = gw.sink.records.at(-1)!;
    expect(record).toMatchObject({ endpoint: 'responses', status: 'ok', provider: UP.openai, model: 'gpt-4o-mini' });
    expect(record.usage?.inputTokens).toBeGreaterThan(0);
    expect(record.costMicros).not.toBeNull();
  });

  it('streams the upstream events one for one', async () => {
    const before = gw.sink.records.length;
    const res = await post('/v1/responses', { ...body, tool_choice: 'auto', stream: true });
    expect(res.status).toBe(200);
    const text = await res.text();
    const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    const seqs = [...text.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    // The fake calls the first two (flattened) tools; names come back as the upstream wrote them.
    expect(text).toContain('"namespace":"multi_agent_v1"');
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(fake.requests.at(-1)!.body).toMatchObject({ stream: true, tools: codexLikeTools });
    await gw.sink.waitFor(before + 1);
    const record = gw.sink.records.at(-1)!;
    expect(record).toMatchObject({ status: 'ok', provider: UP.openai });
    expect(record.usage?.outputTokens).toBeGreaterThan(0);
    expect(record.costMicros).not.toBeNull();
  });

  it('caches a pass-through answer like any other', async () => {
    const cached = { ...body, input: 'cache me', tools: undefined, tool_choice: undefined, temperature: 0 };
    const first = await post('/v1/responses', cached);
    expect(first.headers.get('x-sluice-cache')).toBe('miss');
    await first.text();
    let second: Response | undefined;
    for (let i = 0; i < 20; i++) {
      second = await post('/v1/responses', cached);
      if (second.headers.get('x-sluice-cache') === 'hit') break;
      await second.text();
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(second!.headers.get('x-sluice-cache')).toBe('hit');
    expect(((await second!.json()) as { output_text?: string; output: unknown[] }).output).toEqual([
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Echo: cache me' })] }),
    ]);
  });

  it('continues a passed-through turn with previous_response_id (translated, from the stored copy)', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const first = await client.responses.create({ model: `${UP.openai}/gpt-4o-mini`, input: 'remember me' });
    let second: OpenAI.Responses.Response | undefined;
    for (let i = 0; i < 40 && !second; i++) {
      second = await client.responses.create({ model: `${UP.openai}/gpt-4o-mini`, previous_response_id: first.id, input: 'and now?' }).catch(() => undefined);
      if (!second) await new Promise((r) => setTimeout(r, 25));
    }
    expect(second?.output_text).toBe('Echo: and now?');
    expect(fake.requests.at(-1)!.path).toBe('/v1/chat/completions');
    const sent = fake.requests.at(-1)!.body as { messages: Array<{ role: string }> };
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });
});

describe('translation for agents, with dropped tools named', () => {
  it('flattens Codex tools for a chat upstream and names the dropped web_search', async () => {
    const res = await post('/v1/responses', { model: `${UP.compatible}/gpt-4o-mini`, input: 'go', tools: codexLikeTools });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-dropped-tools')).toBe('web_search');
    const answer = (await res.json()) as { output: Array<{ type: string; name?: string; namespace?: string }> };
    expect(answer.output.map((o) => [o.type, o.name, o.namespace])).toEqual([
      ['function_call', 'exec_command', undefined],
      ['function_call', 'spawn_agent', 'multi_agent_v1'],
    ]);
    const sent = fake.requests.at(-1)!.body as { tools: Array<{ function: { name: string } }> };
    expect(sent.tools.map((t) => t.function.name)).toEqual(['exec_command', 'multi_agent_v1__spawn_agent']);
  });

  it('refuses a forced hosted tool with a 400', async () => {
    const res = await post('/v1/responses', { model: `${UP.compatible}/gpt-4o-mini`, input: 'go', tools: codexLikeTools, tool_choice: { type: 'web_search' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/hosted tool/);
  });

  it('takes a Claude Code style body (?beta=true, anthropic-beta, system items, thinking) to a chat upstream', async () => {
    const res = await post(
      '/v1/messages?beta=true',
      {
        model: `${UP.compatible}/gpt-4o-mini`,
        max_tokens: 32000,
        system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi there' }] },
          { role: 'assistant', content: 'Hello.' },
          { role: 'system', content: 'The user switched to plan mode.' },
          { role: 'user', content: [{ type: 'text', text: 'plan it', cache_control: { type: 'ephemeral' } }] },
        ],
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
        thinking: { type: 'adaptive' },
        output_config: { effort: 'high' },
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
        metadata: { user_id: 'u' },
      },
      { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'claude-code-20250219,context-management-2025-06-27' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-dropped-tools')).toBe('web_search');
    expect(((await res.json()) as { content: Array<{ text: string }> }).content[0]!.text).toBe('Echo: plan it');
    const sent = fake.requests.at(-1)!.body as Record<string, unknown> & { messages: Array<{ role: string; content: unknown }> };
    expect(sent.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'system', 'user']);
    expect(sent.messages[0]!.content).toBe('You are Claude Code.');
    expect(JSON.stringify(sent)).not.toContain('prompt_cache_breakpoint');
    expect(sent).not.toHaveProperty('tools');
    expect(sent).not.toHaveProperty('reasoning_effort');
  });

  it('passes the anthropic-beta header and server tools through to an Anthropic upstream', async () => {
    const res = await post(
      '/v1/messages?beta=true',
      {
        model: `${UP.anthropic}/claude-haiku-4-5`,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        context_management: { edits: [] },
      },
      { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-management-2025-06-27' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-dropped-tools')).toBeNull();
    const sent = fake.requests.at(-1)!;
    expect(sent.headers['anthropic-beta']).toBe('context-management-2025-06-27');
    expect(sent.body).toMatchObject({ tools: [{ type: 'web_search_20250305', name: 'web_search' }], context_management: { edits: [] } });
  });
});

const installed = agentsInstalled();
if (!installed) {
  console.warn('coding-agents: test/agents/node_modules is missing; the real claude/codex runs are SKIPPED. Install with: npm ci --prefix test/agents');
}
const agentIt = installed ? it : it.skip;

describe('the real agents through sluice', () => {
  beforeEach(() => fake.setToolCalls(readHello));

  /** Every call of the run logged, ok, with usage and a price. */
  async function expectLogged(from: number, provider: string): Promise<void> {
    await gw.sink.waitFor(from + 2, 10_000);
    const records = gw.sink.records.slice(from);
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r, JSON.stringify({ status: r.status, error: r.errorMessage })).toMatchObject({ status: 'ok', provider });
      expect(r.usage).not.toBeNull();
      expect(r.costMicros).not.toBeNull();
    }
  }

  describe.each([
    { upstream: 'anthropic', provider: UP.anthropic, model: `${UP.anthropic}/claude-haiku-4-5` },
    { upstream: 'openai-compatible', provider: UP.compatible, model: `${UP.compatible}/gpt-4o-mini` },
    { upstream: 'openai', provider: UP.openai, model: `${UP.openai}/gpt-4o-mini` },
  ])('to an $upstream upstream', ({ provider, model }) => {
    agentIt('claude -p completes a turn with a tool call and its result', { timeout: 120_000 }, async () => {
      const from = gw.sink.records.length;
      const run = await runClaude({ baseUrl: gw.url, apiKey: ADMIN_KEY, model, prompt: 'Read hello.txt and tell me what it says' });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toContain(HELLO_TEXT);
      const calls = fake.requests.filter((r) => r.method === 'POST');
      expect(calls.length).toBeGreaterThanOrEqual(2);
      await expectLogged(from, provider);
    });

    agentIt('codex exec completes a turn with a tool call and its result', { timeout: 120_000 }, async () => {
      const from = gw.sink.records.length;
      const run = await runCodex({ baseUrl: gw.baseURL, apiKey: ADMIN_KEY, model, prompt: 'Read hello.txt and tell me what it says' });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toContain(HELLO_TEXT);
      const paths = fake.requests.filter((r) => r.method === 'POST').map((r) => r.path.split('?')[0]);
      expect(paths.length).toBeGreaterThanOrEqual(2);
      if (provider === UP.openai) expect(new Set(paths)).toEqual(new Set(['/v1/responses']));
      await expectLogged(from, provider);
    });
  });
});
