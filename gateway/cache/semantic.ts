import type { Logger } from '../logger.ts';
import type { CachedResponse } from './entry.ts';
import { cacheKey } from './key.ts';
import type { ResponseCache } from './response-cache.ts';
import type { SemanticIndex } from './semantic-index.ts';

/** Embeds a text; the lead wires it to the route's `cache.semantic.embeddings` target. */
export type EmbedFn = (text: string) => Promise<number[]>;

export interface SemanticInput {
  /** Resolved target, as for the exact key. */
  provider: string;
  model: string;
  /** The chat request after prompt rendering and retrieval injection. */
  request: Record<string, unknown>;
  route: string;
  /** The rendered prompt version (`name@3`), or null when none was applied. */
  promptVersion: string | null | undefined;
  /** The exact cache's scope (`cacheScope`), so key-scoped routes stay apart here too. */
  scope?: string | undefined;
}

/** A request's embedded last user turn, ready to search with and to record under. */
export interface SemanticProbe {
  scope: string;
  vector: Float32Array;
}

export interface SemanticHit {
  entry: CachedResponse;
  /** The exact key of the stored answer that matched. */
  cacheKey: string;
  similarity: number;
}

export interface SemanticCacheOptions {
  index: SemanticIndex;
  /** Where the answers live; the index only points at their exact keys. */
  cache: ResponseCache;
  now?: () => number;
  /** An embedding slower than this is a miss (default 5 s). */
  embedTimeoutMs?: number;
  logger?: Logger | undefined;
}

/**
 * Text of the last user message, or undefined when there is none or it holds more than text
 * (an image turn is never "similar" to another by its words alone).
 */
export function lastUserTurn(request: Record<string, unknown>): { index: number; text: string } | undefined {
  const messages = request['messages'];
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content.trim() ? { index: i, text: m.content } : undefined;
    if (!Array.isArray(m.content)) return undefined;
    let text = '';
    for (const part of m.content as Array<{ type?: unknown; text?: unknown }>) {
      if (part?.type !== 'text' || typeof part.text !== 'string') return undefined;
      text += (text ? '\n' : '') + part.text;
    }
    return text.trim() ? { index: i, text } : undefined;
  }
  return undefined;
}

/**
 * The semantic scope: a hash of route, prompt version, target and the whole request with its
 * last user turn blanked out. Two requests can share an answer only if everything but that
 * turn is identical: same system prompt, history, tools, parameters.
 */
export function semanticScope(input: SemanticInput, turnIndex: number): string {
  const messages = (input.request['messages'] as unknown[]).slice();
  messages[turnIndex] = { role: 'user', content: null };
  return cacheKey({
    provider: input.provider,
    model: input.model,
    request: { ...input.request, messages },
    scope: `semantic\u0000${input.route}\u0000${input.promptVersion ?? ''}\u0000${input.scope ?? ''}`,
  });
}

/**
 * Opt-in per route. Flow: `probe` (embed the last user turn) → `find` (nearest stored turn in
 * the same scope at or above the threshold, and its answer still cached) → on a miss, after a
 * complete answer was stored under its exact key, `record(probe, key, ttl)`. Every failure
 * (embedding, index) is a miss, counted and logged, never an error for the request.
 */
export class SemanticCache {
  private readonly index: SemanticIndex;
  private readonly cache: ResponseCache;
  private readonly now: () => number;
  private readonly embedTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly counts = { hits: 0, misses: 0, errors: 0, records: 0 };

  constructor(opts: SemanticCacheOptions) {
    this.index = opts.index;
    this.cache = opts.cache;
    this.now = opts.now ?? Date.now;
    this.embedTimeoutMs = opts.embedTimeoutMs ?? 5000;
    this.logger = opts.logger;
  }

  /** Embeds the request's last user turn; undefined when it has none or embedding failed. */
  async probe(input: SemanticInput, embed: EmbedFn): Promise<SemanticProbe | undefined> {
    const turn = lastUserTurn(input.request);
    if (!turn) return undefined;
    try {
      const raw = await withTimeout(embed(turn.text), this.embedTimeoutMs, 'embedding');
      const vector = unit(raw);
      return vector ? { scope: semanticScope(input, turn.index), vector } : undefined;
    } catch (err) {
      this.fail('embed', err);
      return undefined;
    }
  }

  async find(probe: SemanticProbe, threshold: number): Promise<SemanticHit | undefined> {
    try {
      const match = await this.index.search(probe.scope, probe.vector, threshold);
      const entry = match ? await this.cache.peek(match.cacheKey) : undefined;
      if (match && entry) {
        this.counts.hits++;
        return { entry, cacheKey: match.cacheKey, similarity: match.similarity };
      }
    } catch (err) {
      this.fail('search', err);
    }
    this.counts.misses++;
    return undefined;
  }

  /** Points the probe's vector at the exact key its answer was stored under. Fire and forget. */
  record(probe: SemanticProbe, key: string, ttlSeconds: number): void {
    if (!(ttlSeconds > 0)) return;
    this.counts.records++;
    this.index.add(probe.scope, key, probe.vector, this.now() + ttlSeconds * 1000).catch((err: unknown) => this.fail('record', err));
  }

  stats(): { hits: number; misses: number; errors: number; records: number } {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    await this.index.close();
  }

  private fail(op: string, err: unknown): void {
    this.counts.errors++;
    this.logger?.warn('semantic cache failed; serving as a miss', { op, err: err instanceof Error ? err.message : String(err) });
  }
}

/** Unit-length copy as float32, or undefined for an empty, zero or non-finite vector. */
export function unit(values: readonly number[]): Float32Array | undefined {
  let norm = 0;
  for (const v of values) norm += v * v;
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / norm;
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
