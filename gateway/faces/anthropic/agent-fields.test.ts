import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error.ts';
import { withoutCacheBreakpoints } from '../../providers/openai/compat-body.ts';
import { translateMessagesRequest } from './from-anthropic-request.ts';
import { parseAnthropicRequest } from './messages-schema.ts';

/** Issue 22: what Claude Code sends, translated for an OpenAI-type upstream. */
const translate = (body: Record<string, unknown>) => translateMessagesRequest(parseAnthropicRequest(body));
const base = { model: 'up/gpt-4o-mini', max_tokens: 32000, messages: [{ role: 'user', content: 'hi' }] };

describe('Claude Code fields on the messages face', () => {
  it('keeps system items inside messages as system messages at their place', () => {
    const { chat } = translate({
      ...base,
      system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'first' },
        { role: 'system', content: [{ type: 'text', text: 'Mode changed.' }] },
        { role: 'user', content: 'second' },
        { role: 'system', content: 'plain string' },
      ],
    });
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'system', 'user', 'system']);
    expect(chat.messages[2]).toEqual({ role: 'system', content: 'Mode changed.' });
    expect(chat.messages[4]).toEqual({ role: 'system', content: 'plain string' });
  });

  it('refuses a non-text block in a system item, naming it', () => {
    const body = { ...base, messages: [{ role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'https://x/i.png' } }] }] };
    expect(() => translate(body)).toThrow(/messages\[0\]\.content\[0\]\.type: system messages take text blocks only/);
  });

  it('accepts thinking, output_config.effort, context_management and metadata; effort only for reasoning models', () => {
    const agent = {
      ...base,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      metadata: { user_id: '{"session_id":"s"}' },
    };
    const plain = translate(agent).chat;
    expect(plain.reasoning_effort).toBeUndefined();
    expect(plain).not.toHaveProperty('context_management');
    expect(plain).not.toHaveProperty('thinking');
    expect(plain.user).toBe('{"session_id":"s"}');
    expect(translate({ ...agent, model: 'openai/o4-mini' }).chat.reasoning_effort).toBe('high');
    expect(translate({ ...agent, model: 'gpt-5', output_config: { effort: 'max' } }).chat.reasoning_effort).toBe('high');
    const budget = (n: number) => translate({ ...base, model: 'gpt-5-mini', thinking: { type: 'enabled', budget_tokens: n } }).chat.reasoning_effort;
    expect([budget(2000), budget(10000), budget(31999)]).toEqual(['low', 'medium', 'high']);
  });

  it('drops server tools (named), keeps client tools, and refuses a tool_choice that forces a server tool', () => {
    const tools = [
      { name: 'Read', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
      { type: 'custom', name: 'Bash', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
    ];
    const { chat, dropped } = translate({ ...base, tools });
    expect(dropped).toEqual(['web_search']);
    expect(chat.tools?.map((t) => (t.type === 'function' ? t.function.name : t.type))).toEqual(['Read', 'Bash']);
    let err: unknown;
    try {
      translate({ ...base, tools, tool_choice: { type: 'tool', name: 'web_search' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).param).toBe('tool_choice.name');
    expect((err as GatewayError).message).toMatch(/server tool.*refused/);
  });

  it('still requires input_schema on a client tool', () => {
    expect(() => translate({ ...base, tools: [{ name: 'f' }] })).toThrow(/input_schema/);
  });

  it('carries server tool calls and results from an Anthropic turn as text', () => {
    const { chat } = translate({
      ...base,
      messages: [
        { role: 'user', content: 'search it' },
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'sluice' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://x', title: 'X' }] },
            { type: 'text', text: 'Found it.' },
          ],
        },
        { role: 'user', content: 'thanks' },
      ],
    });
    const said = chat.messages[1]!.content as string;
    expect(said).toContain('[server tool call web_search: {"query":"sluice"}]');
    expect(said).toContain('[web_search_tool_result: [{"type":"web_search_result","url":"https://x","title":"X"}]]');
    expect(said.endsWith('Found it.')).toBe(true);
  });

  it('keeps cache_control as breakpoints, which an openai-compatible upstream gets without', () => {
    const { chat } = translate({
      ...base,
      system: [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'r' }] }],
    });
    expect(chat.messages[0]!.content).toEqual([{ type: 'text', text: 'a' }, { type: 'text', text: 'b', prompt_cache_breakpoint: { mode: 'explicit' } }]);
    const compat = withoutCacheBreakpoints(chat);
    expect(compat.messages[0]).toEqual({ role: 'system', content: 'a\n\nb' });
    expect(compat.messages[1]).toEqual({ role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'text', text: 'r' }] });
    expect(JSON.stringify(compat)).not.toContain('prompt_cache_breakpoint');
    const none = translate(base).chat;
    expect(withoutCacheBreakpoints(none)).toBe(none);
  });
});
