import { randomUUID } from 'node:crypto';
import type { AdmitRequest, LimitStore, Subject } from './types.ts';

export interface LimitBenchResult {
  kind: LimitStore['kind'];
  iterations: number;
  /** Median latency of a call's two store trips, ms: admit (before the upstream call) and finish (after). */
  p50Ms: { admit: number; finish: number };
}

/**
 * Latency of the two store operations a priced, rate-limited call makes (admit: rate limits and
 * reservation; finish: settle and token correction) against one key and its team, one after
 * another on `store`. Subjects are fresh per run; what the run writes stays in the store (a few
 * rows or keys). policy/governor-bench.ts measures the governor's whole per-call work.
 */
export async function benchLimitStore(store: LimitStore, iterations = 500): Promise<LimitBenchResult> {
  const key: Subject = `key:${randomUUID()}`;
  const team: Subject = `team:${randomUUID()}`;
  const req: AdmitRequest = {
    limits: [
      { subject: key, rpm: 1_000_000_000, tpm: 1_000_000_000 },
      { subject: team, rpm: 1_000_000_000, tpm: null },
    ],
    tokens: 500,
    budgets: [
      { subject: key, limitMicros: Number.MAX_SAFE_INTEGER, period: 'day' },
      { subject: team, limitMicros: Number.MAX_SAFE_INTEGER, period: 'month' },
    ],
    micros: 1_000,
  };
  const times = { admit: [] as number[], finish: [] as number[] };
  // A warm-up round creates the rows (or loads the scripts) outside the measurement.
  for (let i = -20; i < iterations; i++) {
    const now = new Date();
    const t0 = performance.now();
    const r = await store.admit(req, now);
    const t1 = performance.now();
    const reservation = r.budget?.ok ? r.budget.reservation : null;
    await store.finish({ reservation, actualMicros: 700, limits: req.limits, tokenDelta: -200 }, now);
    const t2 = performance.now();
    if (i < 0) continue;
    times.admit.push(t1 - t0);
    times.finish.push(t2 - t1);
  }
  return { kind: store.kind, iterations, p50Ms: { admit: median(times.admit), finish: median(times.finish) } };
}

function median(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 1000) / 1000;
}
