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

/**
 * A trailing snapshot marker: `-2024-08-06` (OpenAI), `-20251001` (Anthropic), `-0613`
 * (OpenAI's older snapshots), `-latest` (moving aliases).
 */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

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
 * request. The cache is bounded (oldest entry evicted first) since model names come from
 * clients and are unbounded.
 */
export function createModelIdResolver(
  known: ReadonlySet<string>,
  maxEntries = 1024,
): (model: string) => string {
  const cache = new Map<string, string>();
  return (model) => {
    const hit = cache.get(model);
    if (hit !== undefined) return hit;
    const id = canonicalModelId(model, known);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(model, id);
    return id;
  };
}
