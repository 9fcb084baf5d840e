import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { expectValidAgainstSpec } from '../../test/helpers/openapi.ts';
import { ChunkAssembler } from './chunk-assembler.ts';

type Choice = ChatCompletionChunk.Choice;
type Delta = Choice['delta'];

const base = { id: 'chatcmpl-abc', object: 'chat.completion.chunk' as const, created: 1_700_000_000, model: 'gpt-4o-mini-2024-07-18' };

function chunk(choices: Array<Partial<Choice> & { delta: Delta }>, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk {
  return {
    ...base,
    system_fingerprint: 'fp_123',
    choices: choices.map((c, i) => ({ index: i, finish_reason: null, logprobs: null, ...c })),
    ...extra,
  };
}

function assemble(chunks: ChatCompletionChunk[]) {
  const a = new ChunkAssembler();
  for (const c of chunks) {
    // Every chunk we feed is itself a valid stream chunk, so the fixtures are realistic.
    expectValidAgainstSpec('CreateChatCompletionStreamResponse', c);
    a.add(c);
  }
  return a;
}

describe('ChunkAssembler', () => {
  it('joins text deltas into one assistant message with the stream’s id, model and fingerprint', () => {
    const a = assemble([
      chunk([{ delta: { role: 'assistant', content: '' } }]),
      chunk([{ delta: { content: 'Hel' } }]),
      chunk([{ delta: { content: 'lo, ' } }]),
      chunk([{ delta: { content: 'world' } }]),
      chunk([{ delta: {}, finish_reason: 'stop' }]),
    ]);
    expect(a.complete).toBe(true);
    expect(a.text()).toBe('Hello, world');
    const completion = a.toCompletion();
    expect(completion).toEqual({
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      system_fingerprint: 'fp_123',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello, world', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('is not complete until every choice has a finish reason, and not before any chunk', () => {
    const a = new ChunkAssembler();
    expect(a.complete).toBe(false);
    a.add(chunk([{ delta: { content: 'a' } }, { delta: { content: 'b' } }]));
    expect(a.complete).toBe(false);
    a.add(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    expect(a.complete).toBe(false);
    a.add(chunk([{ index: 1, delta: {}, finish_reason: 'length' }]));
    expect(a.complete).toBe(true);
  });

  it('keeps n=2 choices apart even when their chunks interleave', () => {
    const a = assemble([
      chunk([
        { index: 0, delta: { role: 'assistant', content: '' } },
        { index: 1, delta: { role: 'assistant', content: '' } },
      ]),
      chunk([{ index: 1, delta: { content: 'Second ' } }]),
      chunk([{ index: 0, delta: { content: 'First ' } }]),
      chunk([{ index: 0, delta: { content: 'one.' } }]),
      chunk([{ index: 1, delta: { content: 'one, cut' } }]),
      chunk([{ index: 1, delta: {}, finish_reason: 'length' }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    ]);
    const completion = a.toCompletion();
    expect(completion.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, 'First one.', 'stop'],
      [1, 'Second one, cut', 'length'],
    ]);
    // Every choice's text counts for a token estimate.
    expect(a.text()).toBe('First one.Second one, cut');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('joins parallel tool-call argument fragments per call, keeping ids and names', () => {
    const a = assemble([
      chunk([{ delta: { role: 'assistant', content: null } }]),
      chunk([
        {
          delta: {
            tool_calls: [{ index: 0, id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '' } }],
          },
        },
      ]),
      chunk([{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }]),
      chunk([{ delta: { tool_calls: [{ index: 1, id: 'call_B', type: 'function', function: { name: 'get_time', arguments: '{"tz"' } }] } }]),
      chunk([{ delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }]),
      chunk([{ delta: { tool_calls: [{ index: 1, function: { arguments: ':"CET"}' } }] } }]),
      chunk([{ delta: {}, finish_reason: 'tool_calls' }]),
    ]);
    const completion = a.toCompletion();
    const message = completion.choices[0]!.message;
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      { id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_B', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
    ]);
    for (const call of message.tool_calls!) expect(() => JSON.parse((call as { function: { arguments: string } }).function.arguments)).not.toThrow();
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('keeps text that came before tool calls', () => {
    const a = assemble([
      chunk([{ delta: { role: 'assistant', content: 'Let me check.' } }]),
      chunk([{ delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'look', arguments: '{}' } }] } }]),
      chunk([{ delta: {}, finish_reason: 'tool_calls' }]),
    ]);
    const message = a.toCompletion().choices[0]!.message;
    expect(message.content).toBe('Let me check.');
    expect(message.tool_calls).toHaveLength(1);
  });

  it('takes usage from the final usage chunk (which has no choices)', () => {
    const usage = {
      prompt_tokens: 12,
      completion_tokens: 3,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const a = assemble([
      chunk([{ delta: { role: 'assistant', content: 'Hi' } }], { usage: null }),
      chunk([{ delta: {}, finish_reason: 'stop' }], { usage: null }),
      chunk([], { usage }),
    ]);
    const completion = a.toCompletion();
    expect(completion.usage).toEqual(usage);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.message.content).toBe('Hi');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('has no usage when the stream reported none', () => {
    const a = assemble([chunk([{ delta: { content: 'x' }, finish_reason: 'stop' }])]);
    expect(a.toCompletion()).not.toHaveProperty('usage');
  });

  it('concatenates token logprobs across chunks', () => {
    const tok = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: [{ token, logprob, bytes: null }] });
    const a = assemble([
      chunk([{ delta: { role: 'assistant', content: '' }, logprobs: { content: [], refusal: null } }]),
      chunk([{ delta: { content: 'Hi' }, logprobs: { content: [tok('Hi', -0.1)], refusal: null } }]),
      chunk([{ delta: { content: ' there' }, logprobs: { content: [tok(' there', -0.5)], refusal: null } }]),
      chunk([{ delta: {}, finish_reason: 'stop' }]),
    ]);
    const completion = a.toCompletion();
    expect(completion.choices[0]!.logprobs).toEqual({ content: [tok('Hi', -0.1), tok(' there', -0.5)], refusal: null });
    expect(completion.choices[0]!.message.content).toBe('Hi there');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('joins refusal deltas', () => {
    const a = assemble([
      chunk([{ delta: { role: 'assistant', refusal: "I can't " } }]),
      chunk([{ delta: { refusal: 'help with that.' } }]),
      chunk([{ delta: {}, finish_reason: 'stop' }]),
    ]);
    const message = a.toCompletion().choices[0]!.message;
    expect(message.refusal).toBe("I can't help with that.");
    expect(message.content).toBe('');
    expectValidAgainstSpec('CreateChatCompletionResponse', a.toCompletion());
  });

  it('omits system_fingerprint when the upstream sent none', () => {
    const a = new ChunkAssembler();
    a.add({ ...base, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }] });
    const completion = a.toCompletion();
    expect(completion).not.toHaveProperty('system_fingerprint');
    expectValidAgainstSpec('CreateChatCompletionResponse', completion);
  });

  it('an unfinished stream still assembles (recorded as far as it got)', () => {
    const a = assemble([chunk([{ delta: { role: 'assistant', content: 'Half a sen' } }])]);
    expect(a.complete).toBe(false);
    expect(a.toCompletion().choices[0]!.message.content).toBe('Half a sen');
  });
});
