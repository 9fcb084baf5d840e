import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallEvents, CallFinished } from '../calls/call-events.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { Pricer } from '../cost/pricing.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { Target } from '../routing/resolve-model.ts';
import type { BudgetLimit, LimitStore, Policy, RateLimit, RateState, Reservation, Subject } from '../governance/types.ts';
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
}

/** What a call may use at most: prompt tokens (estimated), the output cap (null: the default), the choices. */
export interface Demand {
  promptTokens: number;
  maxOutputTokens: number | null;
  choices: number;
}

/** One policy with whose it is, for messages and store subjects. */
interface Holder {
  subject: Subject;
  /** `key 'ci'` / `team 'support'`, for messages. */
  label: string;
  policy: Policy;
}

/**
 * The key's policies and its team's, built once per key object (the KeyStore hands out the same
 * frozen object on every lookup until the key changes), so a request builds no strings here.
 */
const holdersOf = new WeakMap<AuthenticatedKey, readonly Holder[]>();
const NONE: readonly Holder[] = [];

function holders(key: AuthenticatedKey | null | undefined): readonly Holder[] {
  if (!key) return NONE;
  let out = holdersOf.get(key);
  if (!out) {
    const built: Holder[] = [];
    if (key.policy && key.id) built.push({ subject: `key:${key.id}`, label: `key '${key.name}'`, policy: key.policy });
    if (key.team) built.push({ subject: `team:${key.team.id}`, label: `team '${key.team.name}'`, policy: key.team.policy });
    out = built;
    holdersOf.set(key, out);
  }
  return out;
}

/** A policy that needs the shared store: a budget or a rate limit. */
const limited = (p: Policy): boolean => p.budget !== null || p.rpm !== null || p.tpm !== null;

/** How long after a store failure calls skip it (and fail open or closed at once). */
const STORE_RETRY_MS = 2_000;

const usd = (micros: number) => `$${(micros / 1e6).toFixed(micros < 10_000 ? 6 : 2)}`;

/**
 * The policies of a call's key and its team (DESIGN §4.4), applied on the request path:
 * allow-lists from memory; rate limits and budgets through the shared store, only for keys (or
 * teams) that have them. A budget reservation is the call's worst case (estimated prompt tokens
 * plus max_tokens, times n, at the priciest of its targets); it is settled to the real cost when
 * the call finishes, whatever way it finishes (the CallFinished event: answered, failed, client
 * gone). Unpriced and zero-priced targets reserve nothing, so they are never blocked.
 */
export class Governor {
  readonly #opts: GovernorOptions;
  readonly #reservations = new Map<string, Reservation>();
  /** Per call: the rate limits taken and the tokens estimated, corrected when it finishes. */
  readonly #taken = new Map<string, { limits: RateLimit[]; tokens: number }>();
  readonly #stats: GovernorStats = { refused_budget: 0, refused_rate: 0, refused_model: 0, refused_prompt: 0, store_errors: 0, reservations_open: 0 };
  #lastStoreLog = 0;
  /** After a store failure, calls do not wait on it again until then (epoch ms). */
  #downUntil = 0;

  constructor(opts: GovernorOptions) {
    this.#opts = opts;
    opts.events.onFinished((event) => this.#finished(event));
  }

  stats(): GovernorStats {
    return { ...this.#stats, reservations_open: this.#reservations.size };
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
   * Takes one request and `tokens` from every rate limit of the key and its team, or refuses with
   * 429 `rate_limited` (Retry-After). Sets the `x-ratelimit-*` headers on the call either way.
   */
  async admit(call: CallTracker, tokens: number): Promise<void> {
    const limits: RateLimit[] = holders(call.key)
      .filter((h) => h.policy.rpm !== null || h.policy.tpm !== null)
      .map((h) => ({ subject: h.subject, rpm: h.policy.rpm, tpm: h.policy.tpm }));
    if (limits.length === 0) return;
    const store = this.#opts.store;
    if (!store) return;
    const result = await this.#guard(() => store.take(limits, tokens, new Date(this.#opts.clock())));
    if (!result) return;
    call.setLimitHeaders(rateHeaders(result.states));
    if (!result.ok) {
      this.#stats.refused_rate++;
      const h = holders(call.key).find((x) => x.subject === result.subject);
      const limit = result.kind === 'requests' ? `${h?.policy.rpm} requests` : `${h?.policy.tpm} tokens`;
      throw new GatewayError('rate_limited', `Rate limit of the ${h?.label ?? result.subject} reached: ${limit} per minute. Retry after ${Math.ceil(result.retryAfterMs / 1000)} s.`, {
        retryAfter: Math.max(1, Math.ceil(result.retryAfterMs / 1000)),
      });
    }
    this.#taken.set(call.record.id, { limits, tokens });
  }

  /**
   * Reserves the call's worst case against every budget of the key and its team, or refuses with
   * 429 `budget_exceeded` naming whose budget, the period and when it resets.
   */
  async reserve(call: CallTracker, targets: readonly Target[], promptTokens: number, maxOutputTokens: number | null, choices: number, kind: 'chat' | 'embedding' = 'chat'): Promise<void> {
    const budgets: BudgetLimit[] = holders(call.key)
      .filter((h) => h.policy.budget !== null)
      .map((h) => ({ subject: h.subject, limitMicros: Math.round(h.policy.budget!.usd * 1e6), period: h.policy.budget!.period }));
    if (budgets.length === 0) return;
    const micros = this.worstCase(targets, promptTokens, maxOutputTokens, choices, kind);
    // Unpriced (null) and free models are never blocked by a budget.
    if (micros === null || micros === 0) return;
    const store = this.#opts.store;
    if (!store) return;
    const result = await this.#guard(() => store.reserve(budgets, micros, new Date(this.#opts.clock())));
    if (!result) return;
    if (!result.ok) {
      this.#stats.refused_budget++;
      const h = holders(call.key).find((x) => x.subject === result.budget.subject);
      const reset = result.resetAt ? `; it resets at ${result.resetAt.toISOString()}` : ' (a total budget does not reset)';
      throw new GatewayError(
        'budget_exceeded',
        `Budget of the ${h?.label ?? result.budget.subject} exceeded: ${usd(result.spentMicros + result.reservedMicros)} of ${usd(result.budget.limitMicros)} this ${result.budget.period} is spent or reserved, and this call may cost up to ${usd(micros)}${reset}.`,
        result.resetAt ? { retryAfter: Math.max(1, Math.ceil((result.resetAt.getTime() - this.#opts.clock()) / 1000)) } : {},
      );
    }
    this.#reservations.set(call.record.id, result.reservation);
  }

  /**
   * Both checks at once (one store round trip of latency instead of two): the rate limits and
   * the budget reservation, each settling to its refusal or null, never rejecting. The caller
   * waits for `admitted` before serving anything (a cache hit counts against rate limits too)
   * and for `reserved` before the upstream call; a cache hit ignores a budget refusal (it costs
   * nothing) but still waits for it, so a reservation made is always known before the call ends.
   */
  start(call: CallTracker, targets: readonly Target[], demand: Demand, kind: 'chat' | 'embedding' = 'chat'): { admitted: Promise<GatewayError | null>; reserved: Promise<GatewayError | null> } {
    const refusal = (err: unknown): GatewayError => (err instanceof GatewayError ? err : new GatewayError('internal_error', String(err), { cause: err }));
    const tokens = demand.promptTokens + (demand.maxOutputTokens ?? 0) * demand.choices;
    return {
      admitted: this.admit(call, tokens).then(() => null, refusal),
      reserved: this.reserve(call, targets, demand.promptTokens, demand.maxOutputTokens, demand.choices, kind).then(() => null, refusal),
    };
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
    return holders(key).some((h) => limited(h.policy));
  }

  #finished({ record }: CallFinished): void {
    const store = this.#opts.store;
    const reservation = this.#reservations.get(record.id);
    const now = new Date(this.#opts.clock());
    if (reservation && store) {
      this.#reservations.delete(record.id);
      const actual = record.cacheStatus === 'hit' ? 0 : Math.ceil(record.costMicros ?? 0);
      store.settle(reservation, actual, now).catch((err: unknown) => {
        this.#stats.store_errors++;
        this.#opts.logger.warn('a budget reservation could not be settled; it expires on its own', { call: record.id, err: String(err) });
      });
    }
    const taken = this.#taken.get(record.id);
    if (taken && store) {
      this.#taken.delete(record.id);
      const used = record.cacheStatus === 'hit' ? 0 : (record.usage?.inputTokens ?? 0) + (record.usage?.outputTokens ?? 0);
      const delta = used - taken.tokens;
      if (delta !== 0 && taken.limits.some((l) => l.tpm !== null)) {
        store.adjustTokens(taken.limits, delta, now).catch(() => {
          this.#stats.store_errors++;
        });
      }
    }
  }
}

/** OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, from the tightest limit of each kind. */
export function rateHeaders(states: readonly RateState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    let tightest: { limit: number; remaining: number; resetMs: number } | null = null;
    for (const s of states) {
      const k = s[kind];
      if (k && (tightest === null || k.remaining < tightest.remaining)) tightest = k;
    }
    if (!tightest) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(tightest.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, tightest.remaining));
    headers[`x-ratelimit-reset-${kind}`] = `${Math.max(0, Math.ceil(tightest.resetMs / 1000))}s`;
  }
  return headers;
}
