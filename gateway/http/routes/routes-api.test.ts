import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildRollups } from '../../calls/rollup.ts';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { calls } from '../../calls/schema.ts';
import { parseConfig } from '../../config/load.ts';
import type { Database } from '../../db/client.ts';
import { silentLogger } from '../../logger.ts';
import { closeProviders, createProviders, type Providers } from '../../providers/registry.ts';
import { Router } from '../../routing/router.ts';
import type { RouteStats, VariantStats } from '../../routing/stats.ts';
import { RouteWeightsStore } from '../../routing/weights-store.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { routesApi } from './routes-api.ts';

const T0 = Date.parse('2031-06-15T12:00:00Z');
const MIN = 60_000;

const config = parseConfig(
  {
    providers: {
      openai: { type: 'openai', api_key: 'sk-test' },
      local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1' },
    },
    routes: {
      'support-bot': {
        variants: [
          { name: 'control', target: 'openai/gpt-4o-mini', prompt: 'support@production', weight: 90 },
          { name: 'candidate', target: [{ target: 'local/llama3', weight: 2 }, { target: 'openai/gpt-4o' }], weight: 10 },
        ],
        shadow: { target: 'local/qwen', sample: 0.05 },
        fallbacks: ['openai/gpt-4o-mini', 'openai/gpt-4.1'],
        circuit_breaker: { failures: 3, cooldown_ms: 10_000 },
      },
      other: { variants: [{ name: 'only', target: 'openai/o' }] },
    },
  },
  {},
);

type CallInsert = typeof calls.$inferInsert;
type Seed = { variant: string | null; status?: CallInsert['status']; latency?: number; cost?: number | null; at?: number; shadow?: boolean; route?: string };

/**
 * The seeded call log. Expected values were computed by hand with scipy/numpy
 * (norm.ppf, t.ppf, ttest_ind(equal_var=False), numpy.percentile) on exactly these numbers.
 */
function seedRows(): { rows: CallInsert[]; scores: Array<{ i: number; scorer: string; score: number }> } {
  const seeds: Seed[] = [];
  const ctlLat = [100, 120, 130, 150, 200, 210, 250, 300, 400, 1000];
  const ctlCost = [100, 200, 150, 100, 300, 250, 200, 100, 150, 450];
  ctlLat.forEach((latency, i) => seeds.push({ variant: 'control', latency, cost: ctlCost[i]! }));
  const candLat = [90, 95, 100, 110, 115, 120, 180, 500];
  const candCost = [50, 60, 70, 80, 90, 100, 110, null];
  candLat.forEach((latency, i) => seeds.push({ variant: 'candidate', latency, cost: candCost[i]! }));
  for (const status of ['upstream_error', 'upstream_error', 'gateway_error', 'client_error', 'client_aborted'] as const) {
    seeds.push({ variant: 'control', status, latency: 5000, cost: null });
  }
  seeds.push({ variant: 'candidate', status: 'upstream_error', latency: 7000, cost: null });
  // Left out: shadow calls, calls before the window, other routes, calls without a variant.
  seeds.push({ variant: 'candidate', latency: 1, cost: 1, shadow: true });
  seeds.push({ variant: 'control', latency: 1, cost: 1, at: T0 - 3 * 86_400_000 });
  seeds.push({ variant: 'control', latency: 1, cost: 1, route: 'other' });
  seeds.push({ variant: null, latency: 1, cost: 1 });
  // A variant no longer configured still shows up.
  seeds.push({ variant: 'retired', latency: 300, cost: 10 });

  const rows = seeds.map((s, i): CallInsert => {
    const at = new Date(s.at ?? T0 - i * MIN);
    const status = s.status ?? 'ok';
    return {
      id: uuidv7({ msecs: at.getTime() }),
      requestId: `req-${i}`,
      startedAt: at,
      endpoint: 'chat.completions',
      route: s.route ?? 'support-bot',
      variant: s.variant,
      shadow: s.shadow ?? false,
      status,
      httpStatus: status === 'ok' ? 200 : 502,
      latencyMs: s.latency ?? 100,
      costMicros: s.cost === null || s.cost === undefined ? null : String(s.cost),
      costStatus: s.cost === null ? 'unpriced' : 'exact',
    };
  });
  const scores = [
    ...[0.8, 0.9, 1.0, 0.7, 0.6].map((score, i) => ({ i, scorer: 'groundedness', score })),
    ...[1, 0, 1].map((score, i) => ({ i, scorer: 'contains', score })),
    ...[0.9, 1.0, 1.0, 0.95].map((score, i) => ({ i: 10 + i, scorer: 'groundedness', score })),
    { i: 24, scorer: 'groundedness', score: 0 }, // the shadow call's
  ];
  return { rows, scores };
}

describe.each(testDatabases())('routes API on $kind', (target) => {
  let database: Database;
  let providers: Providers;
  let weights: RouteWeightsStore;
  let app: Hono<AppEnv>;

  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await app.request(`/api/routes${path}`, init);
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    database = await target.open();
    providers = createProviders(config, { now: Date.now });
    weights = new RouteWeightsStore({ database, routes: config.routes });
    await weights.start();
    const router = new Router({ config, providers, weights });
    app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      c.set('key', { id: '0190a0f0-0000-7000-8000-0000000000aa', name: 'ops', scope: 'admin', policy: null, team: null });
      await next();
    });
    app.route(
      '/api/routes',
      routesApi({ router, weights, database, clock: () => T0 + 30 * MIN, scores: { table: 'test_call_scores', callId: 'call_id', name: 'scorer', value: 'score' } }),
    );
    app.onError(errorHandler(silentLogger));

    const { rows, scores } = seedRows();
    await database.db.insert(calls).values(rows);
    await rebuildRollups(database, { since: new Date(T0 - 7 * 86_400_000), until: new Date(T0 + 86_400_000) }); // rows not written by the writer
    await database.db.execute(sql`create table test_call_scores (call_id uuid not null, scorer text not null, score double precision)`);
    for (const s of scores) {
      await database.db.execute(sql`insert into test_call_scores values (${rows[s.i]!.id}, ${s.scorer}, ${s.score})`);
    }
  });
  afterAll(async () => {
    weights.stop();
    await closeProviders(providers);
    await database.close();
  });

  it('GET lists routes with variants, weights, targets, shadow, fallbacks and breakers', async () => {
    const { status, body } = await call<{ object: string; data: Array<Record<string, unknown>> }>('GET', '');
    expect(status).toBe(200);
    expect(body.data.map((r) => r.name)).toEqual(['support-bot', 'other']);
    const closed = { state: 'closed', consecutive_failures: 0, retry_in_ms: 0 };
    expect(body.data[0]).toEqual({
      object: 'route',
      name: 'support-bot',
      control: 'control',
      sticky_by: 'user',
      weights_source: 'config',
      updated_at: null,
      updated_by: null,
      variants: [
        {
          name: 'control',
          config_weight: 90,
          weight: 90,
          share: expect.closeTo(0.9, 9),
          balance: 'weighted',
          targets: [{ target: 'openai/gpt-4o-mini', weight: 1, breaker: closed }],
          prompt: 'support@production',
          params: {},
        },
        {
          name: 'candidate',
          config_weight: 10,
          weight: 10,
          share: expect.closeTo(0.1, 9),
          balance: 'weighted',
          targets: [
            { target: 'local/llama3', weight: 2, breaker: closed },
            { target: 'openai/gpt-4o', weight: 1, breaker: closed },
          ],
          prompt: null,
          params: {},
        },
      ],
      shadow: { target: 'local/qwen', prompt: null, sample: 0.05 },
      fallbacks: [
        { target: 'openai/gpt-4o-mini', breaker: closed },
        { target: 'openai/gpt-4.1', breaker: closed },
      ],
      circuit_breaker: { failures: 3, cooldown_ms: 10_000 },
    });
    expect((await call('GET', '/other')).body).toMatchObject({ name: 'other', circuit_breaker: { failures: 5, cooldown_ms: 30_000 } });
    expect((await call('GET', '/nope')).status).toBe(404);
  });

  it('PUT sets weights (audited with the key as actor), GET shows them, DELETE reverts', async () => {
    const put = await call('PUT', '/support-bot/weights', { weights: { control: 50, candidate: 50 } });
    expect(put).toEqual({
      status: 200,
      body: {
        object: 'route.weights',
        route: 'support-bot',
        changed: true,
        before: { source: 'config', weights: { control: 90, candidate: 10 } },
        after: { source: 'override', weights: { control: 50, candidate: 50 } },
      },
    });
    const got = await call<{ weights_source: string; updated_by: string; variants: Array<{ weight: number; config_weight: number }> }>('GET', '/support-bot');
    expect(got.body.weights_source).toBe('override');
    expect(got.body.updated_by).toBe('0190a0f0-0000-7000-8000-0000000000aa');
    expect(got.body.variants.map((v) => [v.config_weight, v.weight])).toEqual([
      [90, 50],
      [10, 50],
    ]);
    const audit = await database.db.execute(sql`select actor, action from audit_log where subject = 'route:support-bot' order by at, id`);
    const auditRows = Array.isArray(audit) ? audit : (audit as unknown as { rows: unknown[] }).rows;
    expect(auditRows).toEqual([{ actor: '0190a0f0-0000-7000-8000-0000000000aa', action: 'route.weights' }]);

    const del = await call('DELETE', '/support-bot/weights');
    expect(del.body).toMatchObject({ changed: true, after: { source: 'config', weights: { control: 90, candidate: 10 } } });
    expect((await call('GET', '/support-bot')).body).toMatchObject({ weights_source: 'config' });
  });

  it('rejects bad weight changes with 4xx naming the problem', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['PUT', '/nope/weights', { weights: { a: 1 } }, 404, /No route named 'nope'/],
      ['DELETE', '/nope/weights', undefined, 404, /No route named 'nope'/],
      ['PUT', '/support-bot/weights', { weights: { control: 1, canary: 2 } }, 400, /no variant 'canary'/],
      ['PUT', '/support-bot/weights', { weights: { control: -5 } }, 400, /weight of variant 'control'/],
      ['PUT', '/support-bot/weights', { weights: { control: 0, candidate: 0 } }, 400, /needs a weight above 0/],
      ['PUT', '/support-bot/weights', { weights: {} }, 400, /at least one variant/],
      ['PUT', '/support-bot/weights', { weights: { control: '5' } }, 400, /weights\.control/],
      ['PUT', '/support-bot/weights', { weights: { control: 5 }, extra: 1 }, 400, /extra/],
      ['PUT', '/support-bot/weights', '{not json', 400, /JSON/],
      ['GET', '/support-bot/stats?since=yesterday', undefined, 400, /'since'/],
      ['GET', `/support-bot/stats?since=${new Date(T0).toISOString()}&until=${new Date(T0 - MIN).toISOString()}`, undefined, 400, /before/],
      ['GET', '/support-bot/stats?confidence=2', undefined, 400, /confidence/],
      ['GET', '/nope/stats', undefined, 404, /No route/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await call<{ error: { message: string; type: string } }>(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.body.error.message, `${method} ${path}`).toMatch(message);
    }
    expect((await call('GET', '/support-bot')).body).toMatchObject({ weights_source: 'config' });
  });

  it('stats per variant match hand-computed values on the seeded call log', async () => {
    const since = new Date(T0 - 86_400_000).toISOString();
    const { status, body } = await call<RouteStats>('GET', `/support-bot/stats?since=${since}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ object: 'route.stats', route: 'support-bot', control: 'control', since, until: new Date(T0 + 30 * MIN).toISOString(), confidence: 0.95 });
    expect(body.variants.map((v) => v.variant)).toEqual(['control', 'candidate', 'retired']);
    const [control, candidate, retired] = body.variants as [VariantStats, VariantStats, VariantStats];
    const near = (actual: number | null | undefined, expected: number, digits = 9) => expect(actual).toBeCloseTo(expected, digits);
    const nearPair = (actual: [number, number] | null, expected: [number, number], digits = 9) => {
      expect(actual).not.toBeNull();
      near(actual![0], expected[0], digits);
      near(actual![1], expected[1], digits);
    };

    expect(control).toMatchObject({ is_control: true, calls: 15, error_rate: { errors: 3, n: 13 }, vs_control: null });
    near(control.error_rate.value, 3 / 13);
    // Clopper–Pearson and Korn–Graubard references from scipy.stats.beta.ppf / t.ppf / norm.ppf.
    nearPair(control.error_rate.ci, [0.05038107349115155, 0.5381315392340409]);
    expect(control.latency_ms.n).toBe(10);
    near(control.latency_ms.mean.value, 286);
    nearPair(control.latency_ms.mean.ci, [94.87486458230947, 477.12513541769056]);
    near(control.latency_ms.p50.value, 205);
    expect(control.latency_ms.p50.ci).toEqual([100, 1000]);
    near(control.latency_ms.p95.value, 730);
    expect(control.latency_ms.p95.ci).toEqual([300, 1000]);
    expect(control.cost_usd.n).toBe(10);
    near(control.cost_usd.mean.value, 0.0002, 12);
    nearPair(control.cost_usd.mean.ci, [0.0001209143183901919, 0.0002790856816098081], 12);
    expect(Object.keys(control.scores)).toEqual(['contains', 'groundedness']);
    expect(control.scores.groundedness!.n).toBe(5);
    near(control.scores.groundedness!.mean.value, 0.8);
    nearPair(control.scores.groundedness!.mean.ci, [0.5291390196809684, 0.9537483955171377]);
    near(control.scores.contains!.mean.value, 2 / 3);

    expect(candidate).toMatchObject({ is_control: false, calls: 9, error_rate: { errors: 1, n: 9 } });
    nearPair(candidate.error_rate.ci, [0.0028091367465992163, 0.48249651491733697]);
    near(candidate.latency_ms.mean.value, 163.75);
    nearPair(candidate.latency_ms.mean.ci, [47.7621846875213, 279.7378153124787]);
    near(candidate.latency_ms.p50.value, 112.5);
    expect(candidate.latency_ms.p50.ci).toEqual([90, 500]);
    near(candidate.latency_ms.p95.value, 388);
    expect(candidate.latency_ms.p95.ci).toEqual([120, 500]);
    expect(candidate.cost_usd.n).toBe(7); // one call was unpriced
    near(candidate.cost_usd.mean.value, 8e-5, 12);
    nearPair(candidate.cost_usd.mean.ci, [6.002104839708592e-5, 9.997895160291409e-5], 12);
    expect(candidate.scores.groundedness!.n).toBe(4); // the shadow call's score is left out
    near(candidate.scores.groundedness!.mean.value, 0.9625);
    // Inside [0, 1]: the Student t interval said 1.039 here.
    nearPair(candidate.scores.groundedness!.mean.ci, [0.794521105177314, 0.9993442169764017]);

    const vs = candidate.vs_control!;
    near(vs.error_rate!.diff, -0.11965811965811968);
    near(vs.error_rate!.statistic, -0.7154514974505111);
    near(vs.error_rate!.p_value, 0.47433010112387386);
    near(vs.latency_ms_mean!.diff, -122.25);
    near(vs.latency_ms_mean!.statistic, -1.2513476635337595);
    near(vs.latency_ms_mean!.df!, 14.038936871062631);
    near(vs.latency_ms_mean!.p_value, 0.2312584517723897);
    near(vs.cost_usd_mean!.diff, -0.00012, 12);
    near(vs.cost_usd_mean!.statistic, -3.342516087186934);
    near(vs.cost_usd_mean!.df!, 9.964127036366632);
    near(vs.cost_usd_mean!.p_value, 0.0074953632532010804);
    near(vs.scores.groundedness!.diff, 0.1625);
    near(vs.scores.groundedness!.statistic, 2.1767677315251936, 8);
    near(vs.scores.groundedness!.df!, 4.88369117019764, 8);
    near(vs.scores.groundedness!.p_value, 0.08274283161962008, 8);

    expect(retired).toMatchObject({ calls: 1, latency_ms: { n: 1, mean: { value: 300, ci: null } }, vs_control: { latency_ms_mean: null } });
  });

  it('stats without a scores table, and for a window with no calls', async () => {
    const noScores = new Hono<AppEnv>();
    const router = new Router({ config, providers, weights });
    noScores.route('/api/routes', routesApi({ router, weights, database, clock: () => T0, scores: { table: 'no_such_scores', callId: 'c', name: 'n', value: 'v' } }));
    const res = await noScores.request('/api/routes/support-bot/stats?since=2h');
    const body = (await res.json()) as RouteStats;
    expect(res.status).toBe(200);
    expect(body.variants.every((v) => Object.keys(v.scores).length === 0)).toBe(true);
    expect(body.since).toBe(new Date(T0 - 2 * 3_600_000).toISOString());

    const empty = await call<RouteStats>('GET', '/other/stats?since=2030-01-01T00:00:00Z&until=2030-01-02T00:00:00Z');
    expect(empty.body.variants).toEqual([
      {
        variant: 'only',
        is_control: true,
        calls: 0,
        error_rate: { value: null, ci: null, errors: 0, n: 0 },
        latency_ms: { n: 0, mean: { value: null, ci: null }, p50: { value: null, ci: null }, p95: { value: null, ci: null } },
        cost_usd: { n: 0, mean: { value: null, ci: null } },
        scores: {},
        vs_control: null,
      },
    ]);
  });
});
