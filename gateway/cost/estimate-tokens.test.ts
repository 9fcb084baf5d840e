import { describe, expect, it } from 'vitest';
import { encodingForModel, estimatePromptTokens, estimateTextTokens } from './estimate-tokens.ts';

describe('encodingForModel', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['openai/gpt-4.1-nano', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5.1', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o4-mini-2025-04-16', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['claude-sonnet-4-5', 'cl100k_base'],
    ['omni-local', 'cl100k_base'],
  ])('%s uses %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });
});

describe('estimateTextTokens', () => {
  it('counts known strings', () => {
    expect(estimateTextTokens('hello world', 'gpt-4o')).toBe(2);
    expect(estimateTextTokens('hello world', 'gpt-4')).toBe(2);
    // The cookbook's own example: "tiktoken is great!" is 6 tokens.
    expect(estimateTextTokens('tiktoken is great!', 'gpt-3.5-turbo')).toBe(6);
    expect(estimateTextTokens('', 'gpt-4o')).toBe(0);
  });

  it('uses the model’s encoding (o200k packs CJK tighter)', () => {
    expect(estimateTextTokens('你好，世界', 'gpt-4o')).toBe(3);
    expect(estimateTextTokens('你好，世界', 'gpt-4')).toBe(6);
  });

  it('counts special-token text as plain text instead of throwing', () => {
    expect(estimateTextTokens('<|endoftext|>', 'gpt-4o')).toBe(7);
  });
});

describe('estimatePromptTokens', () => {
  // OpenAI cookbook "How to count tokens with tiktoken": the API reported 129 prompt tokens for
  // these messages on gpt-3.5-turbo / gpt-4 and 124 on gpt-4o / gpt-4o-mini.
  const cookbook = [
    {
      role: 'system',
      content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.',
    },
    { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
    { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
    {
      role: 'system',
      name: 'example_user',
      content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
    },
    { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
    { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
  ];

  it('matches the counts the OpenAI API reported', () => {
    expect(estimatePromptTokens(cookbook, 'gpt-3.5-turbo')).toBe(129);
    expect(estimatePromptTokens(cookbook, 'gpt-4')).toBe(129);
    expect(estimatePromptTokens(cookbook, 'gpt-4o')).toBe(124);
    expect(estimatePromptTokens(cookbook, 'gpt-4o-mini')).toBe(124);
  });

  it('counts text parts and a flat 85 per image', () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello world' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
    ];
    // 3 priming + 3 message + 1 ("user") + 2 ("hello world") + 85
    expect(estimatePromptTokens(messages, 'gpt-4o')).toBe(94);
  });

  it('counts Anthropic blocks and OpenAI tool calls', () => {
    const hello = 2;
    const anthropic = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello world' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'hello world' }] },
        ],
      },
    ];
    expect(estimatePromptTokens(anthropic, 'claude-haiku-4-5')).toBe(3 + 3 + 1 + hello + 85 + hello);

    const withTools = [
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'hello', arguments: 'world' } }],
      },
    ];
    const expected = 3 + 3 + estimateTextTokens('assistant', 'gpt-4o') + estimateTextTokens('hello', 'gpt-4o') +
      estimateTextTokens('world', 'gpt-4o');
    expect(estimatePromptTokens(withTools, 'gpt-4o')).toBe(expected);
  });

  it('tolerates junk without throwing', () => {
    expect(estimatePromptTokens([], 'gpt-4o')).toBe(3);
    expect(estimatePromptTokens([null, 42, 'x', { content: [null, 7, { type: 'mystery' }] }], 'gpt-4o')).toBe(3 + 4 * 3);
  });
});
