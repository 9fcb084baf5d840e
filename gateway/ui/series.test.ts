import { describe, expect, it } from 'vitest';
import { rangeOf, seriesColumns } from './series.ts';

describe('seriesColumns', () => {
  it('turns the API series into chart columns: seconds, counts, percent hit rate, nulls kept', () => {
    const point = (t: number, calls: number, extra: Partial<Record<string, number | null>> = {}) => ({
      t: new Date(t).toISOString(),
      calls,
      errors: 0,
      cost_usd: calls ? 0.5 : 0,
      latency_p50_ms: calls ? 100 : null,
      latency_p95_ms: calls ? 300 : null,
      cache_hit_rate: null,
      ...extra,
    });
    const b = seriesColumns({ data: [point(0, 3, { errors: 1, cache_hit_rate: 0.5 }), point(60_000, 0), point(120_000, 1, { cost_usd: null })] });
    expect(b.x).toEqual([0, 60, 120]);
    expect(b.calls).toEqual([3, 0, 1]);
    expect(b.errors).toEqual([1, 0, 0]);
    expect(b.cost).toEqual([0.5, 0, null]);
    expect(b.p95).toEqual([300, null, 300]);
    expect(b.hitRate).toEqual([50, null, null]);
  });
});

describe('rangeOf', () => {
  it('falls back to 24h for anything unknown', () => {
    expect(rangeOf('7d')).toBe('7d');
    expect(rangeOf('constructor')).toBe('24h');
    expect(rangeOf(undefined)).toBe('24h');
  });
});
