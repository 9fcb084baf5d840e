import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toCallRow } from '../../gateway/calls/call-row.ts';
import { insertCallRows } from '../../gateway/calls/insert.ts';
import { calls as callsTable } from '../../gateway/calls/schema.ts';
import { compilePayloadPolicy } from '../../gateway/calls/payloads.ts';
import { ConfigError } from '../../gateway/config/load.ts';
import { monitorSchema, type MonitorConfig } from '../../gateway/config/monitors-schema.ts';
import type { Database } from '../../gateway/db/client.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { errorHandler } from '../../gateway/http/error-handler.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/helpers/webhook-receiver.ts';
import { incidentRoutes, monitorRoutes } from '../api/incidents.ts';
import { signature } from '../notify/notifiers.ts';
import { incidents, monitorStates, notificationDeliveries } from '../schema.ts';
import { createMonitorRunner, type MonitorRunner } from './evaluator.ts';
import { resolveMonitors } from './monitors.ts';

const SECRET = 'whsec-test-0123456789';
const policy = compilePayloadPolicy({ enabled: true, maxBytes: 65_536, redactFields: [], redactPatterns: [] });


const monitor = (over: Record<string, unknown> = {}): MonitorConfig =>
  monitorSchema.parse({ scope: { route: 'bot' }, metric: 'error_rate', detector: { type: 'threshold', max: 0.1 }, window: '10m', min_samples: 20, recover_after: '5m', ...over });

describe('resolveMonitors', () => {
  const hook = { ops: { type: 'webhook' as const, url: 'http://127.0.0.1:1/x' } };
  it('accepts threshold monitors; a monitor without notify tells every channel', () => {
    const [m] = resolveMonitors({ errs: monitor() }, hook);
    expect(m!.channels.map((c) => c.name)).toEqual(['ops']);
    expect(m!.metric).toBe('error_rate');
  });
  it('refuses detector/metric mismatches, noisy psi settings, labels and unknown channels, naming the path', () => {
    expect(() => resolveMonitors({ m: monitor({ metric: 'drift:latency_ms' }) }, hook)).toThrow(/drift:\* metrics take the psi detector/);
    expect(() => resolveMonitors({ m: monitor({ metric: 'drift:latency_ms', detector: { type: 'psi' }, min_samples: 50 }) }, hook)).toThrow(ConfigError);
    expect(resolveMonitors({ m: monitor({ metric: 'drift:latency_ms', detector: { type: 'psi' }, min_samples: 200 }) }, hook)).toHaveLength(1);
    expect(() => resolveMonitors({ m: monitor({ notify: ['pager'] }) }, hook)).toThrow(/monitors\.m\.notify\.0: no notification channel named 'pager'/);
    expect(() => resolveMonitors({ m: monitor({ scope: { prompt: 'Support Bot' } }) }, hook)).toThrow(/scope\.prompt/);
    expect(resolveMonitors({ m: monitor({ scope: { prompt: 'support@production' } }) }, hook)).toHaveLength(1);
  });
});

describe.each(testDatabases())('monitors open one incident per breach, notify, and resolve on recovery ($kind)', (target) => {
  let database: Database;
  let receiver: WebhookReceiver;
  let now: number;
  let runners: MonitorRunner[] = [];
  const T0 = Date.parse('2026-06-01T12:00:00Z');

  beforeAll(async () => {
    database = await target.open();
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    for (const r of runners) await r.stop();
    await receiver.close();
    await database.close();
  });
  beforeEach(async () => {
    for (const r of runners) await r.stop();
    runners = [];
    receiver.got.length = 0;
    await database.db.delete(incidents);
    await database.db.delete(monitorStates);
    await database.db.delete(notificationDeliveries);
    await database.db.delete(callsTable);
    now = T0;
  });

  const runner = (config: MonitorConfig = monitor()): MonitorRunner => {
    const channels = { ops: { type: 'webhook' as const, url: receiver.url, secret: SECRET } };
    const monitors = resolveMonitors({ 'bot-errors': config }, channels);
    const r = createMonitorRunner({
      database,
      monitors,
      channels,
      logger: silentLogger,
      clock: () => now,
      intervalMs: 30_000,
      baseUrl: () => 'http://gw.example',
      delivery: { tries: 3, firstBackoffMs: 1, timeoutMs: 5_000 },
    });
    runners.push(r);
    return r;
  };
  /** `n` calls of route bot, `errors` of them upstream errors, `secondsAgo` before the clock. */
  const calls = async (n: number, errors: number, secondsAgo = 60) => {
    const at = new Date(now - secondsAgo * 1000);
    const rows = Array.from({ length: n }, (_, i) =>
      toCallRow(sampleRecord({ route: 'bot', status: i < errors ? 'upstream_error' : 'ok', httpStatus: i < errors ? 502 : 200 }, at), policy, now),
    );
    await insertCallRows(database, rows);
  };
  const advance = (ms: number) => (now += ms);

  it('with no calls at all every metric reads as no data, not an error', async () => {
    const monitors = resolveMonitors(
      Object.fromEntries(['error_rate', 'latency_p95_ms', 'cost_per_call_usd', 'score:groundedness'].map((metric, i) => [`m${i}`, monitor({ metric })])),
      { ops: { type: 'webhook', url: receiver.url } },
    );
    for (const m of monitors) expect(await m.read(database, new Date(now)), m.metric).toMatchObject({ value: null, samples: 0, breached: null });
  });

  it('below min_samples nothing opens; a breach opens one incident with evidence and one signed webhook; it is not re-opened', async () => {
    const r = runner();
    await calls(10, 5); // 50% errors but only 10 samples
    await r.tick();
    expect(await database.db.select().from(incidents)).toEqual([]);
    const [early] = await database.db.select().from(monitorStates);
    expect(early).toMatchObject({ state: 'insufficient_data', samples: 10 });

    await calls(30, 5); // 40 samples, 10 errors: 25% > 10%
    advance(30_000);
    await r.tick();
    const opened = await database.db.select().from(incidents);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ monitor: 'bot-errors', metric: 'error_rate', status: 'open', baseline: 0.1 });
    expect(opened[0]!.value).toBeCloseTo(0.25, 5);
    expect((opened[0]!.evidence as { example_calls: string[] }).example_calls).toHaveLength(5);

    expect(receiver.got).toHaveLength(1);
    const sent = receiver.got[0]!;
    expect(sent.signature).toBe(signature(SECRET, sent.body));
    expect(JSON.parse(sent.body)).toMatchObject({
      incident: opened[0]!.id,
      event: 'opened',
      monitor: 'bot-errors',
      scope: { route: 'bot' },
      metric: 'error_rate',
      baseline: 0.1,
      detector: { type: 'threshold', max: 0.1 },
      url: `http://gw.example/api/incidents/${opened[0]!.id}`,
      text: expect.stringContaining('bot-errors breached'),
    });

    // Still breached on the next evaluations: the same incident, no new notification.
    for (let i = 0; i < 3; i++) {
      advance(30_000);
      await r.tick();
    }
    expect(await database.db.select().from(incidents)).toHaveLength(1);
    expect(receiver.got).toHaveLength(1);
  });

  it('resolves itself after recover_after within bounds, and says so once', async () => {
    const r = runner();
    await calls(40, 10);
    await r.tick();
    expect(receiver.got).toHaveLength(1);
    // Eleven minutes on, the bad calls have left the 10-minute window; good traffic since.
    advance(11 * 60_000);
    await calls(40, 0, 30);
    await r.tick();
    expect((await database.db.select().from(incidents))[0]!.status).toBe('open'); // ok, but not for 5 minutes yet
    advance(5 * 60_000 + 1);
    await calls(40, 0, 30);
    await r.tick();
    const [incident] = await database.db.select().from(incidents);
    expect(incident).toMatchObject({ status: 'resolved', resolvedBy: 'auto' });
    expect(receiver.got.map((g) => (JSON.parse(g.body) as { event: string }).event)).toEqual(['opened', 'resolved']);
  });

  it('retries a failing webhook with backoff and records every try', async () => {
    const r = runner();
    receiver.fail.push(503, 500);
    await calls(40, 10);
    await r.tick();
    expect(receiver.got).toHaveLength(3);
    const [d] = await database.db.select().from(notificationDeliveries);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
    // A 4xx that retrying cannot fix is recorded as failed after one try.
    await database.db.delete(incidents);
    await database.db.delete(monitorStates);
    receiver.fail.push(404);
    advance(60_000);
    await r.tick();
    const failed = (await database.db.select().from(notificationDeliveries)).find((x) => x.status !== 'delivered');
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 404, lastError: 'HTTP 404' });
  });

  it('two instances evaluating at once open one incident and send one webhook', async () => {
    const a = runner();
    const b = runner();
    await calls(40, 10);
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([a.tick(), b.tick()]);
    expect(await database.db.select().from(incidents)).toHaveLength(1);
    expect(receiver.got).toHaveLength(1);
  });

  it('when the instance that evaluated stops, another evaluates on its next tick', async () => {
    const a = runner();
    const b = runner();
    await calls(40, 0);
    await a.tick();
    const first = (await database.db.select().from(monitorStates))[0]!;
    // b in the same half interval: a already evaluated, so b leaves it.
    await b.tick();
    expect((await database.db.select().from(monitorStates))[0]!.evaluatedAt).toEqual(first.evaluatedAt);
    await a.stop();
    advance(30_000);
    await calls(40, 10, 10);
    await b.tick();
    const [state] = await database.db.select().from(monitorStates);
    expect(state!.evaluatedAt.getTime()).toBe(now);
    expect(state).toMatchObject({ state: 'breached', samples: 80 });
    expect(await database.db.select().from(incidents)).toHaveLength(1);
  });

  it.each([
    { type: 'ewma', statistic: 'ewma', bound: 'limit' },
    { type: 'cusum', statistic: 'cusum', bound: 'h' },
  ])('a $type monitor: normal buckets set the reference; a jump in the watched buckets opens an incident with the statistic', async ({ type, statistic, bound }) => {
    const config = monitor({ detector: { type, reference_buckets: 10, watched_buckets: 3, ...(type === 'cusum' ? { h: 4 } : {}) }, window: '1m', min_samples: 10 });
    const r = runner(config);
    // now sits just after a bucket boundary; buckets 13..1 minutes back are complete.
    now = Math.floor(T0 / 60_000) * 60_000 + 5_000;
    const referenceErrors = [1, 0, 2, 1, 1, 0, 2, 1, 1, 0];
    for (const [i, errors] of referenceErrors.entries()) await calls(20, errors, (13 - i) * 60 - 10);
    for (let i = 0; i < 3; i++) await calls(20, 1, (3 - i) * 60 - 10); // watched, still normal
    await r.tick();
    expect((await database.db.select().from(monitorStates))[0]).toMatchObject({ state: 'ok' });
    expect(await database.db.select().from(incidents)).toEqual([]);

    advance(3 * 60_000);
    for (let i = 0; i < 3; i++) await calls(20, 8, (3 - i) * 60 - 10); // 40% errors for three minutes
    await r.tick();
    const [incident] = await database.db.select().from(incidents);
    expect(incident).toMatchObject({ monitor: 'bot-errors', status: 'open' });
    expect(incident!.value).toBeCloseTo(0.4, 5);
    const evidence = incident!.evidence as Record<string, number | string>;
    expect(evidence[statistic] as number).toBeGreaterThan(evidence[bound] as number);
    expect(evidence.bad_direction).toBe('high');
    expect(receiver.got).toHaveLength(1);
  });

  it('a psi monitor on latency: the same distribution stays ok; a slower one opens an incident with KS in the evidence', async () => {
    const config = monitor({ metric: 'drift:latency_ms', detector: { type: 'psi', max: 0.25, reference: '1h' }, window: '10m', min_samples: 200 });
    const r = runner(config);
    let seed = 1;
    const latency = (shift: number) => {
      // A fixed, spread-out sequence (deterministic): ranks 1..N mapped through exp.
      seed = (seed * 48_271) % 2_147_483_647;
      return Math.round(100 * Math.exp((seed / 2_147_483_647) * 2 + shift));
    };
    const insert = async (n: number, secondsAgo: number, shift: number) => {
      const at = new Date(now - secondsAgo * 1000);
      await insertCallRows(database, Array.from({ length: n }, () => toCallRow(sampleRecord({ route: 'bot', status: 'ok', latencyMs: latency(shift) }, at), policy, now)));
    };
    await insert(400, 30 * 60, 0); // reference: half an hour ago
    await insert(250, 60, 0); // the window: same distribution
    await r.tick();
    expect((await database.db.select().from(monitorStates))[0]).toMatchObject({ state: 'ok', samples: 250 });
    advance(11 * 60_000);
    await insert(250, 60, 1); // the next window: latencies about e times higher
    await r.tick();
    const [incident] = await database.db.select().from(incidents);
    expect(incident).toMatchObject({ metric: 'drift:latency_ms', status: 'open', baseline: 0.25 });
    expect(incident!.value).toBeGreaterThan(0.25);
    expect((incident!.evidence as { ks: { p: number } }).ks.p).toBeLessThan(0.001);
  });

  it('the API lists, acknowledges and resolves incidents; /monitors shows the state', async () => {
    const config = monitor();
    const monitors = resolveMonitors({ 'bot-errors': config }, { ops: { type: 'webhook', url: receiver.url, secret: SECRET } });
    const r = runner(config);
    await calls(40, 10);
    await r.tick();
    const app = new Hono<AppEnv>();
    app.route('/incidents', incidentRoutes({ database, clock: () => now }));
    app.route('/monitors', monitorRoutes({ database, monitors }));
    app.onError(errorHandler(silentLogger)); // as the server renders errors
    const json = async (res: Response | Promise<Response>) => (await res).json() as Promise<any>;

    const open = await json(app.request('/incidents?status=open'));
    expect(open.data).toHaveLength(1);
    const id = open.data[0].id as string;
    const one = await json(app.request(`/incidents/${id}`));
    expect(one.notifications).toEqual([expect.objectContaining({ channel: 'ops', event: 'opened', status: 'delivered', attempts: 1 })]);
    // Acknowledged is still open (DESIGN: status open|resolved); it carries when it was acknowledged.
    expect(await json(app.request(`/incidents/${id}/ack`, { method: 'POST' }))).toMatchObject({ status: 'open', acknowledged_at: new Date(now).toISOString() });
    expect((await json(app.request('/incidents?status=open'))).data).toHaveLength(1);
    expect((await app.request('/incidents?status=acknowledged')).status).toBe(400);
    expect(await json(app.request(`/incidents/${id}/resolve`, { method: 'POST' }))).toMatchObject({ status: 'resolved' });
    expect((await json(app.request('/incidents?status=open'))).data).toEqual([]);
    const mons = await json(app.request('/monitors'));
    expect(mons.data[0]).toMatchObject({ name: 'bot-errors', metric: 'error_rate', state: 'breached', samples: 40, open_incident: id });
  });
});
