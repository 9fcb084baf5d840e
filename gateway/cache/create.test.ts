import { describe, expect, it } from 'vitest';
import { cacheDefaultsSchema } from '../config/routes-schema.ts';
import type { Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { createCache } from './create.ts';

/** Never queried here: the tiers open nothing until used. */
const database = { db: {} } as unknown as Pick<Database, 'db'>;
const config = (shared: 'auto' | 'postgres' | 'redis' | 'none') => cacheDefaultsSchema.parse({ shared, memory_bytes: 1_000_000 });

describe('createCache', () => {
  it.each([
    ['auto', 'redis://127.0.0.1:6379', 'redis'],
    ['auto', undefined, 'postgres'],
    ['postgres', 'redis://127.0.0.1:6379', 'postgres'],
    ['redis', 'redis://127.0.0.1:6379', 'redis'],
    ['none', 'redis://127.0.0.1:6379', 'none'],
  ] as const)('shared: %s with REDIS_URL %s → %s tier', async (shared, redisUrl, kind) => {
    const services = createCache({ config: config(shared), redisUrl, database, logger: silentLogger, redisPrefix: 'sluice:test:create:' });
    expect(services.stats().responses).toMatchObject({ memory: { maxBytes: 1_000_000 }, shared: { kind } });
    await services.close();
  });

  it('is memory-only without a database, and refuses redis without REDIS_URL', async () => {
    const services = createCache({ config: config('auto'), logger: silentLogger });
    expect(services.stats().responses.shared.kind).toBe('none');
    await services.close();
    expect(() => createCache({ config: config('redis'), database, logger: silentLogger })).toThrow(/REDIS_URL/);
  });
});
