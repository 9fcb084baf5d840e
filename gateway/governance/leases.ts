import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { reserveMicros } from './store-options.ts';
import type { AdmitRequest, AdmitResult, BudgetLimit, FinishRequest, LimitStore, RateLimit, RateState, Reservation, ReserveResult, SpendView, TakeResult } from './types.ts';

export interface LeaseOptions {
  /** How long a lease serves calls (ms); then what it did not use goes back. */
  ttlMs: number;
  /** The largest share of a limit (an rpm, a tpm, a budget) one lease may hold. */
  share: number;
  /** The most requests one lease takes. */
  maxRequests: number;
}

export interface LeaseStats {
  /** Leases serving calls now. */
  active: number;
  taken: number;
  /** Calls served from a lease, and calls that asked the store themselves (a key or team with small limits, or near one). */
  leased: number;
  direct: number;
}

/** What a lease holds (a slice of every limit and budget of one key and its team) and what its calls used of it. */
interface Lease {
  readonly slot: Slot;
  /** Names its request entries in the store (`<id>:<i>`) and its calls' tickets. */
  readonly id: string;
  readonly limits: readonly RateLimit[];
  readonly requests: number;
  readonly tokens: number;
  readonly micros: number;
  readonly reservation: Reservation | null;
  /** The store's states right after the lease was taken, and when. */
  readonly states: readonly RateState[];
  readonly takenAt: number;
  /** Its entries' date in the store: its end. */
  readonly atMs: number;
  usedRequests: number;
  /** Tokens taken by its calls (their estimates), and what their real counts added to that. */
  usedTokens: number;
  tokenDelta: number;
  /** Worst cases of its calls still running, and real costs of those done. */
  reservedMicros: number;
  spentMicros: number;
  inFlight: number;
  retired: boolean;
  timer: NodeJS.Timeout | null;
}

/** One key's (and its team's) limits and budgets, as the governor asks for them (the same arrays every call). */
interface Slot {
  readonly key: string;
  lease: Lease | null;
  /** The next lease being taken: calls that find the current one used up wait for it. */
  taking: Promise<Lease | null> | null;
  /** Requests the next lease takes: doubled when one runs out, cut to what was used when one expires. */
  size: number;
  /** Until then calls ask the store themselves (epoch ms): a lease did not fit, or demand was too low. */
  directUntil: number;
}

/** Handed from admit to finish (AdmitResult.ticket, FinishRequest.ticket) for a call served from a lease. */
interface Ticket {
  lease: Lease;
  micros: number;
}

const FIRST_SIZE = 4;
/** Keys (with their teams) tracked at once; each slot is a few hundred bytes. */
const SLOTS_MAX = 10_000;
const signatures = new WeakMap<readonly (RateLimit | BudgetLimit)[], string>();

/** What a limits or budgets array asks for, as a string: its subjects and their amounts. */
function signature(list: readonly (RateLimit | BudgetLimit)[]): string {
  if (list.length === 0) return '';
  let sig = signatures.get(list);
  if (sig === undefined) {
    sig = list.map((x) => ('limitMicros' in x ? `${x.subject}:${x.limitMicros}/${x.period}` : `${x.subject}:${x.rpm}/${x.tpm}`)).join(',');
    signatures.set(list, sig);
  }
  return sig;
}

/**
 * Leases (issue 16's ≤ 0.1 ms on Redis): instead of a round trip per call, an instance takes a
 * slice of a key's limits in one admit — `n` requests from every rpm, n × the call's tokens from
 * every tpm, n × its worst case reserved against every budget — serves calls from it in memory,
 * and gives back what it did not use (one settle) when it runs out or after `ttlMs`.
 *
 * What stays exact: everything a lease takes is taken atomically against the shared limits, like
 * a call, so no instance can serve past a limit: settled spend never passes a budget by more
 * than a call's reservation, and a window never holds more than its rpm/tpm. A lease's entries
 * are dated at its end, so they stay in the window at least as long as any call it served would
 * have. What becomes approximate: `x-ratelimit-remaining-*` counts this instance's calls since
 * the lease was taken, not other instances' (it is read from the store once per lease); spend
 * shown by GET /api/keys lags by up to `ttlMs` (a lease's reservation shows as reserved); and
 * near a limit, room another instance's lease holds is not available here until it comes back
 * (at most `ttlMs`). So leases are only taken where a lease of two calls or more is at most
 * `share` of every limit; keys with small limits (60 rpm, a budget of a few calls) and the last
 * stretch before a limit (a lease no longer fits) go to the store call by call, exact as before.
 * Demand sizes leases: a lease that ran out makes the next one twice as large (to `maxRequests`
 * and `share`), one that expired makes it as large as what was used; below two calls a second
 * the key goes call by call.
 */
export class LeasedLimitStore implements LimitStore {
  readonly kind: LimitStore['kind'];
  /**
   * The keys seen lately: bounded, the least recently used going first (a slot that goes with
   * its lease out only loses track of it: the lease still comes back on its timer).
   */
  private readonly slots = new LRUCache<string, Slot>({ max: SLOTS_MAX });
  private readonly open = new Set<Lease>();
  /** Leases on their way back: close waits for them, so what follows it sees them applied. */
  private readonly returning = new Set<Promise<void>>();
  private readonly counters = { taken: 0, leased: 0, direct: 0 };
  private readonly tag = randomBytes(6).toString('base64url');
  private seq = 0;
  private closed = false;

  constructor(
    private readonly inner: LimitStore,
    private readonly opts: LeaseOptions,
    /** Wall clock, epoch ms: the expiry timers' return date. */
    private readonly clock: () => number = Date.now,
  ) {
    this.kind = inner.kind;
  }

  stats(): LeaseStats {
    let active = 0;
    for (const l of this.open) if (!l.retired) active++;
    return { active, ...this.counters };
  }

  async admit(req: AdmitRequest, now: Date): Promise<AdmitResult> {
    if (this.closed || req.lease || this.capOf(req) < 2) {
      this.counters.direct++;
      return this.inner.admit(req, now);
    }
    const nowMs = now.getTime();
    const slot = this.slotOf(req);
    for (;;) {
      const lease = slot.lease;
      if (lease && !lease.retired) {
        if (nowMs < lease.atMs && fits(lease, req)) return this.serve(lease, req, nowMs);
        // Used up (or expired): its unused part goes back once its calls are done.
        if (lease.usedRequests >= lease.requests) slot.size = Math.min(this.opts.maxRequests, lease.requests * 2);
        this.retire(lease);
      }
      if (slot.taking) {
        await slot.taking;
        continue;
      }
      if (nowMs < slot.directUntil) break;
      slot.taking = this.takeLease(slot, req, now).finally(() => {
        slot.taking = null;
      });
      if (!(await slot.taking)) break;
    }
    this.counters.direct++;
    return this.inner.admit(req, now);
  }

  finish(req: FinishRequest, now: Date): Promise<void> {
    const ticket = req.ticket as Ticket | undefined;
    if (!ticket) {
      // A leased call's reservation (`<lease>:<n>`, never a UUID) is settled with its lease, through its ticket.
      if (req.reservation?.id.includes(':')) return Promise.reject(new TypeError('limit store: a leased call finished without its ticket'));
      return this.inner.finish(req, now);
    }
    const lease = ticket.lease;
    lease.inFlight--;
    lease.reservedMicros -= ticket.micros;
    if (req.reservation) lease.spentMicros += Math.max(0, Math.round(req.actualMicros));
    lease.tokenDelta += Math.round(req.tokenDelta);
    if (lease.retired && lease.inFlight === 0) return this.giveBack(lease, now);
    return Promise.resolve();
  }

  reserve(budgets: readonly BudgetLimit[], micros: number, now: Date): Promise<ReserveResult> {
    return this.inner.reserve(budgets, micros, now);
  }

  settle(reservation: Reservation, actualMicros: number, now: Date): Promise<void> {
    return this.inner.settle(reservation, actualMicros, now);
  }

  take(limits: readonly RateLimit[], tokens: number, now: Date): Promise<TakeResult> {
    return this.inner.take(limits, tokens, now);
  }

  adjustTokens(limits: readonly RateLimit[], delta: number, now: Date, takenAtMs?: number): Promise<void> {
    return this.inner.adjustTokens(limits, delta, now, takenAtMs);
  }

  spend(budgets: readonly BudgetLimit[], now: Date): Promise<SpendView[]> {
    return this.inner.spend(budgets, now);
  }

  /**
   * Gives every lease back, then closes the store. A call still running on a lease is counted
   * at its worst case (its real cost can no longer be settled): more spend, never less.
   */
  async close(): Promise<void> {
    this.closed = true;
    const now = new Date(this.clock());
    const back: Promise<void>[] = [];
    for (const lease of this.open) {
      this.retire(lease);
      lease.spentMicros += Math.max(0, lease.reservedMicros);
      lease.reservedMicros = 0;
      lease.inFlight = 0;
      back.push(this.giveBack(lease, now).catch(() => {}));
    }
    await Promise.all(back);
    await Promise.all(this.returning);
    await this.inner.close();
  }

  /**
   * The most calls of this size one lease may cover: `share` of every limit and budget, at most
   * `maxRequests`; below 2 the call goes to the store alone (as does a call with nothing to limit).
   */
  private capOf(req: AdmitRequest): number {
    if (req.limits.length === 0 && req.budgets.length === 0) return 0;
    const tokens = Math.max(0, Math.ceil(req.tokens));
    const micros = req.budgets.length === 0 ? 0 : reserveMicros(req.micros);
    let n = this.opts.maxRequests;
    for (const l of req.limits) {
      if (l.rpm !== null) n = Math.min(n, Math.floor(l.rpm * this.opts.share));
      if (l.tpm !== null && tokens > 0) n = Math.min(n, Math.floor((l.tpm * this.opts.share) / tokens));
    }
    if (micros > 0) for (const b of req.budgets) n = Math.min(n, Math.floor((b.limitMicros * this.opts.share) / micros));
    return n;
  }

  /**
   * The slot of these limits and budgets, by what they say (subjects and amounts), so a caller
   * that builds new arrays for every call still shares one lease; the signature of an array is
   * kept while the array lives (the governor passes the same ones for every call of a key).
   */
  private slotOf(req: AdmitRequest): Slot {
    const key = `${signature(req.limits)}#${signature(req.budgets)}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { key, lease: null, taking: null, size: FIRST_SIZE, directUntil: 0 };
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** A call served from the lease: nothing leaves the process. */
  private serve(lease: Lease, req: AdmitRequest, nowMs: number): AdmitResult {
    this.counters.leased++;
    const micros = req.budgets.length === 0 ? 0 : reserveMicros(req.micros);
    lease.usedRequests++;
    lease.usedTokens += Math.max(0, Math.ceil(req.tokens));
    lease.reservedMicros += micros;
    lease.inFlight++;
    const ticket: Ticket = { lease, micros };
    const elapsed = nowMs - lease.takenAt;
    const unusedRequests = lease.requests - lease.usedRequests;
    const unusedTokens = lease.tokens - lease.usedTokens;
    const states = lease.states.map((s) => ({
      subject: s.subject,
      requests: s.requests && { limit: s.requests.limit, remaining: s.requests.remaining + unusedRequests, resetMs: Math.max(0, s.requests.resetMs - elapsed) },
      tokens: s.tokens && { limit: s.tokens.limit, remaining: s.tokens.remaining + unusedTokens, resetMs: Math.max(0, s.tokens.resetMs - elapsed) },
    }));
    return {
      rate: req.limits.length === 0 ? null : { ok: true, states },
      budget: req.budgets.length === 0 ? null : { ok: true, reservation: { id: `${lease.id}:${lease.usedRequests}`, subjects: lease.reservation?.subjects ?? [], micros } },
      ticket,
      takenAtMs: lease.atMs,
    };
  }

  /**
   * Takes the next lease for the slot, sized for demand and capped by `share` of every limit;
   * null when no lease of two calls fits (the caller asks the store for its call alone).
   */
  private async takeLease(slot: Slot, req: AdmitRequest, now: Date): Promise<Lease | null> {
    const nowMs = now.getTime();
    const tokens = Math.max(0, Math.ceil(req.tokens));
    const micros = req.budgets.length === 0 ? 0 : reserveMicros(req.micros);
    const n = Math.min(slot.size, this.capOf(req));
    const id = `${this.tag}${(++this.seq).toString(36)}`;
    const atMs = nowMs + this.opts.ttlMs;
    const ask = { limits: req.limits, tokens: n * tokens, budgets: req.budgets, micros: n * micros, lease: { id, requests: n, atMs } };
    const result = await this.inner.admit(ask, now);
    if (result.rate && !result.rate.ok) {
      slot.directUntil = nowMs + this.opts.ttlMs;
      return null;
    }
    const budget = result.budget;
    if (budget && !budget.ok) {
      // The requests and tokens were taken: they go back at once.
      slot.directUntil = nowMs + this.opts.ttlMs;
      void this.inner.finish({ reservation: null, actualMicros: 0, limits: req.limits, tokenDelta: -ask.tokens, takenAtMs: atMs, requestsBack: { id, from: 1, to: n } }, now).catch(() => {});
      return null;
    }
    this.counters.taken++;
    const lease: Lease = {
      slot,
      id,
      limits: req.limits,
      requests: n,
      tokens: ask.tokens,
      micros: ask.micros,
      reservation: budget?.reservation ?? null,
      states: result.rate?.states ?? [],
      takenAt: nowMs,
      atMs,
      usedRequests: 0,
      usedTokens: 0,
      tokenDelta: 0,
      reservedMicros: 0,
      spentMicros: 0,
      inFlight: 0,
      retired: false,
      timer: null,
    };
    lease.timer = setTimeout(() => this.expire(lease), this.opts.ttlMs);
    lease.timer.unref();
    this.open.add(lease);
    slot.lease = lease;
    return lease;
  }

  /**
   * A lease's time is up: the next one is as large as this one's use called for; a key that
   * did not use two calls' worth in `ttlMs` goes call by call for the next `ttlMs`.
   */
  private expire(lease: Lease): void {
    lease.timer = null;
    if (lease.retired) return;
    const slot = lease.slot;
    slot.size = Math.min(this.opts.maxRequests, Math.max(lease.usedRequests * 2, FIRST_SIZE));
    if (lease.usedRequests < 2) slot.directUntil = this.clock() + this.opts.ttlMs;
    this.retire(lease);
  }

  /** Serves no more calls; given back now, or when its last call finishes. */
  private retire(lease: Lease): void {
    if (lease.retired) return;
    lease.retired = true;
    if (lease.timer) clearTimeout(lease.timer);
    lease.timer = null;
    if (lease.slot.lease === lease) lease.slot.lease = null;
    if (lease.inFlight === 0) void this.giveBack(lease, new Date(this.clock())).catch(() => {});
  }

  /**
   * One settle: the reservation to what its calls really cost, the tokens to what they really
   * used (fewer come off at the lease's date, with its entry), and its unused requests removed.
   */
  private giveBack(lease: Lease, now: Date): Promise<void> {
    if (!this.open.delete(lease)) return Promise.resolve();
    const tokenDelta = lease.usedTokens + lease.tokenDelta - lease.tokens;
    const unused = lease.requests - lease.usedRequests;
    const sent = this.inner.finish(
      {
        reservation: lease.reservation,
        actualMicros: lease.spentMicros,
        limits: lease.limits,
        tokenDelta,
        takenAtMs: lease.atMs,
        requestsBack: unused > 0 ? { id: lease.id, from: lease.usedRequests + 1, to: lease.requests } : undefined,
      },
      now,
    );
    const settled = sent.catch(() => {}).finally(() => this.returning.delete(settled));
    this.returning.add(settled);
    return sent;
  }
}

function fits(lease: Lease, req: AdmitRequest): boolean {
  if (lease.usedRequests >= lease.requests) return false;
  if (lease.usedTokens + Math.max(0, Math.ceil(req.tokens)) > lease.tokens) return false;
  if (req.budgets.length > 0 && lease.spentMicros + lease.reservedMicros + reserveMicros(req.micros) > lease.micros) return false;
  return true;
}
