import { describe, expect, it, vi } from 'vitest';
import { prose, runWithoutSpaces } from '../../test/helpers/text-samples.ts';
import {
  createTokenEstimator,
  encodingForModel,
  estimatePromptTokens,
  estimateTextTokens,
  EXACT_BUDGET_BYTES,
  type TokenEstimator,
} from './estimate-tokens.ts';
import { encodeBounded, loadEncoding, MAX_PIECE_BYTES } from './tokenizer.ts';

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

describe('bounded work (issue 14: a run without spaces froze the event loop)', () => {
  /** UTF-8 bytes of every string handed to tiktoken's `encode` while `fn` runs. */
  function encodedBytes(model: string, fn: () => void): number[] {
    const spy = vi.spyOn(loadEncoding(encodingForModel(model)), 'encode');
    try {
      fn();
      return spy.mock.calls.map((args) => Buffer.byteLength(args[0], 'utf8'));
    } finally {
      spy.mockRestore();
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  it.each(['gpt-4o', 'claude-sonnet-4-5'])('tokenises at most EXACT_BUDGET_BYTES of a 200K-character run for %s, in short pieces', (model) => {
    const run = runWithoutSpaces(200_000);
    let estimate = 0;
    let estimator: TokenEstimator | undefined;
    const sizes = encodedBytes(model, () => {
      estimator = createTokenEstimator(model);
      estimate = estimator.prompt([{ role: 'user', content: run }]);
    });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PIECE_BYTES);
    expect(sum(sizes)).toBeLessThanOrEqual(EXACT_BUDGET_BYTES);
    expect(estimator!.tokenisedBytes + estimator!.extrapolatedBytes).toBe(200_000 + 'user'.length);
    // The estimate: the run's pieces counted one by one (linear, but far more work) give nearly the same.
    const piecewise = encodeBounded(loadEncoding(encodingForModel(model)), run).length;
    expect(Math.abs(estimate - piecewise) / piecewise).toBeLessThan(0.05);
  });

  it('does the same work for 10 MB as for 200K: the budget is per estimator, not per byte', () => {
    const big = runWithoutSpaces(10 * 1024 * 1024, 7);
    const sizes = encodedBytes('gpt-4o', () => {
      expect(estimateTextTokens(big, 'gpt-4o')).toBeGreaterThan(big.length / 10);
    });
    expect(sum(sizes)).toBeLessThanOrEqual(EXACT_BUDGET_BYTES);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PIECE_BYTES);
  });

  it('shares one budget across every string of a request (100,000 messages, tools, output)', () => {
    const messages = Array.from({ length: 100_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message number ${i} ${runWithoutSpaces(40, i + 1)}` }));
    let estimator: TokenEstimator | undefined;
    let total = 0;
    const sizes = encodedBytes('gpt-4o', () => {
      estimator = createTokenEstimator('gpt-4o');
      total = estimator.prompt(messages) + estimator.text(runWithoutSpaces(300_000, 3));
    });
    // Each call is charged at least a few bytes for its fixed cost, so calls are bounded too.
    expect(sizes.length).toBeLessThanOrEqual(EXACT_BUDGET_BYTES / 8);
    expect(sum(sizes)).toBeLessThanOrEqual(EXACT_BUDGET_BYTES);
    expect(estimator!.extrapolatedBytes).toBeGreaterThan(5_000_000);
    expect(total).toBeGreaterThan(100_000 * 10);
  });

  it.each(['gpt-4o', 'gpt-4', 'claude-haiku-4-5'])('counts English prose under the budget exactly as plain tiktoken does (%s)', (model) => {
    // Prose costs ~1.1 budget bytes a byte (long words cost more than their length).
    const text = prose(Math.floor(EXACT_BUDGET_BYTES * 0.8));
    const plain = loadEncoding(encodingForModel(model)).encode(text, [], []).length;
    let estimator: TokenEstimator | undefined;
    const sizes = encodedBytes(model, () => {
      estimator = createTokenEstimator(model);
      expect(estimator.text(text)).toBe(plain);
    });
    expect(estimator!.extrapolatedBytes).toBe(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PIECE_BYTES);
  });

  it('estimates prose over the budget within 5% of the exact count, from samples spread over it', () => {
    // Sampling 16 KB of a long text: measured errors on this corpus are within ±4%.
    for (const chars of [50_000, 200_000, 1_000_000]) {
      const text = prose(chars + 12_345).slice(12_345);
      const exact = loadEncoding('o200k_base').encode(text, [], []).length;
      const estimate = estimateTextTokens(text, 'gpt-4o');
      expect(Math.abs(estimate - exact) / exact, `${chars} characters`).toBeLessThan(0.05);
    }
  });

  it('samples every part of a long mixed string, a costly run not starving the rest', () => {
    const text = runWithoutSpaces(100_000, 5) + prose(100_000);
    let encoded: string[] = [];
    const spy = vi.spyOn(loadEncoding('o200k_base'), 'encode');
    try {
      expect(estimateTextTokens(text, 'gpt-4o')).toBeGreaterThan(40_000);
      encoded = spy.mock.calls.map((args) => args[0]);
    } finally {
      spy.mockRestore();
    }
    const fromRun = encoded.filter((t) => /^[a-z]+$/.test(t) && t.length >= 16).length;
    const fromProse = encoded.filter((t) => /\s/.test(t)).length;
    expect(fromRun).toBeGreaterThan(20);
    expect(fromProse).toBeGreaterThan(100);
  });

  it('takes the ratio of what it has seen once the budget is spent', () => {
    const estimator = createTokenEstimator('gpt-4o', { budgetBytes: 4_096 });
    estimator.text(prose(4_000));
    const spent = estimator.tokenisedBytes;
    const sizes = encodedBytes('gpt-4o', () => {
      expect(estimator.text(prose(40_000))).toBeGreaterThan(40_000 / 8);
    });
    expect(sum(sizes)).toBeLessThanOrEqual(4_096 - spent);
  });
});
