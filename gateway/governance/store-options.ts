/** Options both limit stores take (limits.ts passes them through). */
export interface LimitStoreOptions {
  /**
   * How long an unsettled reservation holds budget (default 10 min): a process that dies
   * between reserve and settle must not keep budget reserved forever. A call that outlives it
   * still has its real cost counted when it settles, as long as that is within `lateSettleMs`.
   */
  reservationTtlMs?: number;
  /** How long after expiring a reservation may still be settled (default 24 h). */
  lateSettleMs?: number;
  /** Longest one operation may take before it throws (default 1 s): a dead store never hangs a request. */
  timeoutMs?: number;
}

export interface ResolvedLimitOptions {
  reservationTtlMs: number;
  lateSettleMs: number;
  timeoutMs: number;
}

export function resolveLimitOptions(opts: LimitStoreOptions): ResolvedLimitOptions {
  return {
    reservationTtlMs: positive(opts.reservationTtlMs, 600_000, 'reservationTtlMs'),
    lateSettleMs: positive(opts.lateSettleMs, 86_400_000, 'lateSettleMs'),
    timeoutMs: positive(opts.timeoutMs, 1_000, 'timeoutMs'),
  };
}

/** The sliding window of rpm and tpm. */
export const WINDOW_MS = 60_000;

/** Thrown when an operation outlives `timeoutMs`; the caller decides whether to fail open. */
export class LimitStoreTimeoutError extends Error {
  constructor(operation: string, ms: number) {
    super(`limit store: ${operation} took longer than ${ms} ms`);
    this.name = 'LimitStoreTimeoutError';
  }
}

/**
 * Rejects after `ms`. The operation itself is not cancelled: a reservation that lands after
 * its caller gave up is released by expiry, like one whose process died.
 */
export function withTimeout<T>(operation: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LimitStoreTimeoutError(operation, ms)), ms);
  });
  // A late failure of the abandoned operation must not surface as an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Amounts are integer micro-USD. A reservation rounds up (so a limit of 0 refuses any price
 * above 0), a limit rounds to the nearest micro (`usd * 1e6` carries float noise).
 */
export const reserveMicros = (micros: number): number => Math.max(0, Math.ceil(micros));
export const limitMicros = (micros: number): number => Math.max(0, Math.round(micros));
/** Real cost and token corrections: rounded, never negative spend. */
export const actualMicros = (micros: number): number => Math.max(0, Math.round(micros));

/** Each subject at most once per operation: the stores update one row or key per subject. */
export function assertDistinct(subjects: readonly { subject: string }[]): void {
  for (let i = 1; i < subjects.length; i++) {
    for (let j = 0; j < i; j++) {
      if (subjects[i]!.subject === subjects[j]!.subject) throw new TypeError(`limit store: subject ${subjects[i]!.subject} given twice`);
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`limit store: ${name} must be a positive number of ms`);
  return value;
}
