import { Redis, type RedisOptions } from 'ioredis';
import type { CachedResponse } from './entry.ts';
import { deserializeEntry, serializeEntry, type SharedHit, type SharedTier } from './shared-tier.ts';

export interface RedisTierOptions {
  /** redis:// URL (REDIS_URL). */
  url: string;
  /** Prepended to every key; lets tests and several deployments share one Redis. */
  prefix?: string;
  /** Wall clock, epoch ms. */
  now?: () => number;
  /** A command slower than this fails (and the cache counts a miss). */
  commandTimeoutMs?: number;
  /** Called for connection errors (ioredis reports each failed reconnect). */
  onConnectionError?: (err: Error) => void;
}

/**
 * The Redis shared tier: `SET key value PX ttl`, `GET key`. Redis being down must never slow
 * or fail a request, so commands are not queued while disconnected (they fail at once and the
 * cache counts a miss), every command has a timeout, and the client keeps reconnecting in the
 * background with a capped backoff.
 */
export class RedisTier implements SharedTier {
  readonly kind = 'redis';
  readonly client: Redis;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(opts: RedisTierOptions) {
    this.prefix = opts.prefix ?? 'sluice:cache:';
    this.now = opts.now ?? Date.now;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 250,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    };
    this.client = new Redis(opts.url, options);
    // Without a listener an 'error' event would crash the process.
    this.client.on('error', (err: Error) => opts.onConnectionError?.(err));
  }

  /** Starts connecting; never rejects (until connected, reads miss and writes are dropped). */
  start(): void {
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
  }

  async get(key: string): Promise<SharedHit | undefined> {
    const text = await this.client.get(this.prefix + key);
    if (text === null) return undefined;
    const hit = deserializeEntry(text);
    return hit && hit.expiresAt > this.now() ? hit : undefined;
  }

  async set(key: string, entry: CachedResponse, expiresAt: number): Promise<void> {
    const ttlMs = Math.ceil(expiresAt - this.now());
    if (ttlMs <= 0) return;
    await this.client.set(this.prefix + key, serializeEntry(entry, expiresAt), 'PX', ttlMs);
  }

  async flush(): Promise<void> {
    // Writes are sent as they come; nothing is queued here.
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
