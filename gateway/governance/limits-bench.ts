import { randomUUID } from 'node:crypto';
import type { AdmitRequest, LimitStore, Subject } from './types.ts';

export interface LimitBenchResult {
  kind: LimitStore['kind'];
  iterations: number;
  /**
   * Median latency, ms: admit (before the upstream call) and finish — until the settle is
   * applied (after the call; on Redis it rides along with the next call's admit).
   */
  p50Ms: { admit: number; finish: number };
}

/**
 * Latency of the two store operations a priced, rate-limited call makes (admit: rate limits and
 * reservation; finish: settle and token correction) against one key and its team, calls one
 * after another on `store`, each call's finish made (not awaited) before the next call's admit,
 * as the governor does. Subjects are fresh per run; what the run writes stays in the store (a few
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
  let settling: Promise<void> = Promise.resolve();
  for (let i = -20; i < iterations; i++) {
    const now = new Date();
    const t0 = performance.now();
    const r = await store.admit(req, now);
    const t1 = performance.now();
    const reservation = r.budget?.ok ? r.budget.reservation : null;
    const measured = i >= 0;
    if (measured) times.admit.push(t1 - t0);
    settling = store.finish({ reservation, actualMicros: 700, limits: req.limits, tokenDelta: -200 }, now).then(() => {
      if (measured) times.finish.push(performance.now() - t1);
    });
  }
  await settling;
  return { kind: store.kind, iterations, p50Ms: { admit: median(times.admit), finish: median(times.finish) } };
}

function median(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 1000) / 1000;
}
