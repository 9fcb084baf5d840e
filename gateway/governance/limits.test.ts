import { describe, expect, it } from 'vitest';
import type { Database } from '../db/client.ts';
import { openLimitStore, periodOf } from './limits.ts';

const utc = (...parts: [number, number, number, number?, number?, number?]) => new Date(Date.UTC(...parts));

describe('periodOf', () => {
  it('day: from 00:00 UTC to the next midnight', () => {
    expect(periodOf('day', utc(2025, 5, 11, 23, 59, 59))).toEqual({ start: utc(2025, 5, 11), resetAt: utc(2025, 5, 12) });
    expect(periodOf('day', utc(2025, 5, 12))).toEqual({ start: utc(2025, 5, 12), resetAt: utc(2025, 5, 13) });
  });

  it('week: from Monday 00:00 UTC', () => {
    // 2025-06-09 is a Monday, 2025-06-15 a Sunday.
    for (const d of [9, 11, 15]) expect(periodOf('week', utc(2025, 5, d, 13))).toEqual({ start: utc(2025, 5, 9), resetAt: utc(2025, 5, 16) });
    expect(periodOf('week', utc(2025, 5, 15, 23, 59, 59))).toEqual({ start: utc(2025, 5, 9), resetAt: utc(2025, 5, 16) });
    expect(periodOf('week', utc(2025, 5, 16))).toEqual({ start: utc(2025, 5, 16), resetAt: utc(2025, 5, 23) });
    // Across a year end: 2025-12-29 is a Monday.
    expect(periodOf('week', utc(2026, 0, 2))).toEqual({ start: utc(2025, 11, 29), resetAt: utc(2026, 0, 5) });
    // Before the epoch (a Thursday) the arithmetic still lands on Monday.
    expect(periodOf('week', utc(1969, 11, 31, 12))).toEqual({ start: utc(1969, 11, 29), resetAt: utc(1970, 0, 5) });
  });

  it('month: from the 1st, across lengths and year ends', () => {
    expect(periodOf('month', utc(2024, 1, 29, 12))).toEqual({ start: utc(2024, 1, 1), resetAt: utc(2024, 2, 1) });
    expect(periodOf('month', utc(2025, 11, 31, 23, 59, 59))).toEqual({ start: utc(2025, 11, 1), resetAt: utc(2026, 0, 1) });
    expect(periodOf('month', utc(2026, 0, 1))).toEqual({ start: utc(2026, 0, 1), resetAt: utc(2026, 1, 1) });
  });

  it('total: never resets', () => {
    expect(periodOf('total', new Date())).toEqual({ start: null, resetAt: null });
  });
});

describe('openLimitStore', () => {
  const database = { db: {} } as unknown as Database;

  it('uses Postgres without a Redis URL, Redis with one', async () => {
    const pg = openLimitStore({ database, redisUrl: undefined, purgeEveryMs: 0 });
    expect(pg.kind).toBe('postgres');
    await pg.close();
    const redis = openLimitStore({ database, redisUrl: 'redis://127.0.0.1:1', timeoutMs: 100 });
    expect(redis.kind).toBe('redis');
    await redis.close();
  });

  it('rejects nonsense options at once', () => {
    expect(() => openLimitStore({ database, reservationTtlMs: 0 })).toThrow(/reservationTtlMs/);
    expect(() => openLimitStore({ database, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });
});
