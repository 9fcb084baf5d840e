import { createHash } from 'node:crypto';
import type { CacheDefaults } from '../config/routes-schema.ts';
import { canonicalJson } from '../../core/canonical-json.ts';

/** Bumped when what goes into a key changes, so old entries are never read with new meaning. */
const KEY_VERSION = 1;

/**
 * Request fields that never change the answer: who asks (`user`, `metadata`, `safety_identifier`),
 * how it is delivered (`stream`, `stream_options`), and upstream bookkeeping (`store`,
 * `service_tier`, `prompt_cache_key`, `prompt_cache_retention`). `model` is replaced by the
 * resolved target and `prompt` has been rendered into `messages` before the key is taken.
 */
const IGNORED = new Set([
  'model',
  'prompt',
  'user',
  'metadata',
  'safety_identifier',
  'stream',
  'stream_options',
  'store',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

export interface CacheKeyInput {
  /** Resolved provider name (the primary target; fallbacks answer for it). */
  provider: string;
  /** Resolved upstream model id. */
  model: string;
  /**
   * The body the upstream is sent: the chat request after prompt rendering and retrieval
   * injection, or the client's own body when it passes through (then `format` names it).
   */
  request: Record<string, unknown>;
  /** Set when `request` is a pass-through body in that format (e.g. `anthropic`), not a chat request. */
  format?: string | undefined;
  /** Keeps entries apart (see `cacheScope`); undefined = shared by everyone. */
  scope?: string | undefined;
}

/**
 * SHA-256 (hex) of the canonical JSON of everything that determines the answer. Besides the
 * fields DESIGN names (messages, tools, tool_choice, response_format, temperature, top_p, max
 * tokens, stop, seed, n, logprobs, top_logprobs, parallel_tool_calls), every other request
 * field the upstream will see is kept too (presence_penalty, logit_bias, reasoning_effort, a
 * local server's top_k…): an unknown field may change the answer, and a key that is too
 * specific only costs a miss, while one that is too loose serves a wrong answer.
 *
 * Normalised so equivalent requests share a key: `null` means the default and is dropped;
 * `max_tokens` and `max_completion_tokens` are one field; `stop: "x"` is `["x"]`; `n: 1` is
 * the default.
 */
export function cacheKey(input: CacheKeyInput): string {
  return createHash('sha256').update(cacheKeyText(input)).digest('hex');
}

/** The canonical text that `cacheKey` hashes (exported for tests and debugging). */
export function cacheKeyText(input: CacheKeyInput): string {
  const { request } = input;
  const fields: Record<string, unknown> = {};
  for (const name in request) {
    if (IGNORED.has(name)) continue;
    const value = request[name];
    if (value === null || value === undefined) continue;
    fields[name] = value;
  }
  delete fields['max_completion_tokens'];
  const maxTokens = request['max_completion_tokens'] ?? request['max_tokens'];
  if (maxTokens === null || maxTokens === undefined) delete fields['max_tokens'];
  else fields['max_tokens'] = maxTokens;
  if (typeof fields['stop'] === 'string') fields['stop'] = [fields['stop']];
  if (fields['n'] === 1) delete fields['n'];

  let text = `{${input.format === undefined ? '' : `"format":${JSON.stringify(input.format)},`}"model":${JSON.stringify(input.model)},"provider":${JSON.stringify(input.provider)},"request":${canonicalJson(fields)}`;
  if (input.scope !== undefined) text += `,"scope":${JSON.stringify(input.scope)}`;
  return `${text},"v":${KEY_VERSION}}`;
}

/**
 * Whether a request that no route configures is cached under the top-level default:
 * `auto` caches only answers that are meant to be repeatable (temperature 0 or a seed).
 */
export function isCacheable(request: Record<string, unknown>, defaults: Pick<CacheDefaults, 'default'>): boolean {
  switch (defaults.default) {
    case 'on':
      return true;
    case 'off':
      return false;
    case 'auto':
      return request['temperature'] === 0 || typeof request['seed'] === 'number';
  }
}
