import type { Database } from '../db/client.ts';
import { LeasedLimitStore, type LeaseOptions } from './leases.ts';
import { PostgresLimitStore } from './postgres-limits.ts';
import { RedisLimitStore } from './redis-limits.ts';
import type { LimitStoreOptions } from './store-options.ts';
import type { LimitStore } from './types.ts';

export { periodOf, type PeriodBounds } from './period.ts';
export { LimitStoreTimeoutError, type LimitStoreOptions } from './store-options.ts';

export interface OpenLimitStoreOptions extends LimitStoreOptions {
  database: Pick<Database, 'db'>;
  /** REDIS_URL: budgets and rate limits live in Redis when set, else in the database. */
  redisUrl?: string | undefined;
  /** Redis key prefix (default `sluice:limits:`). */
  redisPrefix?: string | undefined;
  /** How often the Postgres store deletes reservations too old to settle (default 10 min). */
  purgeEveryMs?: number | undefined;
  /** Wall clock, epoch ms (the Postgres purge timer). */
  clock?: (() => number) | undefined;
  /** Redis connection errors and failed background purges; the operations themselves throw. */
  onError?: ((err: unknown) => void) | undefined;
  /** Leases of large limits (leases.ts); off when undefined. */
  leases?: LeaseOptions | undefined;
}

/**
 * The shared budget and rate-limit store (DESIGN §4.4): Redis when a URL is given, else
 * Postgres (or the embedded PGlite). Called once by the composition root. Redis starts
 * connecting in the background; until it is up, operations wait up to `timeoutMs` and throw.
 */
export function openLimitStore(opts: OpenLimitStoreOptions): LimitStore {
  const shared: LimitStoreOptions = {};
  if (opts.reservationTtlMs !== undefined) shared.reservationTtlMs = opts.reservationTtlMs;
  if (opts.lateSettleMs !== undefined) shared.lateSettleMs = opts.lateSettleMs;
  if (opts.timeoutMs !== undefined) shared.timeoutMs = opts.timeoutMs;
  const onError = opts.onError;
  if (opts.redisUrl) {
    const store = new RedisLimitStore({
      ...shared,
      url: opts.redisUrl,
      ...(opts.redisPrefix === undefined ? {} : { prefix: opts.redisPrefix }),
      ...(onError ? { onConnectionError: onError } : {}),
    });
    store.start();
    return opts.leases ? new LeasedLimitStore(store, opts.leases, opts.clock) : store;
  }
  const store = new PostgresLimitStore(opts.database, {
    ...shared,
    ...(opts.purgeEveryMs === undefined ? {} : { purgeEveryMs: opts.purgeEveryMs }),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(onError ? { onPurgeError: onError } : {}),
  });
  return opts.leases ? new LeasedLimitStore(store, opts.leases, opts.clock) : store;
}
