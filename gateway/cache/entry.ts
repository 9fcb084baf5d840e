import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { NormalizedUsage } from '../../core/usage.ts';
import type { ChunkAssembler } from '../streaming/chunk-assembler.ts';

/**
 * One cached answer: a complete `chat.completion`, kept as its JSON text so a non-stream hit
 * is sent as is (no re-serialisation) and the memory tier can count its bytes exactly. A
 * stream hit parses it once and replays it as chunks (replay.ts).
 */
export interface CachedResponse {
  /** The `chat.completion` object as JSON text. */
  body: string;
  /** What the original call used (the hit reports it; the hit itself costs nothing). */
  usage: NormalizedUsage | null;
  /** Micro-USD the original call cost, i.e. what a hit saves; null when it was unpriced. */
  costMicros: number | null;
  /** Epoch ms when the answer was produced. */
  createdAt: number;
}

export interface EntryMeta {
  usage: NormalizedUsage | null;
  costMicros: number | null;
  createdAt: number;
  /** The request's `n` (default 1): a completion with fewer choices is not complete. */
  expectedChoices?: number | null | undefined;
}

/**
 * A non-stream upstream answer as a cache entry, or undefined when it must not be cached
 * (not a `chat.completion`, an error body, or a choice without a finish reason). `text` is
 * the upstream's JSON text (`JsonResult.text`), stored as it came.
 */
export function entryFromJson(text: string, body: Record<string, unknown>, meta: EntryMeta): CachedResponse | undefined {
  if (!isCompleteCompletion(body, meta.expectedChoices)) return undefined;
  return { body: text, usage: meta.usage, costMicros: meta.costMicros, createdAt: meta.createdAt };
}

/** A parsed completion (e.g. built in code or by a test) as a cache entry; same checks. */
export function entryFromCompletion(completion: ChatCompletion, meta: EntryMeta): CachedResponse | undefined {
  if (!isCompleteCompletion(completion, meta.expectedChoices)) return undefined;
  return { body: JSON.stringify(completion), usage: meta.usage, costMicros: meta.costMicros, createdAt: meta.createdAt };
}

/**
 * A streamed answer as a cache entry. Call it only once the upstream stream ended normally
 * (the iterator finished, no error, client still there); even then the stream is refused
 * unless every choice carried a finish reason, because `toCompletion()` fills in a default
 * one and so cannot tell a truncated stream from a complete one.
 */
export function entryFromStream(assembler: ChunkAssembler, meta: EntryMeta): CachedResponse | undefined {
  if (!assembler.complete) return undefined;
  return entryFromCompletion(assembler.toCompletion(), meta);
}

/** Parses an entry's completion (stream replay, tests). */
export function completionOf(entry: CachedResponse): ChatCompletion {
  return JSON.parse(entry.body) as ChatCompletion;
}

const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

function isCompleteCompletion(value: unknown, expectedChoices: number | null | undefined): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  if (c['object'] !== 'chat.completion' || 'error' in c || typeof c['id'] !== 'string') return false;
  const choices = c['choices'];
  if (!Array.isArray(choices) || choices.length === 0) return false;
  if (choices.length < (expectedChoices ?? 1)) return false;
  return choices.every((choice: unknown) => {
    if (typeof choice !== 'object' || choice === null) return false;
    const ch = choice as Record<string, unknown>;
    return typeof ch['finish_reason'] === 'string' && FINISH_REASONS.has(ch['finish_reason']) && typeof ch['message'] === 'object' && ch['message'] !== null;
  });
}
