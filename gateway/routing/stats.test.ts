import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { LATENCY_REL_ERROR } from '../calls/rollup-histogram.ts';
import { CallLogWriter } from '../calls/writer.ts';
import type { Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { routeStats } from './stats.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2031-05-02T12:00:00Z');
const STATUSES = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'upstream_error', 'gateway_error', 'client_error'] as const;

describe.each(testDatabases())('route stats from the rollup on $kind', (target) => {
  let database: Database;

  beforeAll(async () => {
    database = await target.open();
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-stats-'));
    const w = new CallLogWriter({ database, spoolDir, logger: silentLogger, payloads: { enabled: false, maxBytes: 0, redactFields: [], redactPatterns: [] } });
    for (let i = 0; i < 1500; i++) {
      const candidate = i % 3 === 0;
      const status = STATUSES[Math.floor(rnd() * STATUSES.length)]!;
      const priced = rnd() > 0.1;
      w.enqueue(
        sampleRecord(
          {
            route: i % 10 === 9 ? 'other' : 'support-bot',
            variant: candidate ? 'candidate' : 'control',
            shadow: i % 17 === 0,
            status,
            latencyMs: (candidate ? 150 : 250) * Math.exp(rnd() * 2 - 1) + (rnd() > 0.95 ? 2000 : 0),
            costMicros: priced ? (candidate ? 60 : 90) + rnd() * 40 : null,
            costStatus: priced ? 'exact' : 'unpriced',
          },
          new Date(T0 - Math.floor(rnd() * 20 * HOUR)),
        ),
      );
    }
    await w.close();
    await rm(spoolDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await database.close();
  });

  it('agrees with the exact computation: counts and tests equal, means close, percentiles within the bound', async () => {
    const q = { route: 'support-bot', variants: ['control', 'candidate'], control: 'control', since: new Date(T0 - 19 * HOUR - 1234), until: new Date(T0 - 37_000) };
    const exact = await routeStats(database, q);
    const rolled = await routeStats(database, { ...q, exactMaxCalls: 0 });
    expect(exact.method.source).toBe('calls');
    expect(rolled.method.source).toBe('rollup');
    for (const [i, e] of exact.variants.entries()) {
      const r = rolled.variants[i]!;
      expect(e.calls).toBeGreaterThan(200);
      expect(r.variant).toBe(e.variant);
      expect(r.calls).toBe(e.calls);
      expect(r.error_rate).toEqual(e.error_rate);
      expect(r.latency_ms.n).toBe(e.latency_ms.n);
      expect(r.latency_ms.mean.value).toBeCloseTo(e.latency_ms.mean.value!, 6);
      expect(r.latency_ms.mean.ci![0]).toBeCloseTo(e.latency_ms.mean.ci![0], 6);
      expect(r.cost_usd.n).toBe(e.cost_usd.n);
      expect(r.cost_usd.mean.value).toBeCloseTo(e.cost_usd.mean.value!, 12);
      expect(r.cost_usd.mean.ci![1]).toBeCloseTo(e.cost_usd.mean.ci![1], 12);
      for (const p of ['p50', 'p95'] as const) {
        expect(Math.abs(r.latency_ms[p].value! / e.latency_ms[p].value! - 1), `${e.variant} ${p}`).toBeLessThanOrEqual(LATENCY_REL_ERROR);
        for (const j of [0, 1]) {
          expect(Math.abs(r.latency_ms[p].ci![j]! / e.latency_ms[p].ci![j]! - 1), `${e.variant} ${p} ci`).toBeLessThanOrEqual(LATENCY_REL_ERROR);
        }
      }
      if (e.vs_control) {
        expect(r.vs_control!.error_rate).toEqual(e.vs_control.error_rate);
        expect(r.vs_control!.latency_ms_mean!.p_value).toBeCloseTo(e.vs_control.latency_ms_mean!.p_value, 6);
      }
    }
  });

  it('reads scores from call_scores alone: production scores of the route and window, per variant and scorer', async () => {
    const at = (h: number) => new Date(T0 - h * HOUR).toISOString();
    // [route, variant, started hours ago, production, score]
    const rows: Array<[string, string, number, boolean, number]> = [
      ['support-bot', 'control', 2, true, 1],
      ['support-bot', 'control', 3, true, 0],
      ['support-bot', 'control', 4, true, 1],
      ['support-bot', 'candidate', 2, true, 0.5],
      ['support-bot', 'candidate', 5, true, 0.7],
      ['support-bot', 'candidate', 5, false, 0], // shadow or eval traffic: left out
      ['other', 'control', 2, true, 0], // another route: left out
      ['support-bot', 'control', 30, true, 0], // before the window: left out
    ];
    for (const [route, variant, h, production, score] of rows) {
      await database.db.execute(sql`
        insert into call_scores (id, call_id, scorer, score, source, call_started_at, route, variant, production)
        values (gen_random_uuid(), gen_random_uuid(), 'judge', ${score}, 'online', ${at(h)}::timestamptz, ${route}, ${variant}, ${production})`);
    }
    const stats = await routeStats(database, { route: 'support-bot', variants: ['control', 'candidate'], control: 'control', since: new Date(T0 - 19 * HOUR), until: new Date(T0) });
    const [control, candidate] = stats.variants;
    expect(control!.scores.judge!.n).toBe(3);
    expect(control!.scores.judge!.mean.value).toBeCloseTo(2 / 3, 9);
    expect(candidate!.scores.judge!.n).toBe(2);
    expect(candidate!.scores.judge!.mean.value).toBeCloseTo(0.6, 9);
    expect(candidate!.vs_control?.scores.judge).not.toBeNull();
  });
});
