import { and, desc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client.ts';
import { semanticCache } from './schema.ts';

/** The nearest stored neighbour above a threshold. */
export interface SemanticMatch {
  cacheKey: string;
  similarity: number;
}

/**
 * Where embeddings of cached requests live, per scope. Vectors are unit length, so cosine
 * similarity is a dot product.
 */
export interface SemanticIndex {
  search(scope: string, vector: Float32Array, threshold: number): Promise<SemanticMatch | undefined>;
  add(scope: string, cacheKey: string, vector: Float32Array, expiresAt: number): Promise<void>;
  close(): Promise<void>;
}

interface Item {
  cacheKey: string;
  vector: Float32Array;
  expiresAt: number;
}

export interface MemorySemanticIndexOptions {
  /** Bound on the bytes all vectors hold (default 32 MiB: ~5,000 vectors of 1,536 dimensions). */
  maxBytes?: number;
  /** Vectors kept per scope, newest first (a lookup scans at most this many). */
  maxPerScope?: number;
  now?: () => number;
}

const ITEM_OVERHEAD = 160;

/**
 * An in-process index: per scope, the newest `maxPerScope` vectors, with scopes in an LRU
 * bounded by bytes. A lookup is a linear scan of one scope — a few thousand dot products, well
 * under a millisecond, and small next to the embedding call that precedes it.
 */
export class MemorySemanticIndex implements SemanticIndex {
  private readonly scopes: LRUCache<string, Item[]>;
  private readonly maxPerScope: number;
  private readonly now: () => number;

  constructor(opts: MemorySemanticIndexOptions = {}) {
    this.maxPerScope = opts.maxPerScope ?? 1000;
    this.now = opts.now ?? Date.now;
    const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
    this.scopes = new LRUCache<string, Item[]>({
      maxSize: maxBytes,
      sizeCalculation: (items) => items.reduce((n, it) => n + it.vector.byteLength + ITEM_OVERHEAD, 64) || 1,
    });
  }

  async search(scope: string, vector: Float32Array, threshold: number): Promise<SemanticMatch | undefined> {
    return this.searchNow(scope, vector, threshold);
  }

  searchNow(scope: string, vector: Float32Array, threshold: number): SemanticMatch | undefined {
    const items = this.scopes.get(scope);
    if (!items) return undefined;
    const now = this.now();
    let best: SemanticMatch | undefined;
    for (const item of items) {
      if (item.expiresAt <= now || item.vector.length !== vector.length) continue;
      const similarity = dot(item.vector, vector);
      if (similarity >= threshold && (!best || similarity > best.similarity)) best = { cacheKey: item.cacheKey, similarity };
    }
    return best;
  }

  async add(scope: string, cacheKey: string, vector: Float32Array, expiresAt: number): Promise<void> {
    const now = this.now();
    const kept = (this.scopes.get(scope) ?? []).filter((it) => it.cacheKey !== cacheKey && it.expiresAt > now);
    kept.unshift({ cacheKey, vector, expiresAt });
    if (kept.length > this.maxPerScope) kept.length = this.maxPerScope;
    // Set again so the LRU re-measures the scope.
    this.scopes.set(scope, kept);
  }

  /** Replaces a scope's items (the Postgres index loading its mirror). */
  replace(scope: string, items: Item[]): void {
    this.scopes.set(scope, items.slice(0, this.maxPerScope));
  }

  async close(): Promise<void> {
    this.scopes.clear();
  }
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

export interface PostgresSemanticIndexOptions extends MemorySemanticIndexOptions {
  /** A scope's mirror is reloaded from the table when older than this (default 5 s). */
  refreshMs?: number;
  /** How often expired rows are deleted; 0 = never (tests call purgeExpired). Default 5 min. */
  purgeEveryMs?: number;
  onPurgeError?: (err: unknown) => void;
}

/**
 * The plain (no pgvector) shared index: rows in semantic_cache (embedding as real[]), mirrored
 * per scope in memory. A lookup reloads a scope's newest rows when its mirror is older than
 * `refreshMs` — one indexed query per scope per interval — and scans the mirror in JS; other
 * instances' answers are thus seen within `refreshMs`.
 */
export class PostgresSemanticIndex implements SemanticIndex {
  private readonly mirror: MemorySemanticIndex;
  private readonly loadedAt = new Map<string, number>();
  private readonly refreshMs: number;
  private readonly maxPerScope: number;
  private readonly now: () => number;
  private readonly purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Pick<Database, 'db'>,
    opts: PostgresSemanticIndexOptions = {},
  ) {
    this.mirror = new MemorySemanticIndex(opts);
    this.refreshMs = opts.refreshMs ?? 5000;
    this.maxPerScope = opts.maxPerScope ?? 1000;
    this.now = opts.now ?? Date.now;
    const purgeEveryMs = opts.purgeEveryMs ?? 300_000;
    if (purgeEveryMs > 0) {
      this.purgeTimer = setInterval(() => {
        this.purgeExpired().catch((err: unknown) => opts.onPurgeError?.(err));
      }, purgeEveryMs);
      this.purgeTimer.unref();
    }
  }

  async search(scope: string, vector: Float32Array, threshold: number): Promise<SemanticMatch | undefined> {
    const loaded = this.loadedAt.get(scope);
    if (loaded === undefined || this.now() - loaded >= this.refreshMs) await this.load(scope);
    return this.mirror.searchNow(scope, vector, threshold);
  }

  async add(scope: string, cacheKey: string, vector: Float32Array, expiresAt: number): Promise<void> {
    await this.mirror.add(scope, cacheKey, vector, expiresAt);
    const row = { scope, cacheKey, embedding: Array.from(vector), createdAt: new Date(this.now()), expiresAt: new Date(expiresAt) };
    await this.database.db
      .insert(semanticCache)
      .values(row)
      .onConflictDoUpdate({
        target: [semanticCache.scope, semanticCache.cacheKey],
        set: { embedding: sql`excluded.embedding`, createdAt: sql`excluded.created_at`, expiresAt: sql`excluded.expires_at` },
      });
  }

  /** Deletes expired rows in chunks; returns how many went. */
  async purgeExpired(): Promise<number> {
    const now = new Date(this.now());
    const expired = this.database.db.select({ scope: semanticCache.scope }).from(semanticCache).where(lte(semanticCache.expiresAt, now)).limit(1000);
    const deleted = await this.database.db
      .delete(semanticCache)
      .where(and(lte(semanticCache.expiresAt, now), inArray(semanticCache.scope, expired)))
      .returning({ scope: semanticCache.scope });
    return deleted.length;
  }

  async close(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.mirror.close();
  }

  private async load(scope: string): Promise<void> {
    const now = this.now();
    const rows = await this.database.db
      .select({ cacheKey: semanticCache.cacheKey, embedding: semanticCache.embedding, expiresAt: semanticCache.expiresAt })
      .from(semanticCache)
      .where(and(eq(semanticCache.scope, scope), gt(semanticCache.expiresAt, new Date(now))))
      .orderBy(desc(semanticCache.createdAt))
      .limit(this.maxPerScope);
    this.mirror.replace(
      scope,
      rows.map((r) => ({ cacheKey: r.cacheKey, vector: Float32Array.from(r.embedding), expiresAt: r.expiresAt.getTime() })),
    );
    this.loadedAt.set(scope, now);
    if (this.loadedAt.size > 10_000) this.loadedAt.clear();
  }
}
