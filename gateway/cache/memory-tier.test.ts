import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { entryBytes, MemoryTier } from './memory-tier.ts';
import { entryOf, textCompletion } from '../../test/helpers/completions.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledHeap(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('MemoryTier', () => {
  it('counts an entry at the bytes V8 holds for it', () => {
    const ascii = entryOf(textCompletion('a'.repeat(10_000)));
    const wide = entryOf(textCompletion('語'.repeat(10_000)));
    expect(entryBytes(ascii)).toBeGreaterThanOrEqual(ascii.body.length);
    expect(entryBytes(wide)).toBeGreaterThanOrEqual(2 * wide.body.length);
  });

  it('keeps its accounted size under memory_bytes under a flood, evicting least recently used', () => {
    const tier = new MemoryTier({ maxBytes: 1_000_000 });
    for (let i = 0; i < 500; i++) tier.set(`k${i}`, entryOf(textCompletion(`${i}:${'x'.repeat(20_000)}`)), 60_000);
    expect(tier.bytes).toBeLessThanOrEqual(1_000_000);
    expect(tier.entries).toBeGreaterThan(30);
    expect(tier.get('k0')).toBeUndefined();
    expect(tier.get('k499')).toBeDefined();
  });

  it('holds the process heap to about memory_bytes under a flood of large entries', () => {
    const maxBytes = 16 * 1024 * 1024;
    const before = settledHeap();
    const tier = new MemoryTier({ maxBytes });
    // 400 MB offered (half of it two-byte text), each entry a fresh string of its own.
    for (let i = 0; i < 400; i++) {
      const text = (i % 2 === 0 ? 'x' : 'ж').repeat(500_000) + String(i);
      tier.set(`k${i}`, entryOf(textCompletion(text)), 60_000);
    }
    const grown = settledHeap() - before;
    expect(tier.bytes).toBeLessThanOrEqual(maxBytes);
    // The accounted bytes are what the heap holds (bodies dominate); allow 25% for V8's own slack.
    expect(grown).toBeLessThan(maxBytes * 1.25);
    expect(tier.entries).toBeGreaterThan(8);
  });

  it('refuses an entry larger than an eighth of the budget instead of flushing everything', () => {
    const tier = new MemoryTier({ maxBytes: 100_000 });
    tier.set('small', entryOf(textCompletion('hi')), 60_000);
    expect(tier.set('huge', entryOf(textCompletion('y'.repeat(20_000))), 60_000)).toBe(false);
    expect(tier.get('huge')).toBeUndefined();
    expect(tier.get('small')).toBeDefined();
  });

  it('expires each entry after its own TTL on the injected clock', () => {
    let now = 1_000_000;
    const tier = new MemoryTier({ maxBytes: 1_000_000, now: () => now });
    tier.set('short', entryOf(textCompletion('a')), 1_000);
    tier.set('long', entryOf(textCompletion('b')), 10_000);
    now += 999;
    expect(tier.get('short')).toBeDefined();
    now += 2;
    expect(tier.get('short')).toBeUndefined();
    expect(tier.get('long')).toBeDefined();
    now += 9_000;
    expect(tier.get('long')).toBeUndefined();
    expect(tier.entries).toBe(0);
    expect(tier.set('gone', entryOf(textCompletion('c')), 0)).toBe(false);
  });
});
