/**
 * Canonical model ids for price lookup.
 *
 * Clients name the same priced model many ways: `openai/gpt-4o`, `gpt-4o-2024-08-06`,
 * `claude-haiku-4-5-20251001`, `claude-3-5-haiku-latest`. Only trailing snapshot markers are
 * removed, one at a time from the right, and the first form that is a known id wins — so the
 * longest known id is chosen and a model is never folded into a different family
 * (`gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, never `gpt-4o`; `gpt-4o-audio-preview` stays
 * itself and is simply unpriced). Nothing is matched by bare prefix.
 */
import { createStringMemo, stringBytes } from '../cache/string-memo.ts';

/**
 * A trailing snapshot marker: `-2024-08-06` (OpenAI), `-20251001` (Anthropic), `-0613`
 * (OpenAI's older snapshots), `-latest` (moving aliases).
 */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

/** Longer than any model id that has a price: such ids are returned as they are. */
const MAX_KNOWN_ID_CHARS = 256;

/** Default bound of the memo in createModelIdResolver: ~1,500 names of 40 characters. */
export const MODEL_ID_MEMO_BYTES = 256 * 1024;

export interface ModelIdResolver {
  (model: string): string;
  /** Bytes the memo holds now (at most its maxBytes). */
  readonly memoBytes: number;
}

/** Anthropic aliases that are not a snapshot suffix of the canonical id. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['claude-opus-4-0', 'claude-opus-4'],
  ['claude-sonnet-4-0', 'claude-sonnet-4'],
]);

/** `openai/gpt-4o` → `gpt-4o`; lower-cased and trimmed. Routing prefixes may nest (`a/b/model`). */
export function stripProviderPrefix(model: string): string {
  const id = model.trim().toLowerCase();
  return id.slice(id.lastIndexOf('/') + 1);
}

/**
 * The id to look prices up by. With `known`, the longest form of the id found in it is returned
 * (an exact snapshot with its own price, such as `gpt-4o-2024-05-13`, keeps it); without, or
 * when no form is known, every snapshot marker is removed.
 */
export function canonicalModelId(model: string, known?: ReadonlySet<string>): string {
  let id = stripProviderPrefix(model);
  // No priced id is this long; stripping markers one at a time would be quadratic in the name.
  if (id.length > MAX_KNOWN_ID_CHARS) return id;
  for (;;) {
    const aliased = ALIASES.get(id) ?? id;
    if (known?.has(aliased)) return aliased;
    const shorter = id.replace(SNAPSHOT_SUFFIX, '');
    if (shorter === id || shorter === '') return aliased;
    id = shorter;
  }
}

/**
 * `canonicalModelId` against a fixed set of known ids, memoised because it runs on every
 * request. Model names come from clients, so the memo is bounded by bytes (string-memo.ts).
 */
export function createModelIdResolver(known: ReadonlySet<string>, maxBytes = MODEL_ID_MEMO_BYTES): ModelIdResolver {
  const memo = createStringMemo<string>({ maxBytes, valueBytes: stringBytes });
  const resolve = (model: string): string => {
    const hit = memo.get(model);
    if (hit !== undefined) return hit;
    const id = canonicalModelId(model, known);
    memo.set(model, id);
    return id;
  };
  return Object.defineProperty(resolve, 'memoBytes', { get: () => memo.calculatedSize }) as ModelIdResolver;
}
