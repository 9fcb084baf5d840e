import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../gateway/db/client.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { PromptError } from './errors.ts';
import { parsePromptRef, PromptResolver } from './resolver.ts';
import { PromptStore } from './store.ts';
import type { PromptContent } from './types.ts';

const content = (text: string): PromptContent => ({ messages: [{ role: 'system', content: text }], model: null, params: {}, variables: null });

describe('parsePromptRef', () => {
  it('reads name@label, name@3 and a bare name', () => {
    expect(parsePromptRef('support@production')).toEqual({ name: 'support', ref: { label: 'production' } });
    expect(parsePromptRef('support@3')).toEqual({ name: 'support', ref: { version: 3 } });
    expect(parsePromptRef('support')).toEqual({ name: 'support', ref: { label: 'latest' } });
    expect(parsePromptRef('support', 'production')).toEqual({ name: 'support', ref: { label: 'production' } });
  });
});

describe.each(testDatabases())('PromptResolver on $kind', (target) => {
  let database: Database;
  // Two gateway instances sharing one database: each has its own store and resolver.
  let storeA: PromptStore;
  let storeB: PromptStore;
  let a: PromptResolver;
  let b: PromptResolver;
  const errors: unknown[] = [];

  beforeAll(async () => {
    database = await target.open();
    storeA = new PromptStore(database);
    storeB = new PromptStore(database);
    await storeA.createPrompt('support', null, 't');
    await storeA.createVersion('support', content('v1'), 't');
    await storeA.createVersion('support', content('v2'), 't');
    await storeA.moveLabel('support', 'production', 1, 't');
    a = new PromptResolver({ store: storeA, onError: (e) => errors.push(e) });
    b = new PromptResolver({ store: storeB, onError: (e) => errors.push(e) });
    await Promise.all([a.start(), b.start()]);
  });
  afterAll(async () => {
    a?.stop();
    b?.stop();
    await database?.close();
  });

  it('listens on Postgres and polls on PGlite', () => {
    expect(b.listening).toBe(target.kind === 'postgres');
  });

  it('serves warmed prompts synchronously from memory', () => {
    expect(b.resolveCached('support', { label: 'production' })?.version).toBe(1);
    expect(b.resolveCached('support', { label: 'latest' })?.version).toBe(2);
    expect(b.resolveCached('support', { version: 2 })?.messages).toEqual([{ role: 'system', content: 'v2' }]);
    expect(b.resolveCached('support', { label: 'staging' })).toBeUndefined();
    expect(b.resolveCached('unknown', { label: 'latest' })).toBeUndefined();
  });

  it('resolve() loads from the database on a miss and then caches', async () => {
    await storeA.createPrompt('later', null, 't');
    await storeA.createVersion('later', content('l1'), 't');
    const v = await b.resolve('later', { version: 1 });
    expect(v.messages).toEqual([{ role: 'system', content: 'l1' }]);
    expect(b.resolveCached('later', { version: 1 })).toBe(v);
    expect((await b.resolve('later', { label: 'latest' })).version).toBe(1);
  });

  it('unknown prompts, labels and versions are 404s', async () => {
    await expect(b.resolve('ghost', { label: 'latest' })).rejects.toMatchObject({ status: 404, param: 'name' });
    await expect(b.resolve('ghost', { label: 'latest' })).rejects.toBeInstanceOf(PromptError);
    await expect(b.resolve('support', { label: 'staging' })).rejects.toMatchObject({ status: 404, param: 'label' });
    await expect(b.resolve('support', { version: 99 })).rejects.toMatchObject({ status: 404, param: 'version' });
  });

  it('a prompt created after a miss is found (the negative cache is invalidated)', async () => {
    await expect(b.resolve('fresh', { label: 'latest' })).rejects.toMatchObject({ status: 404 });
    await storeA.createPrompt('fresh', null, 't');
    await storeA.createVersion('fresh', content('f1'), 't');
    await expect.poll(() => b.resolve('fresh', { label: 'latest' }).then((v) => v.version, () => null), { timeout: 1500, interval: 50 }).toBe(1);
  });

  it('a label move made through one instance is seen by the other within one second', async () => {
    const latencies: number[] = [];
    for (const to of [2, 1, 2]) {
      const t0 = performance.now();
      await storeA.moveLabel('support', 'production', to, 'ops');
      // The writer's own resolver sees its change at once (store.watch).
      expect(a.resolveCached('support', { label: 'production' })?.version).toBe(to);
      while (b.resolveCached('support', { label: 'production' })?.version !== to) {
        if (performance.now() - t0 > 1000) throw new Error(`instance B still serves an old version after 1 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - t0);
    }
    console.info(`[${target.kind}] label move seen by a second resolver after ${latencies.map((l) => `${l.toFixed(0)} ms`).join(', ')}`);
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });

  it('a new version moves `latest` on the other instance too', async () => {
    const t0 = performance.now();
    await storeA.createVersion('support', content('v3'), 't');
    await expect.poll(() => b.resolveCached('support', { label: 'latest' })?.version, { timeout: 1000, interval: 5 }).toBe(3);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(errors).toEqual([]);
  });

  it('a label split sends draws below its percent to the split version, from memory on both instances', async () => {
    await storeA.createPrompt('rollout', null, 't');
    for (const text of ['r1', 'r2', 'r3']) await storeA.createVersion('rollout', content(text), 't');
    await storeA.moveLabel('rollout', 'production', 1, 't');
    // A prompt created after start() is in memory once it was asked for (and the NOTIFYs of its creation are in).
    for (const r of [a, b]) expect((await r.resolve('rollout', { label: 'production' })).version).toBe(1);
    for (const r of [a, b]) await expect.poll(() => r.resolveCached('rollout', { label: 'production' })?.version, { timeout: 1500, interval: 5 }).toBe(1);

    await storeA.setLabelSplit('rollout', 'production', 2, 30, 'ops');
    // The writer's own resolver at once; the other once its poll (or NOTIFY) has reloaded.
    expect(a.resolveCached('rollout', { label: 'production' }, 0)?.version).toBe(2);
    await expect.poll(() => b.resolveCached('rollout', { label: 'production' }, 0)?.version, { timeout: 1500, interval: 5 }).toBe(2);
    for (const r of [a, b]) {
      expect([0, 0.1, 0.2999].map((u) => r.resolveCached('rollout', { label: 'production' }, u)?.version)).toEqual([2, 2, 2]);
      expect([0.3, 0.5, 0.9999].map((u) => r.resolveCached('rollout', { label: 'production' }, u)?.version)).toEqual([1, 1, 1]);
      // No draw: the label's own version. A pinned version or `latest` is never split.
      expect(r.resolveCached('rollout', { label: 'production' })?.version).toBe(1);
      expect(r.resolveCached('rollout', { version: 1 }, 0)?.version).toBe(1);
      expect(r.resolveCached('rollout', { label: 'latest' }, 0)?.version).toBe(3);
    }
    expect((await b.resolve('rollout', { label: 'production' }, () => 0.1)).version).toBe(2);

    // A draw function is called only for a label that has a split.
    let draws = 0;
    const counted = () => {
      draws++;
      return 0.1;
    };
    b.resolveCached('rollout', { label: 'latest' }, counted);
    b.resolveCached('support', { label: 'production' }, counted);
    expect(draws).toBe(0);
    b.resolveCached('rollout', { label: 'production' }, counted);
    expect(draws).toBe(1);
    expect(errors).toEqual([]);
  });

  it('loads a split version with the heads, and sees a split changed through the other instance or inside a transaction', async () => {
    // A resolver started after the split serves both sides from memory without a read.
    await storeB.setLabelSplit('rollout', 'production', 3, 50, 'ops');
    const c = new PromptResolver({ store: new PromptStore(database), onError: (e) => errors.push(e) });
    await c.start();
    try {
      // (Polled: on Postgres the split's NOTIFY may still arrive, and reload the prompt once more.)
      await expect.poll(() => c.resolveCached('rollout', { label: 'production' }, 0.49)?.messages, { timeout: 1500, interval: 5 }).toEqual([
        { role: 'system', content: 'r3' },
      ]);
      expect(c.resolveCached('rollout', { label: 'production' }, 0.5)?.messages).toEqual([{ role: 'system', content: 'r1' }]);

      // Made through B's store: A reloads by its poll (PGlite) or NOTIFY (Postgres).
      await expect.poll(() => a.resolveCached('rollout', { label: 'production' }, 0.4)?.version, { timeout: 1500, interval: 5 }).toBe(3);
      await storeB.clearLabelSplit('rollout', 'production', 'ops');
      await expect.poll(() => a.resolveCached('rollout', { label: 'production' }, 0)?.version, { timeout: 1500, interval: 5 }).toBe(1);

      // In a caller's transaction the store tells no watcher: even A's own resolver learns of it by polling.
      await database.db.transaction(async (tx) => {
        await storeA.moveLabel('rollout', 'production', 2, 'engine', tx);
        await storeA.setLabelSplit('rollout', 'production', 3, 100, 'engine', tx);
      });
      for (const r of [a, b, c]) {
        await expect.poll(() => r.resolveCached('rollout', { label: 'production' }, 0.99)?.version, { timeout: 1500, interval: 5 }).toBe(3);
        expect(r.resolveCached('rollout', { label: 'production' })?.version).toBe(2);
      }
    } finally {
      c.stop();
    }
    expect(errors).toEqual([]);
  });
});
