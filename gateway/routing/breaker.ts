/**
 * Per-target circuit breakers. After `failures` consecutive failed calls a target is open
 * (skipped) for `cooldownMs`; then it is half-open: one request is let through as a trial
 * (claimed by `allow`), and its outcome closes the breaker (success) or opens it again for
 * another cool-down (failure). A trial whose outcome never arrives (the target was listed as
 * a fallback but not needed) expires after `cooldownMs`, so a target cannot stay stuck.
 *
 * What counts as a failure is the caller's call: the pipeline reports upstream failures that
 * survived retries (429/5xx/timeout/connection), not client errors.
 */
export interface BreakerPolicy {
  failures: number;
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = Object.freeze({ failures: 5, cooldownMs: 30_000 });

export type BreakerState = 'closed' | 'open' | 'half_open';

interface Entry {
  policy: BreakerPolicy;
  failures: number;
  /** When the breaker last opened; NaN while closed. */
  openedAt: number;
  /** When the half-open trial was handed out; NaN when none is out. */
  trialAt: number;
}

export interface BreakerSnapshot {
  target: string;
  state: BreakerState;
  consecutive_failures: number;
  /** Milliseconds until a trial is allowed (0 when closed or half-open). */
  retry_in_ms: number;
}

/** A breaker changed state: opened, handed out its half-open trial, or closed again. */
export interface BreakerChange {
  target: string;
  from: BreakerState;
  to: BreakerState;
  consecutive_failures: number;
}

export class CircuitBreakers {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #onChange: (change: BreakerChange) => void;

  /**
   * `onChange` hears each transition (the server logs them). Half-open is reported when the
   * trial is handed out: the cool-down ending is only a clock passing, seen on the next `allow`.
   */
  constructor(now: () => number, onChange: (change: BreakerChange) => void = () => {}) {
    this.#now = now;
    this.#onChange = onChange;
  }

  #changed(target: string, e: Entry, from: BreakerState, to: BreakerState): void {
    if (from === to) return;
    try {
      this.#onChange({ target, from, to, consecutive_failures: e.failures });
    } catch {
      // A listener never breaks routing.
    }
  }

  /** Registers a target with its policy; the strictest policy wins when routes share a target. */
  register(key: string, policy: BreakerPolicy): void {
    const e = this.#entries.get(key);
    if (!e) {
      this.#entries.set(key, { policy, failures: 0, openedAt: Number.NaN, trialAt: Number.NaN });
      return;
    }
    e.policy = {
      failures: Math.min(e.policy.failures, policy.failures),
      cooldownMs: Math.max(e.policy.cooldownMs, policy.cooldownMs),
    };
  }

  state(key: string): BreakerState {
    const e = this.#entries.get(key);
    if (!e || Number.isNaN(e.openedAt)) return 'closed';
    return this.#now() - e.openedAt >= e.policy.cooldownMs ? 'half_open' : 'open';
  }

  /**
   * Whether a request may use the target now. In half-open state this claims the single trial,
   * so call it only for a target you are going to list.
   */
  allow(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e || Number.isNaN(e.openedAt)) return true;
    const now = this.#now();
    if (now - e.openedAt < e.policy.cooldownMs) return false;
    if (!Number.isNaN(e.trialAt) && now - e.trialAt < e.policy.cooldownMs) return false;
    const first = Number.isNaN(e.trialAt);
    e.trialAt = now;
    if (first) this.#changed(key, e, 'open', 'half_open');
    return true;
  }

  record(key: string, ok: boolean): void {
    const e = this.#entries.get(key);
    if (!e) return;
    const from = this.state(key);
    if (ok) {
      e.failures = 0;
      e.openedAt = Number.NaN;
      e.trialAt = Number.NaN;
      this.#changed(key, e, from, 'closed');
      return;
    }
    e.failures++;
    const wasOpen = !Number.isNaN(e.openedAt);
    if (wasOpen || e.failures >= e.policy.failures) {
      e.openedAt = this.#now();
      e.trialAt = Number.NaN;
      // A failed trial re-opens it (half_open → open); a failure while open only restarts the cool-down.
      if (from !== 'open') this.#changed(key, e, from, 'open');
    }
  }

  snapshot(): BreakerSnapshot[] {
    const now = this.#now();
    return [...this.#entries].map(([target, e]) => ({
      target,
      state: this.state(target),
      consecutive_failures: e.failures,
      retry_in_ms: Number.isNaN(e.openedAt) ? 0 : Math.max(0, e.policy.cooldownMs - (now - e.openedAt)),
    }));
  }
}
