import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { completionToChunks } from './replay.ts';
import { entryFromCompletion, entryFromJson, entryFromStream } from './entry.ts';
import { textCompletion, twoChoiceCompletion } from '../../test/helpers/completions.ts';

const meta = { usage: null, costMicros: null, createdAt: 1 };
const json = (body: unknown) => entryFromJson(JSON.stringify(body), body as Record<string, unknown>, meta);

function assembled(chunks: ChatCompletionChunk[]): ChunkAssembler {
  const a = new ChunkAssembler();
  for (const c of chunks) a.add(c);
  return a;
}

describe('cache entries: only complete answers are cacheable', () => {
  it('accepts a complete completion, keeping the upstream text as is', () => {
    const body = textCompletion('ok');
    const text = JSON.stringify(body, null, 1);
    expect(entryFromJson(text, body as unknown as Record<string, unknown>, meta)?.body).toBe(text);
    expect(entryFromCompletion(textCompletion('ok', { choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'length' }] }), meta)).toBeDefined();
  });

  it('refuses error bodies and anything that is not a chat.completion', () => {
    expect(json({ error: { message: 'rate limited', type: 'rate_limit_error', param: null, code: null } })).toBeUndefined();
    expect(json({ ...textCompletion('x'), error: { message: 'partial' } })).toBeUndefined();
    expect(json({ ...textCompletion('x'), object: 'chat.completion.chunk' })).toBeUndefined();
    expect(json({ ...textCompletion('x'), choices: [] })).toBeUndefined();
    expect(json([])).toBeUndefined();
    expect(json(null)).toBeUndefined();
  });

  it('refuses a choice without a (known) finish reason or message', () => {
    const choice = textCompletion('x').choices[0]!;
    expect(json({ ...textCompletion('x'), choices: [{ ...choice, finish_reason: null }] })).toBeUndefined();
    expect(json({ ...textCompletion('x'), choices: [{ ...choice, finish_reason: 'overloaded' }] })).toBeUndefined();
    expect(json({ ...textCompletion('x'), choices: [{ index: 0, finish_reason: 'stop' }] })).toBeUndefined();
  });

  it('refuses fewer choices than the request asked for', () => {
    expect(entryFromCompletion(textCompletion('x'), { ...meta, expectedChoices: 2 })).toBeUndefined();
    expect(entryFromCompletion(twoChoiceCompletion(), { ...meta, expectedChoices: 2 })).toBeDefined();
  });

  it('accepts a complete stream and refuses a truncated one', () => {
    const chunks = completionToChunks(twoChoiceCompletion(), { includeUsage: false });
    expect(entryFromStream(assembled(chunks), { ...meta, expectedChoices: 2 })).toBeDefined();
    // Cut before the last finish chunk: toCompletion() would still say 'stop', entryFromStream must not.
    expect(entryFromStream(assembled(chunks.slice(0, -1)), meta)).toBeUndefined();
    // Cut after choice 0 finished but before choice 1 began.
    const firstOnly = chunks.filter((c) => c.choices[0]?.index === 0);
    expect(entryFromStream(assembled(firstOnly), { ...meta, expectedChoices: 2 })).toBeUndefined();
    expect(entryFromStream(new ChunkAssembler(), meta)).toBeUndefined();
  });
});
