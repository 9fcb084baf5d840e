import { and, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { CachedResponse } from './entry.ts';
import { responseCache } from './schema.ts';
import type { SharedHit, SharedTier } from './shared-tier.ts';

export interface PostgresTierOptions {
  /** Wall clock, epoch ms: expiry times are compared across instances. */
  now?: () => number;
  /** Writes are batched into one multi-row upsert at most this often. */
  flushMs?: number;
  /** Rows per upsert. */
  batchSize?: number;
  /** Writes queued beyond this are refused (rejected, so the cache counts them). */
  maxPending?: number;
  /** How often expired rows are deleted; 0 = never (tests call purgeExpired). */
  purgeEveryMs?: number;
  /** Called when a background purge fails. */
  onPurgeError?: (err: unknown) => void;
}

interface Batch {
  rows: Map<string, { entry: CachedResponse; expiresAt: number }>;
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

const PURGE_CHUNK = 1000;

/** A `\u0000` escape in JSON text (not an escaped backslash followed by `u0000`). */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * The Postgres shared tier (table response_cache). Reads are one primary-key lookup that skips
 * expired rows. Writes are queued and flushed as one multi-row upsert (PGlite runs in-process,
 * so many tiny inserts would cost the event loop), keeping the newest entry per key.
 */
export class PostgresTier implements SharedTier {
  readonly kind = 'postgres';
  private readonly now: () => number;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private batch: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private pending = 0;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Pick<Database, 'db'>,
    opts: PostgresTierOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.flushMs = opts.flushMs ?? 20;
    this.batchSize = opts.batchSize ?? 200;
    this.maxPending = opts.maxPending ?? 5000;
    const purgeEveryMs = opts.purgeEveryMs ?? 60_000;
    if (purgeEveryMs > 0) {
      this.purgeTimer = setInterval(() => {
        this.purgeExpired().catch((err: unknown) => opts.onPurgeError?.(err));
      }, purgeEveryMs);
      this.purgeTimer.unref();
    }
  }

  async get(key: string): Promise<SharedHit | undefined> {
    const rows = await this.database.db
      .select({
        body: sql<string>`${responseCache.value}::text`,
        usage: responseCache.usage,
        costMicros: responseCache.costMicros,
        createdAt: responseCache.createdAt,
        expiresAt: responseCache.expiresAt,
      })
      .from(responseCache)
      .where(and(eq(responseCache.key, key), gt(responseCache.expiresAt, new Date(this.now()))));
    const row = rows[0];
    if (!row) return undefined;
    return {
      entry: { body: row.body, usage: row.usage ?? null, costMicros: row.costMicros, createdAt: row.createdAt.getTime() },
      expiresAt: row.expiresAt.getTime(),
    };
  }

  set(key: string, entry: CachedResponse, expiresAt: number): Promise<void> {
    // jsonb cannot hold U+0000, and one such row would fail the whole multi-row upsert, dropping
    // every other entry of its batch too: refuse it here (it stays in the memory tier).
    if (JSON_NUL.test(entry.body)) return Promise.reject(new Error('response cache: an answer containing U+0000 cannot be stored in jsonb'));
    if (this.pending >= this.maxPending) return Promise.reject(new Error(`response cache write queue full (${this.maxPending})`));
    const batch = (this.batch ??= newBatch());
    if (!batch.rows.has(key)) this.pending++;
    batch.rows.set(key, { entry, expiresAt });
    if (batch.rows.size >= this.batchSize) this.startFlush();
    else this.timer ??= setTimeout(() => this.startFlush(), this.flushMs);
    return batch.done;
  }

  async flush(): Promise<void> {
    this.startFlush();
    await this.inFlight;
  }

  /** Deletes expired rows in chunks; returns how many went. */
  async purgeExpired(): Promise<number> {
    const now = new Date(this.now());
    let total = 0;
    for (;;) {
      const expired = this.database.db
        .select({ key: responseCache.key })
        .from(responseCache)
        .where(lte(responseCache.expiresAt, now))
        .limit(PURGE_CHUNK);
      const deleted = await this.database.db
        .delete(responseCache)
        .where(and(inArray(responseCache.key, expired), lte(responseCache.expiresAt, now)))
        .returning({ key: responseCache.key });
      total += deleted.length;
      if (deleted.length < PURGE_CHUNK) return total;
    }
  }

  async close(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.flush().catch(() => {});
  }

  /** Takes the open batch and writes it after the previous write (one write at a time). */
  private startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.inFlight = this.inFlight.then(async () => {
      try {
        await this.write(batch);
        batch.resolve();
      } catch (err) {
        batch.reject(err);
      } finally {
        this.pending -= batch.rows.size;
      }
    });
  }

  private async write(batch: Batch): Promise<void> {
    const values = [...batch.rows].map(([key, { entry, expiresAt }]) => ({
      key,
      value: sql`${entry.body}::jsonb`,
      usage: entry.usage,
      costMicros: entry.costMicros,
      createdAt: new Date(entry.createdAt),
      expiresAt: new Date(expiresAt),
    }));
    await this.database.db
      .insert(responseCache)
      .values(values)
      .onConflictDoUpdate({
        target: responseCache.key,
        set: {
          value: sql`excluded.value`,
          usage: sql`excluded.usage`,
          costMicros: sql`excluded.cost_micros`,
          createdAt: sql`excluded.created_at`,
          expiresAt: sql`excluded.expires_at`,
        },
      });
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers fire and forget; the ResponseCache attaches its own handler, this one only keeps
  // an unobserved rejection from crashing the process.
  done.catch(() => {});
  return { rows: new Map(), done, resolve, reject };
}
