import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toCallRow } from '../../gateway/calls/call-row.ts';
import { insertCallRows } from '../../gateway/calls/insert.ts';
import { calls as callsTable } from '../../gateway/calls/schema.ts';
import { compilePayloadPolicy } from '../../gateway/calls/payloads.ts';
import { routeSchema } from '../../gateway/config/routes-schema.ts';
import type { Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { routeLayouts, routeWeights } from '../../gateway/routing/schema.ts';
import { RouteWeightsStore } from '../../gateway/routing/weights-store.ts';
import { PromptStore } from '../../prompts/index.ts';
import { auditLog, promptLabelSplits } from '../../prompts/schema.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { fieldsOfRecord } from '../monitor/score-call-fields.ts';
import { callScores, incidents, notificationDeliveries, rollouts as rolloutsTable } from '../schema.ts';
import { createRollouts, type Rollouts } from './rollouts.ts';

const policy = compilePayloadPolicy({ enabled: true, maxBytes: 65_536, redactFields: [], redactPatterns: [] });
const routes = {
  bot: routeSchema.parse({
    variants: [
      { name: 'a', target: 'up/m1', weight: 3 },
      { name: 'c', target: 'up/m3', weight: 1 },
      { name: 'b', target: 'up/m2', weight: 0 },
    ],
  }),
};
const T0 = Date.parse('2026-06-01T12:00:00Z');
const PLAN = {
  steps: [10, 50, 100],
  step_seconds: 60,
  min_samples: 30,
  confidence: 0.95,
  guards: [
    { metric: 'score:groundedness', max_drop: 0.05 },
    { metric: 'error_rate', max_increase: 0.02 },
  ],
};

describe.each(testDatabases())('rollouts: start, look, advance, promote, roll back, abort ($kind)', (target) => {
  let database: Database;
  let prompts: PromptStore;
  let now = T0;
  let r: Rollouts;

  beforeAll(async () => {
    database = await target.open();
    prompts = new PromptStore(database);
    await prompts.createPrompt('support', null, 'test');
    for (const text of ['v1', 'v2']) {
      await prompts.createVersion('support', { messages: [{ role: 'system', content: text }], model: null, params: {}, variables: null }, 'test');
    }
    await prompts.moveLabel('support', 'production', 1, 'test');
  });
  afterAll(async () => database.close());
  beforeEach(async () => {
    for (const t of [rolloutsTable, incidents, notificationDeliveries, callScores, callsTable, routeWeights, routeLayouts, promptLabelSplits]) await database.db.delete(t);
    now = T0;
    r = createRollouts({
      database,
      routes,
      weights: new RouteWeightsStore({ database, routes }),
      prompts,
      channels: ['ops'],
      logger: { ...silentLogger, error: (msg: string, f?: unknown) => console.error(msg, f) },
      clock: () => now,
      intervalMs: 30_000,
    });
  });

  /** `n` calls of one arm, `errors` failing, each scored `score` online, at the clock's time. */
  const traffic = async (slice: { variant?: string; promptVersion?: number }, n: number, opts: { errors?: number; score?: number } = {}) => {
    const at = new Date(now);
    const records = Array.from({ length: n }, (_, i) => {
      const failed = i < (opts.errors ?? 0);
      return sampleRecord(
        {
          route: slice.variant ? 'bot' : 'other',
          variant: slice.variant ?? 'x',
          promptName: 'support',
          promptVersion: slice.promptVersion ?? 1,
          status: failed ? 'upstream_error' : 'ok',
          httpStatus: failed ? 502 : 200,
        },
        at,
      );
    });
    await insertCallRows(database, records.map((rec) => toCallRow(rec, policy, now)));
    const scored = records.filter((rec) => rec.status === 'ok');
    if (opts.score !== undefined && scored.length > 0) {
      await database.db.insert(callScores).values(scored.map((rec) => ({ callId: rec.id, scorer: 'groundedness', score: opts.score!, source: 'online' as const, ...fieldsOfRecord(rec) })));
    }
  };
  const weights = async () => Object.fromEntries((await database.db.select().from(routeWeights)).map((w) => [w.variant, w.weight]));

  it('starts at the first step (the others keep their ratio), refuses a second, and abort restores the config weights', async () => {
    const started = await r.startRoute('bot', { variant: 'b', ...PLAN }, 'alice');
    expect(started).toMatchObject({ state: 'running', step: 0, percent: 10, control: 'a', candidate: 'b', weights: { a: 67.5, c: 22.5, b: 10 } });
    expect(await weights()).toEqual({ a: 67.5, c: 22.5, b: 10 });
    await expect(r.startRoute('bot', { variant: 'b', ...PLAN }, 'bob')).rejects.toMatchObject({ status: 409 });
    const aborted = await r.abort('route', 'bot', 'alice');
    expect(aborted.state).toBe('aborted');
    expect(await weights()).toEqual({}); // back to the config's weights
    await expect(r.abort('route', 'bot', 'alice')).rejects.toMatchObject({ status: 404 });
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'route:bot'));
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['rollout.start', 'rollout.abort']));
  });

  it('refuses what cannot be rolled out, naming the field', async () => {
    const refused = async (p: Promise<unknown>) => (await p.then(() => null, (e: unknown) => e)) as GatewayError;
    expect((await refused(r.startRoute('nope', { variant: 'b' }, 'x'))).status).toBe(404);
    expect((await refused(r.startRoute('bot', { variant: 'zz' }, 'x'))).param).toBe('variant');
    expect((await refused(r.startRoute('bot', { variant: 'a' }, 'x'))).message).toMatch(/is the control/);
    expect((await refused(r.startRoute('bot', { variant: 'b', steps: [50, 10] }, 'x'))).message).toMatch(/steps must increase/);
    expect((await refused(r.startRoute('bot', { variant: 'b', guards: [{ metric: 'error_rate', max_drop: 0.1 }] }, 'x'))).param).toBe('guards.0');
    expect((await refused(r.startRoute('bot', { variant: 'b', notify: ['pager'] }, 'x'))).param).toBe('notify');
    expect((await refused(r.startPrompt('support', 'production', { version: 1 }, 'x'))).message).toMatch(/already points at version 1/);
    expect((await refused(r.startPrompt('support', 'staging', { version: 2 }, 'x'))).status).toBe(404);
  });

  it('a healthy candidate waits for min_samples and step_seconds, advances step by step, and is promoted', async () => {
    await r.startRoute('bot', { variant: 'b', ...PLAN }, 'alice');
    await traffic({ variant: 'a' }, 200, { score: 1 });
    await traffic({ variant: 'b' }, 10, { score: 1 });
    now += 30_000;
    await r.tick();
    expect((await r.get('route', 'bot')).step).toBe(0); // too few candidate calls, too early
    await traffic({ variant: 'b' }, 40, { score: 1 });
    now += 31_000;
    await r.tick();
    const second = await r.get('route', 'bot');
    expect(second).toMatchObject({ step: 1, percent: 50, state: 'running' });
    expect(await weights()).toMatchObject({ b: 50 });
    // The next step needs min_samples again, in the step.
    now += 61_000;
    await r.tick();
    expect((await r.get('route', 'bot')).step).toBe(1);
    await traffic({ variant: 'a' }, 40, { score: 1 });
    await traffic({ variant: 'b' }, 40, { score: 1 });
    now += 31_000;
    await r.tick();
    const done = await r.get('route', 'bot');
    expect(done).toMatchObject({ state: 'promoted', percent: 100, weights: { a: 0, c: 0, b: 100 } });
    expect(await weights()).toEqual({ a: 0, c: 0, b: 100 });
    expect(done.evidence.some((e) => e.decision === 'advance')).toBe(true);
    expect(done.evidence.filter((e) => e.p_value !== null).every((e) => e.p_value! > 0.025)).toBe(true);
    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subject, 'route:bot'))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['rollout.start', 'rollout.advance', 'rollout.promote']));
    expect(await database.db.select().from(incidents)).toEqual([]);
  });

  it('a worse candidate is rolled back: weight 0, one incident with evidence, notifications queued, audited', async () => {
    await r.startRoute('bot', { variant: 'b', ...PLAN, notify: ['ops'] }, 'alice');
    await traffic({ variant: 'a' }, 300, { score: 1 });
    await traffic({ variant: 'b' }, 40, { score: 0 });
    now += 30_000;
    await r.tick();
    const rolled = await r.get('route', 'bot');
    expect(rolled.state).toBe('rolled_back');
    expect(await weights()).toEqual({ a: 3, c: 1, b: 0 });
    const [incident] = await database.db.select().from(incidents);
    expect(incident).toMatchObject({ monitor: 'rollout:route:bot', metric: 'score:groundedness', value: 0, baseline: 1, status: 'open', scope: { route: 'bot', variant: 'b' } });
    expect(rolled.incident).toBe(incident!.id);
    expect((incident!.evidence as { example_calls: string[] }).example_calls.length).toBeGreaterThan(0);
    expect(await database.db.select().from(notificationDeliveries)).toMatchObject([{ incidentId: incident!.id, channel: 'ops', status: 'pending' }]);
    // Ended: further ticks change nothing, open no second incident.
    now += 30_000;
    await r.tick();
    expect(await database.db.select().from(incidents)).toHaveLength(1);
    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subject, 'route:bot'))).map((a) => a.action);
    expect(actions).toContain('rollout.rollback');
  });

  it('5xx from the candidate roll it back on the error-rate guard', async () => {
    await r.startRoute('bot', { variant: 'b', ...PLAN }, 'alice');
    await traffic({ variant: 'a' }, 300, { score: 1 });
    await traffic({ variant: 'b' }, 40, { errors: 40 });
    now += 30_000;
    await r.tick();
    expect((await r.get('route', 'bot')).state).toBe('rolled_back');
    expect((await database.db.select().from(incidents))[0]).toMatchObject({ metric: 'error_rate', value: 1, baseline: 0 });
  });

  it('a prompt label rollout splits the label, promotes by moving it, and rolls back by clearing the split', async () => {
    const started = await r.startPrompt('support', 'production', { version: 2, ...PLAN }, 'alice');
    expect(started).toMatchObject({ kind: 'prompt', target: 'support@production', control: '1', candidate: '2', weights: { '1': 90, '2': 10 } });
    expect((await prompts.heads('support')).splits.get('production')).toEqual({ version: 2, percent: 10 });
    await traffic({ promptVersion: 1 }, 100, { score: 1 });
    await traffic({ promptVersion: 2 }, 40, { score: 1 });
    now += 61_000;
    await r.tick();
    expect((await prompts.heads('support')).splits.get('production')).toEqual({ version: 2, percent: 50 });
    await traffic({ promptVersion: 1 }, 40, { score: 1 });
    await traffic({ promptVersion: 2 }, 40, { score: 1 });
    now += 61_000;
    await r.tick();
    expect((await r.get('prompt', 'support@production')).state).toBe('promoted');
    let heads = await prompts.heads('support');
    expect(heads.labels.get('production')).toBe(2);
    expect(heads.splits.size).toBe(0);

    // Back to 1 by hand, then a bad version 1... roll out 1 again and let it fail.
    await prompts.moveLabel('support', 'production', 2, 'test');
    await r.startPrompt('support', 'production', { version: 1, ...PLAN }, 'alice');
    now += 1_000;
    await traffic({ promptVersion: 2 }, 300, { score: 1 });
    await traffic({ promptVersion: 1 }, 40, { score: 0.1 });
    now += 31_000;
    await r.tick();
    expect((await r.get('prompt', 'support@production')).state).toBe('rolled_back');
    heads = await prompts.heads('support');
    expect(heads.labels.get('production')).toBe(2);
    expect(heads.splits.size).toBe(0);
    expect((await database.db.select().from(incidents))[0]).toMatchObject({ monitor: 'rollout:prompt:support@production', scope: { prompt: 'support@production', version: '1' } });
  });
});
