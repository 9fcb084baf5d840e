import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { completionOf } from './entry.ts';
import { RedisTier } from './redis-tier.ts';
import { ResponseCache } from './response-cache.ts';
import { entryOf, textCompletion, twoChoiceCompletion } from '../../test/helpers/completions.ts';

/** Redis on this machine (CI starts it); each run writes under its own prefix. */
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `sluice:test:${randomBytes(6).toString('hex')}:`;

/** A port where nothing listens. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function connected(tier: RedisTier): Promise<RedisTier> {
  tier.start();
  if (tier.client.status !== 'ready') await new Promise((resolve) => tier.client.once('ready', resolve));
  return tier;
}

describe('response cache through Redis', () => {
  const tiers: RedisTier[] = [];
  const tier = async () => {
    const t = await connected(new RedisTier({ url: REDIS_URL, prefix }));
    tiers.push(t);
    return t;
  };

  afterAll(async () => {
    const cleanup = tiers[0];
    if (cleanup) {
      const keys = await cleanup.client.keys(`${prefix}*`);
      if (keys.length > 0) await cleanup.client.del(...keys);
    }
    for (const t of tiers) await t.close();
  });

  it('two instances share hits: one writes, the other reads it and keeps a local copy', async () => {
    const a = new ResponseCache({ memoryBytes: 1_000_000, shared: await tier() });
    const b = new ResponseCache({ memoryBytes: 1_000_000, shared: await tier() });
    const entry = entryOf(twoChoiceCompletion(), Date.now());
    expect(await b.get('shared-key')).toBeUndefined();
    a.set('shared-key', entry, 60);
    await a.flush();
    await new Promise((r) => setTimeout(r, 20));
    const hit = await b.get('shared-key');
    expect(hit).toEqual(entry);
    expect(completionOf(hit!)).toEqual(twoChoiceCompletion());
    expect(b.getMemory('shared-key')).toBe(hit);
    expect(b.stats()).toMatchObject({ hits: 2, misses: 1, shared: { kind: 'redis', hits: 1, readErrors: 0, writeErrors: 0 } });
  });

  it('sets a Redis TTL (PX) so entries expire in Redis itself', async () => {
    const t = await tier();
    await t.set('ttl-key', entryOf(textCompletion('brief')), Date.now() + 80);
    const pttl = await t.client.pttl(`${prefix}ttl-key`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(80);
    expect(await t.get('ttl-key')).toBeDefined();
    await new Promise((r) => setTimeout(r, 120));
    expect(await t.get('ttl-key')).toBeUndefined();
    expect(await t.client.exists(`${prefix}ttl-key`)).toBe(0);
  });

  it('Redis down: lookups miss fast and writes are dropped, counted, never thrown', async () => {
    const errors: Error[] = [];
    const down = new RedisTier({ url: `redis://127.0.0.1:${await deadPort()}`, prefix, onConnectionError: (e) => errors.push(e) });
    down.start();
    const cache = new ResponseCache({ memoryBytes: 1_000_000, shared: down });
    const started = performance.now();
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('k2')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(300);
    cache.set('k3', entryOf(textCompletion('x')), 60);
    await new Promise((r) => setTimeout(r, 50));
    expect(cache.stats()).toMatchObject({ misses: 2, shared: { kind: 'redis', readErrors: 2, writeErrors: 1 } });
    expect(await cache.get('k3')).toBeDefined(); // memory still serves
    expect(errors.length).toBeGreaterThan(0);
    await cache.close();
  });
});
