import type { BudgetPeriod } from '../auth/schema.ts';

/**
 * Governance (DESIGN §4.4): the policy keys and teams carry, and the shared store that keeps
 * budgets and rate limits exact across instances. Amounts are integer micro-USD (1e-6 USD), the
 * unit the call log prices in.
 */

/** What a key or a team allows; null fields do not limit. */
export interface Policy {
  budget: { usd: number; period: BudgetPeriod } | null;
  rpm: number | null;
  tpm: number | null;
  /** Globs over `provider/model` and route names (`openai/*`, `support-bot`); null = `["*"]`. */
  models: readonly string[] | null;
  /** Globs over registry prompt names; null = `["*"]`. */
  prompts: readonly string[] | null;
}

/** Who a budget or a rate limit belongs to: `key:<uuid>` or `team:<uuid>`. */
export type Subject = `key:${string}` | `team:${string}`;

export interface BudgetLimit {
  subject: Subject;
  limitMicros: number;
  period: BudgetPeriod;
}

export interface RateLimit {
  subject: Subject;
  /** Requests per minute; null: not limited. */
  rpm: number | null;
  /** Tokens per minute; null: not limited. */
  tpm: number | null;
}

/** A reservation that fitted every budget it was taken from; settle it exactly once. */
export interface Reservation {
  id: string;
  subjects: readonly Subject[];
  micros: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  /** The first budget it did not fit: spent and reserved in its period, and when the period resets (null: `total`). */
  | { ok: false; budget: BudgetLimit; spentMicros: number; reservedMicros: number; resetAt: Date | null };

/** Per limit (requests, tokens): the limit, what is left in the window, and when it is whole again. */
export interface RateState {
  subject: Subject;
  requests: { limit: number; remaining: number; resetMs: number } | null;
  tokens: { limit: number; remaining: number; resetMs: number } | null;
}

export type TakeResult = { ok: true; states: RateState[] } | { ok: false; subject: Subject; kind: 'requests' | 'tokens'; retryAfterMs: number; states: RateState[] };

/** Everything a call takes from the store before its upstream call (Governor.start). */
export interface AdmitRequest {
  limits: readonly RateLimit[];
  /** Tokens (estimated) taken from each tpm. */
  tokens: number;
  budgets: readonly BudgetLimit[];
  /** Reserved against every budget; with no budgets (or none asked) nothing is reserved. */
  micros: number;
  /**
   * A lease (leases.ts) instead of one call: `requests` requests from every rpm, the entries dated
   * `atMs` (the lease's end) and named by `id`.
   */
  lease?: LeaseTake | undefined;
}

export interface LeaseTake {
  id: string;
  requests: number;
  atMs: number;
}

export interface AdmitResult {
  /** Null when no limit was given. */
  rate: TakeResult | null;
  /** Null when no budget was given, or when the rate limits refused (then nothing is reserved). */
  budget: ReserveResult | null;
  /** Served from a lease (leases.ts): handed back in the call's FinishRequest. */
  ticket?: unknown;
  /** When the call's request and tokens are dated in the store, when not now (a lease's end). */
  takenAtMs?: number | undefined;
}

/** Everything a call gives back once it finished (the governor's CallFinished listener). */
export interface FinishRequest {
  /** Settled to `actualMicros` when given. */
  reservation: Reservation | null;
  actualMicros: number;
  /** The limits taken and the real token count minus the taken estimate (0: no correction). */
  limits: readonly RateLimit[];
  tokenDelta: number;
  /** When the estimate was taken (epoch ms; default: now): a lower count comes off from then. */
  takenAtMs?: number | undefined;
  /** A lease's unused requests, given back to every rpm of `limits`: its entries `from`..`to` (1-based). */
  requestsBack?: { id: string; from: number; to: number } | undefined;
  /** AdmitResult.ticket of the call, when it had one. */
  ticket?: unknown;
}

export interface SpendView {
  subject: Subject;
  period: BudgetPeriod;
  periodStart: Date | null;
  resetAt: Date | null;
  spentMicros: number;
  reservedMicros: number;
}

/**
 * Budgets and rate limits shared by every instance: Redis (atomic Lua) when REDIS_URL is set,
 * else Postgres (single-statement conditional updates). Every operation on several subjects
 * (a key and its team) is all or nothing.
 */
export interface LimitStore {
  readonly kind: 'redis' | 'postgres';
  /** Reserves `micros` against every budget, or none when one of them would be exceeded. */
  reserve(budgets: readonly BudgetLimit[], micros: number, now: Date): Promise<ReserveResult>;
  /** Releases the reservation and adds the real cost (0 for a cache hit or a failed call) to each budget's spend. Idempotent per reservation id. */
  settle(reservation: Reservation, actualMicros: number, now: Date): Promise<void>;
  /** One request and `tokens` (estimated) tokens from each limit's sliding minute, or nothing when one of them has no room. */
  take(limits: readonly RateLimit[], tokens: number, now: Date): Promise<TakeResult>;
  /** Corrects a taken token estimate by `delta` (the real count minus the estimate), never refusing; fewer come off where the estimate went (taken at `takenAtMs`). */
  adjustTokens(limits: readonly RateLimit[], delta: number, now: Date, takenAtMs?: number): Promise<void>;
  /**
   * take, then reserve — the reserve only when the take let the request through — as one
   * atomic operation on Redis (one round trip); on Postgres the two statements run
   * concurrently and a reservation made for a refused request is released before returning.
   */
  admit(req: AdmitRequest, now: Date): Promise<AdmitResult>;
  /** settle and adjustTokens of one call together (one round trip on Redis). */
  finish(req: FinishRequest, now: Date): Promise<void>;
  /** Spend and outstanding reservations of the current period. */
  spend(budgets: readonly BudgetLimit[], now: Date): Promise<SpendView[]>;
  close(): Promise<void>;
}
