import { describe, expect, it } from 'vitest';
import { prose, proseParagraphs, runWithoutSpaces } from '../../test/helpers/text-samples.ts';
import { createTokenEstimator, promptTokenBound } from './estimate-tokens.ts';

/**
 * promptTokenBound is what budgets reserve and tpm takes before the upstream call
 * (policy/governor.ts): it must never be below the estimate, whatever the text, the model's
 * encoding, or whether the estimate tokenised or extrapolated it.
 */
const texts = [
  '',
  'hi',
  ...proseParagraphs().slice(0, 3),
  prose(40_000),
  runWithoutSpaces(20_000),
  'ünïcödé — 日本語のテキスト 🙂🙂🙂 '.repeat(300),
  Buffer.from(Array.from({ length: 6_000 }, (_, i) => (i * 7919) % 256)).toString('latin1'),
  '<|endoftext|> '.repeat(50),
];

describe('promptTokenBound', () => {
  for (const model of ['gpt-4o-mini', 'gpt-3.5-turbo']) {
    it(`is at least the estimate (${model}) for every kind of message`, () => {
      for (const text of texts) {
        const shapes: unknown[][] = [
          [{ role: 'user', content: text }],
          [{ role: 'system', name: 'ops', content: text }, { role: 'user', content: [{ type: 'text', text }, { type: 'image_url', image_url: { url: 'x' } }] }],
          [{ role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: text } }] }],
          [{ role: 'user', content: [{ type: 'tool_result', content: [{ type: 'text', text }] }, { type: 'tool_use', name: 't', input: { text } }, { type: 'thinking', thinking: text }] }],
          ['not a message', { role: 7 }],
        ];
        for (const messages of shapes) {
          expect(promptTokenBound(messages)).toBeGreaterThanOrEqual(createTokenEstimator(model).prompt(messages));
        }
      }
    });
  }

  it('counts bytes, not characters', () => {
    expect(promptTokenBound([{ role: 'user', content: '日本' }])).toBe(3 + 3 + 4 + 6);
  });
});
