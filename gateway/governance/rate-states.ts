import { WINDOW_MS } from './store-options.ts';
import type { RateLimit, RateState, Subject } from './types.ts';

/** One subject's sliding minute as a store read it (epoch ms throughout). */
export interface RateUsage {
  usedRequests: number;
  /** When the last request in the window leaves it; null: the window holds none. */
  resetRequestsAt: number | null;
  usedTokens: number;
  resetTokensAt: number | null;
  /** On refusal: when one more request would fit; null when waiting cannot help (rpm 0). */
  fitRequestsAt: number | null;
  /** On refusal: when the request's tokens would fit; null when they exceed the whole tpm. */
  fitTokensAt: number | null;
}

/** The usage after a take that fitted (of `requests`: a lease takes several): what it added leaves the window at `leavesAt`. */
export function applyTake(u: RateUsage, limit: RateLimit, tokens: number, leavesAt: number, requests = 1): void {
  if (limit.rpm !== null) {
    u.usedRequests += requests;
    u.resetRequestsAt = leavesAt;
  }
  if (limit.tpm !== null && tokens > 0) {
    u.usedTokens += tokens;
    u.resetTokensAt = leavesAt;
  }
}

/**
 * The first limit (in the caller's order; requests before tokens) with no room. A request
 * whose tokens exceed the whole tpm can never fit; it is refused with a full window as
 * retry-after, and the caller can tell it apart by `tokens > states[i].tokens.limit`.
 */
export function refusal(
  active: readonly RateLimit[],
  usage: readonly (RateUsage | undefined)[],
  tokens: number,
  nowMs: number,
  requests = 1,
): { subject: Subject; kind: 'requests' | 'tokens'; retryAfterMs: number } | undefined {
  for (let i = 0; i < active.length; i++) {
    const l = active[i]!;
    const u = usage[i];
    if (!u) continue;
    if (l.rpm !== null && u.usedRequests + requests > l.rpm) return { subject: l.subject, kind: 'requests', retryAfterMs: waitFor(u.fitRequestsAt, nowMs) };
    if (l.tpm !== null && u.usedTokens + tokens > l.tpm) return { subject: l.subject, kind: 'tokens', retryAfterMs: waitFor(u.fitTokensAt, nowMs) };
  }
  return undefined;
}

/**
 * A state per limit in the caller's order. `remaining` is what is left in the window;
 * `resetMs` is the time until the window is empty again (OpenAI's `x-ratelimit-reset-*`: until
 * the limit is back to full), 0 when it already is.
 */
export function rateStates(limits: readonly RateLimit[], active: readonly RateLimit[], usage: readonly (RateUsage | undefined)[], nowMs: number): RateState[] {
  const states = new Array<RateState>(limits.length);
  let a = 0;
  for (let i = 0; i < limits.length; i++) {
    const l = limits[i]!;
    const u = active[a] === l ? usage[a++] : undefined;
    states[i] = {
      subject: l.subject,
      requests: l.rpm === null ? null : { limit: l.rpm, remaining: Math.max(0, l.rpm - (u?.usedRequests ?? 0)), resetMs: untilMs(u?.resetRequestsAt, nowMs) },
      tokens: l.tpm === null ? null : { limit: l.tpm, remaining: Math.max(0, l.tpm - (u?.usedTokens ?? 0)), resetMs: untilMs(u?.resetTokensAt, nowMs) },
    };
  }
  return states;
}

/** Limits that limit anything (a subject with neither rpm nor tpm costs no round trip). */
export function activeLimits(limits: readonly RateLimit[]): readonly RateLimit[] {
  for (const l of limits) if (l.rpm === null && l.tpm === null) return limits.filter((x) => x.rpm !== null || x.tpm !== null);
  return limits;
}

const untilMs = (at: number | null | undefined, nowMs: number): number => (at === null || at === undefined ? 0 : Math.max(0, at - nowMs));
const waitFor = (at: number | null, nowMs: number): number => (at === null ? WINDOW_MS : Math.max(1, at - nowMs));
