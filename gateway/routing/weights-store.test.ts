import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../test/helpers/test-db.ts';
import { auditLog } from '../../prompts/schema.ts';
import { parseConfig } from '../config/load.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { closeProviders, createProviders, type Providers } from '../providers/registry.ts';
import { Router } from './router.ts';
import { routeLayouts } from './schema.ts';
import { RouteWeightsStore } from './weights-store.ts';

const config = parseConfig(
  {
    providers: { openai: { type: 'openai', api_key: 'sk-test' } },
    routes: {
      three: {
        variants: [
          { name: 'a', target: 'openai/a', weight: 40 },
          { name: 'b', target: 'openai/b', weight: 20 },
          { name: 'c', target: 'openai/c', weight: 40 },
        ],
      },
      other: { variants: [{ name: 'only', target: 'openai/o' }] },
    },
  },
  {},
);

/** Two gateway instances' views of one database: PGlite is in-process (one handle); Postgres gets two pools. */
interface Pair {
  a: Database;
  b: Database;
  close(): Promise<void>;
}

async function openPair(kind: 'pglite' | 'postgres'): Promise<Pair> {
  if (kind === 'pglite') {
    const db = await openDatabase({});
    await db.migrate();
    return { a: db, b: db, close: () => db.close() };
  }
  const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
  const a = await openDatabase({ url: scratch.url, max: 3 });
  await a.migrate();
  const b = await openDatabase({ url: scratch.url, max: 3 });
  return {
    a,
    b,
    async close() {
      await Promise.all([a.close(), b.close()]);
      await scratch.drop();
    },
  };
}

const kinds: Array<'pglite' | 'postgres'> = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

async function within<T>(ms: number, probe: () => T | undefined): Promise<{ value: T; elapsed: number }> {
  const start = performance.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return { value, elapsed: performance.now() - start };
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SUBJECTS = Array.from({ length: 10_000 }, (_, i) => `subject-${i}`);
const variantsOf = (router: Router) => SUBJECTS.map((s) => router.route('three', { subject: s, random: Math.random }).variant);

describe.each(kinds)('RouteWeightsStore on %s', (kind) => {
  let pair: Pair;
  let providers: Providers;
  let storeA: RouteWeightsStore;
  let storeB: RouteWeightsStore;
  let routerA: Router;
  let routerB: Router;
  let original: string[];

  const audit = () => pair.a.db.select().from(auditLog).where(eq(auditLog.subject, 'route:three')).orderBy(auditLog.at, auditLog.id);

  beforeAll(async () => {
    pair = await openPair(kind);
    providers = createProviders(config, { now: Date.now });
    storeA = new RouteWeightsStore({ database: pair.a, routes: config.routes });
    storeB = new RouteWeightsStore({ database: pair.b, routes: config.routes });
    await Promise.all([storeA.start(), storeB.start()]);
    routerA = new Router({ config, providers, weights: storeA });
    routerB = new Router({ config, providers, weights: storeB });
    original = variantsOf(routerA);
  });
  afterAll(async () => {
    storeA.stop();
    storeB.stop();
    await closeProviders(providers);
    await pair.close();
  });

  it('listens on Postgres and polls on PGlite', () => {
    expect(storeB.listening).toBe(kind === 'postgres');
  });

  it('serves the config weights before any change', () => {
    expect(storeA.allocation('three')).toMatchObject({ source: 'config', weights: [40, 20, 40] });
    expect(variantsOf(routerB)).toEqual(original);
  });

  it('PUT: stores, audits, applies at once here and within 1 s on the other instance; moves only a→c', async () => {
    const change = await storeA.setWeights('three', { a: 20, c: 60 }, 'key-1');
    expect(change).toEqual({
      route: 'three',
      changed: true,
      before: { source: 'config', weights: { a: 40, b: 20, c: 40 } },
      after: { source: 'override', weights: { a: 20, b: 20, c: 60 } },
    });
    expect(storeA.allocation('three')).toMatchObject({ source: 'override', weights: [20, 20, 60] });
    expect(storeA.meta('three')).toMatchObject({ updatedBy: 'key-1', updatedAt: expect.any(Date) });
    const { elapsed } = await within(1_000, () => (storeB.allocation('three')?.source === 'override' ? true : undefined));
    expect(elapsed).toBeLessThan(1_000);

    const [onA, onB] = [variantsOf(routerA), variantsOf(routerB)];
    expect(onB).toEqual(onA); // 100% sticky across instances after the change
    let moved = 0;
    onA.forEach((v, i) => {
      if (v !== original[i]) {
        expect([original[i], v]).toEqual(['a', 'c']);
        moved++;
      }
    });
    expect(Math.abs(moved - 2000)).toBeLessThan(200);

    const rows = await audit();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'key-1', action: 'route.weights', before: change.before, after: change.after });
  });

  it('a further PUT edits the stored layout (the other instance and a restarted one agree)', async () => {
    const beforeChange = variantsOf(routerA);
    await storeA.setWeights('three', { b: 30, c: 50 }, 'key-1'); // 10 from c to b
    await within(1_000, () => (storeB.allocation('three')?.weights[1] === 30 ? true : undefined));
    const onA = variantsOf(routerA);
    onA.forEach((v, i) => {
      if (v !== beforeChange[i]) expect([beforeChange[i], v]).toEqual(['c', 'b']);
    });
    expect(variantsOf(routerB)).toEqual(onA);
    const restarted = new RouteWeightsStore({ database: pair.b, routes: config.routes });
    await restarted.start();
    restarted.stop();
    expect(restarted.allocation('three')).toEqual(storeA.allocation('three'));
  });

  it('DELETE reverts to the config weights (audited), undoing the moves, and propagates', async () => {
    const change = await storeA.resetWeights('three', 'key-2');
    expect(change).toMatchObject({ changed: true, after: { source: 'config', weights: { a: 40, b: 20, c: 40 } } });
    await within(1_000, () => (storeB.allocation('three')?.source === 'config' ? true : undefined));
    expect(variantsOf(routerB)).toEqual(original);
    expect(variantsOf(routerA)).toEqual(original);
    const rows = await audit();
    expect(rows.map((r) => r.action)).toEqual(['route.weights', 'route.weights', 'route.weights_reset']);
    expect(rows[2]).toMatchObject({ actor: 'key-2', before: { source: 'override', weights: { a: 20, b: 30, c: 50 } } });
    // Nothing to revert: no write, no audit row.
    expect(await storeA.resetWeights('three', 'key-2')).toMatchObject({ changed: false });
    expect(await audit()).toHaveLength(3);
  });

  it('rejects bad input with 4xx and writes nothing', async () => {
    const fail = async (p: Promise<unknown>): Promise<GatewayError> => {
      try {
        await p;
      } catch (err) {
        expect(err).toBeInstanceOf(GatewayError);
        return err as GatewayError;
      }
      throw new Error('expected a GatewayError');
    };
    expect(await fail(storeA.setWeights('nope', { a: 1 }, 'k'))).toMatchObject({ status: 404, code: 'not_found' });
    const unknown = await fail(storeA.setWeights('three', { a: 1, zz: 2 }, 'k'));
    expect(unknown).toMatchObject({ status: 400, param: 'weights.zz' });
    expect(unknown.message).toMatch(/no variant 'zz'.*'a', 'b', 'c'/);
    expect(await fail(storeA.setWeights('three', { b: -1 }, 'k'))).toMatchObject({ status: 400, param: 'weights.b' });
    expect(await fail(storeA.setWeights('three', { a: Number.NaN }, 'k'))).toMatchObject({ status: 400, param: 'weights.a' });
    const zero = await fail(storeA.setWeights('three', { a: 0, b: 0, c: 0 }, 'k'));
    expect(zero).toMatchObject({ status: 400, param: 'weights' });
    expect(await fail(storeA.resetWeights('nope', 'k'))).toMatchObject({ status: 404 });
    expect(await audit()).toHaveLength(3);
    expect(storeA.allocation('three')).toMatchObject({ source: 'config' });
  });

  it('DELETE on a route that was never changed writes nothing', async () => {
    expect(await storeA.resetWeights('other', 'k')).toEqual({
      route: 'other',
      changed: false,
      before: { source: 'config', weights: { only: 1 } },
      after: { source: 'config', weights: { only: 1 } },
    });
    expect(await pair.a.db.select().from(routeLayouts).where(eq(routeLayouts.route, 'other'))).toEqual([]);
  });

  it('concurrent changes from two instances are serialised: both apply, the layout stays whole', async () => {
    await Promise.all([storeA.setWeights('three', { a: 10 }, 'k-a'), storeB.setWeights('three', { b: 50 }, 'k-b')]);
    await storeA.reload();
    await storeB.reload();
    expect(storeA.allocation('three')).toMatchObject({ source: 'override', weights: [10, 50, 40] });
    expect(storeB.allocation('three')).toEqual(storeA.allocation('three'));
    expect(variantsOf(routerB)).toEqual(variantsOf(routerA));
    expect((await audit()).map((r) => r.actor).slice(-2).sort()).toEqual(['k-a', 'k-b']);
  });
});
