import type { BudgetPeriod } from '../auth/schema.ts';

const DAY_MS = 86_400_000;

/** The budget period `now` falls in, in UTC: its start and when the next one begins (both null for `total`). */
export interface PeriodBounds {
  start: Date | null;
  resetAt: Date | null;
}

/**
 * Start of the period as epoch ms; 0 for `total`, which never resets (the stores key a
 * `total` budget by the epoch). Weeks begin Monday 00:00 UTC (ISO 8601).
 */
export function periodStartMs(period: BudgetPeriod, nowMs: number): number {
  switch (period) {
    case 'day':
      return nowMs - mod(nowMs, DAY_MS);
    case 'week': {
      const dayStart = nowMs - mod(nowMs, DAY_MS);
      // 1970-01-01 was a Thursday: days since then, shifted so that Monday is 0.
      const weekday = mod(Math.floor(nowMs / DAY_MS) + 3, 7);
      return dayStart - weekday * DAY_MS;
    }
    case 'month': {
      const d = new Date(nowMs);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    case 'total':
      return 0;
  }
}

/** When the period that starts at `startMs` ends; null for `total`. */
export function periodResetMs(period: BudgetPeriod, startMs: number): number | null {
  switch (period) {
    case 'day':
      return startMs + DAY_MS;
    case 'week':
      return startMs + 7 * DAY_MS;
    case 'month': {
      const d = new Date(startMs);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    case 'total':
      return null;
  }
}

export function periodOf(period: BudgetPeriod, now: Date): PeriodBounds {
  if (period === 'total') return { start: null, resetAt: null };
  const start = periodStartMs(period, now.getTime());
  return { start: new Date(start), resetAt: new Date(periodResetMs(period, start)!) };
}

/** Modulo that stays non-negative for instants before 1970. */
function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
