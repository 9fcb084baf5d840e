import { describe, expect, it } from 'vitest';
import { bucketCalls, latencyPercentiles, percentile, rangeOf } from './series.ts';

describe('percentile', () => {
  it('is the nearest rank and null when empty', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([10, 20, 30, 40], 0.5)).toBe(20);
    expect(percentile([10, 20, 30, 40], 0.95)).toBe(40);
    expect(percentile([7], 0.95)).toBe(7);
  });
});

describe('bucketCalls', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  it('groups calls by bucket, keeps empty buckets and skips errors in latency', () => {
    const b = bucketCalls(
      [
        { started_at: at(0), latency_ms: 100, status: 'ok', cost_usd: 0.5, cache_status: 'miss' },
        { started_at: at(1_000), latency_ms: 300, status: 'ok', cost_usd: null, cache_status: 'hit' },
        { started_at: at(2_000), latency_ms: 9_999, status: 'upstream_error', cost_usd: null, cache_status: null },
        { started_at: at(130_000), latency_ms: 50, status: 'ok', cost_usd: 0.25, cache_status: null },
      ],
      0,
      180_000,
      60_000,
    );
    expect(b.x).toEqual([0, 60, 120]);
    expect(b.calls).toEqual([3, 0, 1]);
    expect(b.errors).toEqual([1, 0, 0]);
    expect(b.cost).toEqual([0.5, 0, 0.25]);
    expect(b.p95).toEqual([300, null, 50]);
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

describe('latencyPercentiles', () => {
  it('is over ok calls only', () => {
    const p = (latency_ms: number, status = 'ok') => ({ started_at: '2025-01-01T00:00:00Z', latency_ms, status, cost_usd: null, cache_status: null });
    expect(latencyPercentiles([p(10), p(20), p(5000, 'upstream_error'), p(30)])).toEqual({ p50: 20, p95: 30 });
    expect(latencyPercentiles([])).toEqual({ p50: null, p95: null });
  });
});
