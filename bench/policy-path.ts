/**
 * `node --import tsx bench/policy-path.ts`: the governor's per-call cost in process
 * (gateway/policy/governor-bench.ts) on Redis (REDIS_URL, default redis://127.0.0.1:6379) and on
 * the database store (DATABASE_URL — it migrates that database and leaves a few limit rows —
 * else PGlite), and the store's two trips alone
 * (gateway/governance/limits-bench.ts). Flags: --iterations N, --rounds N, --store redis|postgres,
 * --no-leases (the governor on the bare store, as with `governance.leases.enabled: false`).
 * Medians of many sequential calls: the per-call cost without HTTP, less noisy than the
 * end-to-end section (bench/key-policies.ts) on a busy machine.
 */
import { parseArgs } from 'node:util';
import { openDatabase } from '../gateway/db/client.ts';
import { benchLimitStore } from '../gateway/governance/limits-bench.ts';
import { LeasedLimitStore } from '../gateway/governance/leases.ts';
import { openLimitStore } from '../gateway/governance/limits.ts';
import type { LimitStore } from '../gateway/governance/types.ts';
import { RedisLimitStore } from '../gateway/governance/redis-limits.ts';
import { benchGovernor } from '../gateway/policy/governor-bench.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string' }, rounds: { type: 'string' }, store: { type: 'string' }, 'no-leases': { type: 'boolean', default: false } } });
/** The config's defaults (governance.leases), as the gateway wraps its store. */
const LEASES = { ttlMs: 1_000, share: 0.01, maxRequests: 1_000 };
const governed = (store: LimitStore): LimitStore => (values['no-leases'] ? store : new LeasedLimitStore(store, LEASES));
const opts = { iterations: Number(values.iterations ?? 2000), rounds: Number(values.rounds ?? 5) };
const only = values.store;

if (!only || only === 'redis') {
  const prefix = `sluice:bench:policy-path:${process.pid}:`;
  const redis = new RedisLimitStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix });
  redis.start();
  console.log('redis governor', await benchGovernor(governed(redis), opts));
  console.log('redis store', await benchLimitStore(redis, opts.iterations));
  // What the run wrote lives until its budget periods end: remove it.
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.client.del(...keys);
  } while (cursor !== '0');
  await redis.close();
}
if (!only || only === 'postgres') {
  const database = await openDatabase(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : {});
  await database.migrate();
  const pg = openLimitStore({ database, purgeEveryMs: 0 });
  const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  console.log(`${kind} governor`, await benchGovernor(governed(pg), { ...opts, iterations: Math.min(opts.iterations, 500) }));
  console.log(`${kind} store`, await benchLimitStore(pg, Math.min(opts.iterations, 500)));
  await pg.close();
  await database.close();
}
