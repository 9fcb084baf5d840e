import { randomUUID } from 'node:crypto';
import type { LimitStore, Subject } from './types.ts';

export interface LimitBenchResult {
  kind: LimitStore['kind'];
  iterations: number;
  /** Median latency of each operation, ms. */
  p50Ms: { reserve: number; take: number; settle: number };
}

/**
 * Latency of the three operations a priced, rate-limited call makes (reserve, take, settle)
 * against one key and its team, run one after another on `store`. Subjects are fresh per run;
 * what the run writes stays in the store (a few rows or keys).
 */
export async function benchLimitStore(store: LimitStore, iterations = 500): Promise<LimitBenchResult> {
  const key: Subject = `key:${randomUUID()}`;
  const team: Subject = `team:${randomUUID()}`;
  const budgets = [
    { subject: key, limitMicros: Number.MAX_SAFE_INTEGER, period: 'day' as const },
    { subject: team, limitMicros: Number.MAX_SAFE_INTEGER, period: 'month' as const },
  ];
  const limits = [
    { subject: key, rpm: 1_000_000_000, tpm: 1_000_000_000 },
    { subject: team, rpm: 1_000_000_000, tpm: null },
  ];
  const times = { reserve: [] as number[], take: [] as number[], settle: [] as number[] };
  // A warm-up round creates the rows (or loads the scripts) outside the measurement.
  for (let i = -20; i < iterations; i++) {
    const now = new Date();
    const t0 = performance.now();
    const r = await store.reserve(budgets, 1_000, now);
    const t1 = performance.now();
    await store.take(limits, 500, now);
    const t2 = performance.now();
    if (r.ok) await store.settle(r.reservation, 700, now);
    const t3 = performance.now();
    if (i < 0) continue;
    times.reserve.push(t1 - t0);
    times.take.push(t2 - t1);
    times.settle.push(t3 - t2);
  }
  return { kind: store.kind, iterations, p50Ms: { reserve: median(times.reserve), take: median(times.take), settle: median(times.settle) } };
}

function median(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 1000) / 1000;
}
