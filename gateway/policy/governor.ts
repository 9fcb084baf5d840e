import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallEvents, CallFinished } from '../calls/call-events.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { Pricer } from '../cost/pricing.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { Target } from '../routing/resolve-model.ts';
import { LeasedLimitStore } from '../governance/leases.ts';
import type { AdmitResult, BudgetLimit, LimitStore, Policy, RateLimit, RateState, Reservation, ReserveResult, Subject, TakeResult } from '../governance/types.ts';
import { allowedBy } from './globs.ts';

export interface GovernorOptions {
  /** The shared store; undefined until opened (and never touched for keys without limits). */
  store: LimitStore | undefined;
  pricer: Pricer;
  logger: Logger;
  events: CallEvents;
  /** Wall clock, epoch ms. */
  clock: () => number;
  /** While the store cannot be reached: `open` lets calls through (counted, logged), `closed` refuses them (503). */
  onStoreError: 'open' | 'closed';
  /** Output tokens reserved for a request that sets no max_tokens. */
  defaultMaxTokens: number;
}

export interface GovernorStats {
  refused_budget: number;
  refused_rate: number;
  refused_model: number;
  refused_prompt: number;
  store_errors: number;
  reservations_open: number;
  /** Leases (governance/leases.ts) out now and taken so far; calls served from one, and calls that asked the store themselves. */
  leases_active: number;
  leases_taken: number;
  calls_leased: number;
  calls_direct: number;
}

/** What a call may use at most: prompt tokens, the output cap (null: the default), the choices. */
export interface Demand {
  /**
   * Prompt tokens taken from tpm and reserved for: with `exactPromptTokens`, a cheap upper bound
   * (promptTokenBound: UTF-8 bytes), else the estimate itself.
   */
  promptTokens: number;
  /**
   * The closer estimate (tiktoken, tens to hundreds of µs), computed only when the bound made a
   * budget or a tpm refuse: the store is then asked once more with it (one more round trip,
   * only near a limit).
   */
  exactPromptTokens?: (() => number) | undefined;
  maxOutputTokens: number | null;
  choices: number;
}

/** What start() settles to: each check's refusal, or null. */
interface Gate {
  limited: GatewayError | null;
  overBudget: GatewayError | null;
}

/** One policy with whose it is, for messages and store subjects. */
interface Holder {
  subject: Subject;
  /** `key 'ci'` / `team 'support'`, for messages. */
  label: string;
  policy: Policy;
}

/** A key's policies and its team's, and what they ask of the store: built once per key object. */
interface Governed {
  holders: readonly Holder[];
  /** The rate limits of the holders that have one. */
  limits: readonly RateLimit[];
  budgets: readonly BudgetLimit[];
  /** Whether any of them needs the store (a budget or a rate limit). */
  limited: boolean;
}

/**
 * Built once per key object (the KeyStore hands out the same frozen object on every lookup
 * until the key changes), so a request builds no strings and no arrays here.
 */
const governedOf = new WeakMap<AuthenticatedKey, Governed>();
const NONE: Governed = { holders: [], limits: [], budgets: [], limited: false };
const NO_BUDGETS: readonly BudgetLimit[] = [];
const NO_LIMITS: readonly RateLimit[] = [];

function governed(key: AuthenticatedKey | null | undefined): Governed {
  if (!key) return NONE;
  let out = governedOf.get(key);
  if (!out) {
    const holders: Holder[] = [];
    if (key.policy && key.id) holders.push({ subject: `key:${key.id}`, label: `key '${key.name}'`, policy: key.policy });
    if (key.team) holders.push({ subject: `team:${key.team.id}`, label: `team '${key.team.name}'`, policy: key.team.policy });
    const limits = holders.filter((h) => h.policy.rpm !== null || h.policy.tpm !== null).map((h) => ({ subject: h.subject, rpm: h.policy.rpm, tpm: h.policy.tpm }));
    const budgets = holders.flatMap(({ subject, policy: { budget } }) => (budget ? [{ subject, limitMicros: Math.round(budget.usd * 1e6), period: budget.period }] : []));
    out = { holders, limits, budgets, limited: holders.some((h) => limited(h.policy)) };
    governedOf.set(key, out);
  }
  return out;
}

const holders = (key: AuthenticatedKey | null | undefined): readonly Holder[] => governed(key).holders;

/** A policy that needs the shared store: a budget or a rate limit. */
const limited = (p: Policy): boolean => p.budget !== null || p.rpm !== null || p.tpm !== null;

/** How long after a store failure calls skip it (and fail open or closed at once). */
const STORE_RETRY_MS = 2_000;

const usd = (micros: number) => `$${(micros / 1e6).toFixed(micros < 10_000 ? 6 : 2)}`;

/**
 * The policies of a call's key and its team (DESIGN §4.4), applied on the request path:
 * allow-lists from memory; rate limits and budgets through the shared store, only for keys (or
 * teams) that have them, in one store operation before the upstream call (start) and one after
 * the call finished (the CallFinished event: answered, failed, client gone), which settles the
 * reservation to the real cost and corrects the tokens taken. Unpriced and zero-priced targets
 * reserve nothing, so they are never blocked.
 *
 * Trade-off of the prompt bound (Demand): a call reserves and takes up to ~4× its prompt's
 * tokens for English (its bytes) until it finishes, so near a limit concurrent calls see less
 * room than the estimate would leave, and the x-ratelimit-remaining-tokens of an answer counts
 * the bound; the call itself is never refused for the bound alone (the estimate is asked for
 * then). Budgets stay safe: a reservation only grows, and settled spend still never passes a
 * budget by more than one call's reservation.
 */
export class Governor {
  readonly #opts: GovernorOptions;
  readonly #reservations = new Map<string, Reservation>();
  /** Per call: the rate limits taken and the tokens estimated, corrected when it finishes. */
  readonly #taken = new Map<string, { limits: readonly RateLimit[]; tokens: number; atMs: number }>();
  /** Per call served from a lease (governance/leases.ts): its ticket, handed back when it finishes. */
  readonly #tickets = new Map<string, unknown>();
  readonly #stats: Omit<GovernorStats, `leases_${string}` | `calls_${string}`> = { refused_budget: 0, refused_rate: 0, refused_model: 0, refused_prompt: 0, store_errors: 0, reservations_open: 0 };
  #lastStoreLog = 0;
  /** After a store failure, calls do not wait on it again until then (epoch ms). */
  #downUntil = 0;

  constructor(opts: GovernorOptions) {
    this.#opts = opts;
    opts.events.onFinished((event) => this.#finished(event));
  }

  stats(): GovernorStats {
    const store = this.#opts.store;
    const leases = store instanceof LeasedLimitStore ? store.stats() : null;
    return {
      ...this.#stats,
      reservations_open: this.#reservations.size,
      leases_active: leases?.active ?? 0,
      leases_taken: leases?.taken ?? 0,
      calls_leased: leases?.leased ?? 0,
      calls_direct: leases?.direct ?? 0,
    };
  }

  /** 403 `model_not_allowed` unless every policy allows one of the names (route, alias, provider/model). */
  checkModel(key: AuthenticatedKey | null | undefined, ...names: Array<string | null | undefined>): void {
    for (const h of holders(key)) {
      if (!allowedBy(h.policy.models, ...names)) {
        this.#stats.refused_model++;
        const shown = names.find((n) => n != null)?.slice(0, 200) ?? '';
        throw new GatewayError('model_not_allowed', `The ${h.label} may not call model '${shown}'.`, { param: 'model' });
      }
    }
  }

  /** Whether /v1/models shows `id` to this key. */
  modelVisible(key: AuthenticatedKey | null | undefined, id: string): boolean {
    return holders(key).every((h) => allowedBy(h.policy.models, id));
  }

  /** 403 `prompt_not_allowed`, checked before the prompt is looked up: it never says whether the prompt exists. */
  checkPrompt(key: AuthenticatedKey | null | undefined, name: string): void {
    for (const h of holders(key)) {
      if (!allowedBy(h.policy.prompts, name)) {
        this.#stats.refused_prompt++;
        throw new GatewayError('prompt_not_allowed', `The ${h.label} may not use prompt '${name.slice(0, 200)}'.`, { param: 'prompt' });
      }
    }
  }

  /**
   * The rate limits and the budget reservation of the key and its team, in one store operation
   * (one round trip on Redis): one request and the call's tokens from every rate limit, or 429
   * `rate_limited` (Retry-After), with the `x-ratelimit-*` headers set on the call either way;
   * and its worst case reserved against every budget, or 429 `budget_exceeded` naming whose
   * budget, the period and when it resets. Both promises settle together, to a refusal or null,
   * never rejecting. The caller waits for `admitted` before serving anything (a cache hit counts
   * against rate limits too) and for `reserved` before the upstream call; a cache hit ignores a
   * budget refusal (it costs nothing). A request the rate limits refuse reserves nothing.
   *
   * The worst case is the prompt tokens plus max_tokens (or the default cap), times n, at the
   * priciest of the targets; unpriced and zero-priced targets reserve nothing, so they are never
   * blocked. The prompt counts as its cheap upper bound first (Demand): when that bound is what
   * made a tpm or a budget refuse, the store is asked again with the closer estimate.
   */
  start(call: CallTracker, targets: readonly Target[], demand: Demand, kind: 'chat' | 'embedding' = 'chat'): { admitted: Promise<GatewayError | null>; reserved: Promise<GatewayError | null> } {
    const gate = this.#admit(call, targets, demand, kind).catch((err: unknown): Gate => {
      const refusal = err instanceof GatewayError ? err : new GatewayError('internal_error', String(err), { cause: err });
      return { limited: refusal, overBudget: refusal };
    });
    return { admitted: gate.then((g) => g.limited), reserved: gate.then((g) => g.overBudget) };
  }

  async #admit(call: CallTracker, targets: readonly Target[], demand: Demand, kind: 'chat' | 'embedding'): Promise<Gate> {
    const gate: Gate = { limited: null, overBudget: null };
    const store = this.#opts.store;
    const { limits, budgets } = governed(call.key);
    if (!store) return gate;
    let prompt = demand.promptTokens;
    let ask = limits;
    let rate: TakeResult | null = null;
    let budget: ReserveResult | null = null;
    let micros = 0;
    for (let closer = false; ; closer = true) {
      const tokens = prompt + (demand.maxOutputTokens ?? 0) * demand.choices;
      // Unpriced (null) and free models are never blocked by a budget.
      const worst = budgets.length === 0 ? null : this.worstCase(targets, prompt, demand.maxOutputTokens, demand.choices, kind);
      const reserving = worst === null || worst === 0 ? NO_BUDGETS : budgets;
      if (ask.length === 0 && reserving.length === 0) break;
      micros = worst ?? 0;
      // A bound no window or budget could ever hold would only cost a trip to be refused.
      if (!closer && demand.exactPromptTokens && exceedsAlways(limits, tokens, reserving, micros)) {
        prompt = Math.min(prompt, demand.exactPromptTokens());
        continue;
      }
      const atMs = this.#opts.clock();
      const result: AdmitResult | undefined = await this.#guard(() => store.admit({ limits: ask, tokens, budgets: reserving, micros }, new Date(atMs)));
      if (!result) {
        // Failing open on the second ask: let the call through as if the store had not answered.
        if (closer) {
          if (ask.length > 0) rate = null;
          budget = null;
        }
        break;
      }
      if (result.ticket !== undefined) this.#tickets.set(call.record.id, result.ticket);
      if (result.rate) {
        rate = result.rate;
        if (rate.ok) this.#taken.set(call.record.id, { limits, tokens, atMs: result.takenAtMs ?? atMs });
      }
      budget = result.budget;
      if (budget?.ok) this.#reservations.set(call.record.id, budget.reservation);
      const boundRefused = (result.rate !== null && !result.rate.ok && result.rate.kind === 'tokens') || (budget !== null && !budget.ok);
      if (closer || !boundRefused || !demand.exactPromptTokens) break;
      const exact = demand.exactPromptTokens();
      if (exact >= prompt) break;
      prompt = exact;
      // Taken already: only the reservation is asked for again.
      if (result.rate?.ok) ask = NO_LIMITS;
    }
    if (rate) {
      call.setLimitHeaders(rateHeaders(rate.states));
      if (!rate.ok) gate.limited = this.#rateLimited(call, rate);
    }
    if (budget && !budget.ok) gate.overBudget = this.#overBudget(call, budget, micros);
    return gate;
  }

  #rateLimited(call: CallTracker, result: Extract<TakeResult, { ok: false }>): GatewayError {
    this.#stats.refused_rate++;
    const h = holders(call.key).find((x) => x.subject === result.subject);
    const limit = result.kind === 'requests' ? `${h?.policy.rpm} requests` : `${h?.policy.tpm} tokens`;
    return new GatewayError('rate_limited', `Rate limit of the ${h?.label ?? result.subject} reached: ${limit} per minute. Retry after ${Math.ceil(result.retryAfterMs / 1000)} s.`, {
      retryAfter: Math.max(1, Math.ceil(result.retryAfterMs / 1000)),
    });
  }

  #overBudget(call: CallTracker, result: Extract<ReserveResult, { ok: false }>, micros: number): GatewayError {
    this.#stats.refused_budget++;
    const h = holders(call.key).find((x) => x.subject === result.budget.subject);
    const reset = result.resetAt ? `; it resets at ${result.resetAt.toISOString()}` : ' (a total budget does not reset)';
    return new GatewayError(
      'budget_exceeded',
      `Budget of the ${h?.label ?? result.budget.subject} exceeded: ${usd(result.spentMicros + result.reservedMicros)} of ${usd(result.budget.limitMicros)} this ${result.budget.period} is spent or reserved, and this call may cost up to ${usd(micros)}${reset}.`,
      result.resetAt ? { retryAfter: Math.max(1, Math.ceil((result.resetAt.getTime() - this.#opts.clock()) / 1000)) } : {},
    );
  }

  /** The most the call can cost: at the priciest target, null when none of them is priced. */
  worstCase(targets: readonly Target[], promptTokens: number, maxOutputTokens: number | null, choices: number, kind: 'chat' | 'embedding' = 'chat'): number | null {
    const output = (maxOutputTokens ?? this.#opts.defaultMaxTokens) * Math.max(1, choices);
    let worst: number | null = null;
    for (const t of targets) {
      const { costMicros } = this.#opts.pricer.price({
        provider: t.provider.name,
        providerType: t.provider.type,
        model: t.model,
        usage: { inputTokens: promptTokens, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
        kind,
      });
      if (costMicros !== null) worst = Math.max(worst ?? 0, Math.ceil(costMicros));
    }
    return worst;
  }

  /** Runs a store operation; on failure, fail-open (undefined: let the call through) or closed (503). */
  async #guard<T>(op: () => Promise<T>): Promise<T | undefined> {
    try {
      // Just failed: do not make every call wait out the store's timeout again for a while.
      if (this.#opts.clock() < this.#downUntil) throw new Error('the store failed moments ago; not asked again yet');
      return await op();
    } catch (err) {
      this.#stats.store_errors++;
      const now = this.#opts.clock();
      if (now >= this.#downUntil) this.#downUntil = now + STORE_RETRY_MS;
      if (now - this.#lastStoreLog > 10_000) {
        this.#lastStoreLog = now;
        this.#opts.logger.warn(`budget/rate-limit store unreachable: calls are ${this.#opts.onStoreError === 'open' ? 'let through (governance.on_store_error: open)' : 'refused (governance.on_store_error: closed)'}`, {
          err: String(err),
          store: this.#opts.store?.kind,
        });
      }
      if (this.#opts.onStoreError === 'closed') {
        throw new GatewayError('service_unavailable', 'Budgets and rate limits cannot be checked right now; try again shortly.', { retryAfter: 1 });
      }
      return undefined;
    }
  }

  /** Whether the key or its team has a budget or a rate limit (allow-lists need no store and no estimate). */
  governs(key: AuthenticatedKey | null | undefined): boolean {
    return governed(key).limited;
  }

  /**
   * Settles the call's reservation to its real cost (0 for a cache hit or a failed call) and
   * corrects the tokens it took, in one store operation, sent once the response is on its way
   * (CallFinished fires just before the answer is handed over).
   */
  #finished({ record }: CallFinished): void {
    const store = this.#opts.store;
    const reservation = this.#reservations.get(record.id) ?? null;
    const taken = this.#taken.get(record.id);
    const ticket = this.#tickets.get(record.id);
    if (!store || (!reservation && !taken && ticket === undefined)) return;
    if (reservation) this.#reservations.delete(record.id);
    if (taken) this.#taken.delete(record.id);
    if (ticket !== undefined) this.#tickets.delete(record.id);
    const hit = record.cacheStatus === 'hit';
    const used = hit ? 0 : (record.usage?.inputTokens ?? 0) + (record.usage?.outputTokens ?? 0);
    const tokenDelta = taken && taken.limits.some((l) => l.tpm !== null) ? used - taken.tokens : 0;
    if (!reservation && tokenDelta === 0 && ticket === undefined) return;
    const finish = {
      reservation,
      actualMicros: reservation && !hit ? Math.ceil(record.costMicros ?? 0) : 0,
      limits: tokenDelta === 0 ? NO_LIMITS : taken!.limits,
      tokenDelta,
      takenAtMs: taken?.atMs,
      ticket,
    };
    const now = new Date(this.#opts.clock());
    setImmediate(() => {
      store.finish(finish, now).catch((err: unknown) => {
        this.#stats.store_errors++;
        this.#opts.logger.warn('a call could not be settled (its reservation expires on its own; its token estimate stays)', { call: record.id, err: String(err) });
      });
    });
  }
}

/** Whether `tokens` are more than a whole tpm, or `micros` more than a whole budget. */
function exceedsAlways(limits: readonly RateLimit[], tokens: number, budgets: readonly BudgetLimit[], micros: number): boolean {
  for (const l of limits) if (l.tpm !== null && tokens > l.tpm) return true;
  for (const b of budgets) if (micros > b.limitMicros) return true;
  return false;
}

/** OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, from the tightest limit of each kind. */
export function rateHeaders(states: readonly RateState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of RATE_KINDS) {
    let tightest: { limit: number; remaining: number; resetMs: number } | null = null;
    for (const s of states) {
      const k = s[kind];
      if (k && (tightest === null || k.remaining < tightest.remaining)) tightest = k;
    }
    if (!tightest) continue;
    const names = RATE_HEADERS[kind];
    headers[names.limit] = String(tightest.limit);
    headers[names.remaining] = String(Math.max(0, tightest.remaining));
    headers[names.reset] = `${Math.max(0, Math.ceil(tightest.resetMs / 1000))}s`;
  }
  return headers;
}

const RATE_KINDS = ['requests', 'tokens'] as const;
/** The header names, built once (a call sets up to six). */
const RATE_HEADERS = Object.fromEntries(
  RATE_KINDS.map((kind) => [kind, { limit: `x-ratelimit-limit-${kind}`, remaining: `x-ratelimit-remaining-${kind}`, reset: `x-ratelimit-reset-${kind}` }]),
) as Record<(typeof RATE_KINDS)[number], { limit: string; remaining: string; reset: string }>;
