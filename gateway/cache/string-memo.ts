import { LRUCache } from 'lru-cache';

/**
 * A memo keyed by strings that come from clients (model names, ids), bounded by the bytes it
 * holds rather than by entries: a count bound alone lets 10,000 two-megabyte names pin 20 GB.
 * Least recently used entries go first; an entry bigger than a sixteenth of the budget is not
 * kept at all, so a few huge keys cannot flush the useful ones.
 */

/** Most heap a string of this length can take: V8 stores at most two bytes a character. */
export const stringBytes = (s: string): number => 16 + 2 * s.length;

/** What lru-cache and the Map inside it spend per entry, beyond key and value. */
const ENTRY_OVERHEAD_BYTES = 96;

export interface StringMemoOptions<V> {
  maxBytes: number;
  /** Heap bytes of a value beyond the key (strings: stringBytes; shared objects: 0). */
  valueBytes: (value: V) => number;
}

export type StringMemo<V extends {}> = LRUCache<string, V>;

export function createStringMemo<V extends {}>(opts: StringMemoOptions<V>): StringMemo<V> {
  if (!(opts.maxBytes >= 1024)) throw new RangeError('maxBytes must be at least 1024');
  return new LRUCache<string, V>({
    maxSize: opts.maxBytes,
    maxEntrySize: Math.floor(opts.maxBytes / 16),
    sizeCalculation: (value, key) => ENTRY_OVERHEAD_BYTES + stringBytes(key) + opts.valueBytes(value),
  });
}
