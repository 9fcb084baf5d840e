import { describe, expect, it } from 'vitest';
import { createStringMemo, stringBytes } from './string-memo.ts';

describe('createStringMemo', () => {
  it('stays within maxBytes however many and however long the keys are', () => {
    const memo = createStringMemo<string>({ maxBytes: 64 * 1024, valueBytes: stringBytes });
    for (let i = 0; i < 10_000; i++) {
      memo.set(`${String(i)}:${'k'.repeat(i % 3_000)}`, 'v');
      expect(memo.calculatedSize).toBeLessThanOrEqual(64 * 1024);
    }
    expect(memo.size).toBeGreaterThan(10);
  });

  it('does not keep an entry bigger than a sixteenth of the bound, nor let it evict others', () => {
    const memo = createStringMemo<object>({ maxBytes: 64 * 1024, valueBytes: () => 0 });
    memo.set('gpt-4o', {});
    memo.set('x'.repeat(2 * 1024 * 1024), {});
    memo.set('y'.repeat(4 * 1024), {});
    expect([...memo.keys()]).toEqual(['gpt-4o']);
  });

  it('evicts the least recently used first', () => {
    const memo = createStringMemo<string>({ maxBytes: 4 * 1024, valueBytes: stringBytes });
    memo.set('hot', 'a');
    for (let i = 0; i < 1_000; i++) {
      memo.set(`cold-${String(i)}`, 'b');
      expect(memo.get('hot')).toBe('a');
    }
    expect(memo.has('cold-0')).toBe(false);
  });

  it('counts two bytes a character, the most V8 stores', () => {
    expect(stringBytes('')).toBe(16);
    expect(stringBytes('日本')).toBe(20);
  });
});
