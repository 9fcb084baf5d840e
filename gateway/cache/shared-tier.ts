import type { CachedResponse } from './entry.ts';

/** An entry read from a shared tier, with the absolute time it expires (epoch ms). */
export interface SharedHit {
  entry: CachedResponse;
  expiresAt: number;
}

/**
 * A cache tier every instance sees (Postgres table or Redis). Methods may reject; the
 * ResponseCache turns every failure into a miss or a dropped write and counts it, so a tier
 * never has to swallow its own errors.
 */
export interface SharedTier {
  readonly kind: 'postgres' | 'redis';
  get(key: string): Promise<SharedHit | undefined>;
  /** Resolves once the entry is stored (or rejects); callers do not wait for it. */
  set(key: string, entry: CachedResponse, expiresAt: number): Promise<void>;
  /** Writes whatever is queued (shutdown, tests). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Separates the meta line from the completion body in a serialised entry. */
const SEP = '\n';

/**
 * One string for stores that keep text (Redis): a JSON meta line, then the completion's JSON
 * exactly as cached. The meta line is JSON.stringify output, so it holds no raw newline.
 */
export function serializeEntry(entry: CachedResponse, expiresAt: number): string {
  return JSON.stringify({ u: entry.usage, c: entry.costMicros, t: entry.createdAt, e: expiresAt }) + SEP + entry.body;
}

export function deserializeEntry(text: string): SharedHit | undefined {
  const cut = text.indexOf(SEP);
  if (cut < 0) return undefined;
  const meta = JSON.parse(text.slice(0, cut)) as { u: CachedResponse['usage']; c: number | null; t: number; e: number };
  return { entry: { body: text.slice(cut + 1), usage: meta.u, costMicros: meta.c, createdAt: meta.t }, expiresAt: meta.e };
}
