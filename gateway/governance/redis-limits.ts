import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { periodResetMs, periodStartMs } from './period.ts';
import { activeLimits, rateStates, type RateUsage } from './rate-states.ts';
import { ADMIT, FINISH, SPEND } from './redis-scripts.ts';
import {
  actualMicros,
  assertDistinct,
  limitMicros,
  reserveMicros,
  resolveLimitOptions,
  WINDOW_MS,
  type LimitStoreOptions,
  type ResolvedLimitOptions,
} from './store-options.ts';
import type { AdmitRequest, AdmitResult, BudgetLimit, FinishRequest, LimitStore, RateLimit, Reservation, ReserveResult, SpendView, TakeResult } from './types.ts';

export interface RedisLimitStoreOptions extends LimitStoreOptions {
  /** redis:// URL (REDIS_URL). */
  url: string;
  /** Prepended to every key (default `sluice:limits:`); lets tests and deployments share one Redis. */
  prefix?: string;
  /** Called for connection errors (ioredis reports each failed reconnect). */
  onConnectionError?: (err: Error) => void;
}

type Script = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;
interface Scripts {
  sluiceAdmit: Script;
  sluiceFinish: Script;
  sluiceSpend: Script;
}

/**
 * Budgets and rate limits in Redis: every operation is one Lua script (redis-scripts.ts) — a
 * call's rate limits and reservation together are one (ADMIT), its settle and token correction
 * another (FINISH); reserve, take, settle and adjustTokens are those scripts with one half
 * empty — sent as EVALSHA (ioredis loads the script and retries on NOSCRIPT), so one round
 * trip, atomic across all subjects. Commands time out after `timeoutMs`; commands sent before the first
 * connect wait for it within that time; a command lost with its connection is failed, never
 * resent (a resent reserve could reserve twice).
 */
export class RedisLimitStore implements LimitStore {
  readonly kind = 'redis';
  readonly client: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  private readonly opts: ResolvedLimitOptions;
  /** Members of the request logs must be unique across instances: this instance's tag plus a counter. */
  private readonly tag = randomBytes(6).toString('base64url');
  private seq = 0;

  constructor(opts: RedisLimitStoreOptions) {
    this.opts = resolveLimitOptions(opts);
    this.prefix = opts.prefix ?? 'sluice:limits:';
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.opts.timeoutMs,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    });
    // Without a listener an 'error' event would crash the process.
    this.client.on('error', (err: Error) => opts.onConnectionError?.(err));
    this.client.defineCommand('sluiceAdmit', { lua: ADMIT });
    this.client.defineCommand('sluiceFinish', { lua: FINISH });
    this.client.defineCommand('sluiceSpend', { lua: SPEND });
    this.scripts = this.client as unknown as Scripts;
  }

  /** Starts connecting; never rejects (until connected, operations wait up to `timeoutMs`, then fail). */
  start(): void {
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
  }

  async admit(req: AdmitRequest, now: Date): Promise<AdmitResult> {
    const nowMs = now.getTime();
    const active = activeLimits(req.limits);
    const rateFree = active.length === 0;
    const noBudgets = req.budgets.length === 0;
    const m = reserveMicros(req.micros);
    const id = noBudgets ? '' : uuidv7();
    const free = (): AdmitResult => ({
      rate: req.limits.length === 0 ? null : { ok: true, states: rateStates(req.limits, active, [], nowMs) },
      budget: noBudgets ? null : { ok: true, reservation: { id, subjects: req.budgets.map((b) => b.subject), micros: m } },
    });
    if (rateFree && noBudgets) return free();
    if (!rateFree) assertDistinct(active);
    if (!noBudgets) assertDistinct(req.budgets);
    const t = Math.max(0, Math.ceil(req.tokens));
    const keys: string[] = [];
    const args: (string | number)[] = [nowMs, t, rateFree ? '' : this.uid(), m, 0, id, 0, active.length, req.budgets.length];
    for (const l of active) {
      keys.push(`${this.prefix}rq:${l.subject}`, `${this.prefix}tk:${l.subject}`, `${this.prefix}ts:${l.subject}`);
      args.push(l.rpm ?? -1, l.tpm ?? -1);
    }
    if (!noBudgets) {
      const ttl = this.opts.reservationTtlMs;
      args[4] = nowMs + ttl;
      args[6] = ttl + this.opts.lateSettleMs;
      for (const b of req.budgets) {
        const start = periodStartMs(b.period, nowMs);
        const hash = this.budgetKey(b.subject, start);
        keys.push(hash, `${hash}:r`);
        // A period's counters outlive it by the late-settle window, so late settles still land.
        const reset = periodResetMs(b.period, start);
        args.push(limitMicros(b.limitMicros), reset === null ? 0 : Math.max(1_000, reset - nowMs + this.opts.lateSettleMs));
      }
      keys.push(this.recordKey(id));
    }
    const out = (await this.scripts.sluiceAdmit(keys.length, ...keys, ...args)) as number[];
    const result = free();
    if (!rateFree) {
      result.rate = takeResult(req.limits, active, out, nowMs);
      if (!result.rate.ok) {
        result.budget = null;
        return result;
      }
    }
    if (!noBudgets) {
      const at = 4 * active.length + 3;
      const refused = out[at]!;
      if (refused !== 0) {
        const budget = req.budgets[refused - 1]!;
        const reset = periodResetMs(budget.period, periodStartMs(budget.period, nowMs));
        result.budget = { ok: false, budget, spentMicros: out[at + 1]!, reservedMicros: out[at + 2]!, resetAt: reset === null ? null : new Date(reset) };
      }
    }
    return result;
  }

  async finish(req: FinishRequest, now: Date): Promise<void> {
    const settle = req.reservation !== null && req.reservation.subjects.length > 0;
    const d = Math.round(req.tokenDelta);
    const keys: string[] = settle ? [this.recordKey(req.reservation!.id)] : [];
    if (d !== 0) for (const l of req.limits) if (l.tpm !== null) keys.push(`${this.prefix}tk:${l.subject}`, `${this.prefix}ts:${l.subject}`);
    if (keys.length === 0) return;
    const correct = keys.length > (settle ? 1 : 0);
    await this.scripts.sluiceFinish(keys.length, ...keys, settle ? 1 : 0, settle ? req.reservation!.id : '', actualMicros(req.actualMicros), now.getTime(), correct ? d : 0, correct ? this.uid() : '');
  }

  async reserve(budgets: readonly BudgetLimit[], micros: number, now: Date): Promise<ReserveResult> {
    return (await this.admit({ limits: [], tokens: 0, budgets, micros }, now)).budget ?? { ok: true, reservation: { id: uuidv7(), subjects: [], micros: reserveMicros(micros) } };
  }

  async settle(reservation: Reservation, actual: number, now: Date): Promise<void> {
    await this.finish({ reservation, actualMicros: actual, limits: [], tokenDelta: 0 }, now);
  }

  async take(limits: readonly RateLimit[], tokens: number, now: Date): Promise<TakeResult> {
    return (await this.admit({ limits, tokens, budgets: [], micros: 0 }, now)).rate ?? { ok: true, states: [] };
  }

  async adjustTokens(limits: readonly RateLimit[], delta: number, now: Date): Promise<void> {
    await this.finish({ reservation: null, actualMicros: 0, limits, tokenDelta: delta }, now);
  }

  async spend(budgets: readonly BudgetLimit[], now: Date): Promise<SpendView[]> {
    if (budgets.length === 0) return [];
    const nowMs = now.getTime();
    const keys: string[] = [];
    const starts = budgets.map((b) => periodStartMs(b.period, nowMs));
    budgets.forEach((b, i) => {
      const hash = this.budgetKey(b.subject, starts[i]!);
      keys.push(hash, `${hash}:r`);
    });
    const out = (await this.scripts.sluiceSpend(keys.length, ...keys, nowMs)) as number[];
    return budgets.map((b, i) => {
      const reset = periodResetMs(b.period, starts[i]!);
      return {
        subject: b.subject,
        period: b.period,
        periodStart: b.period === 'total' ? null : new Date(starts[i]!),
        resetAt: reset === null ? null : new Date(reset),
        spentMicros: out[2 * i]!,
        reservedMicros: out[2 * i + 1]!,
      };
    });
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /** A subject's counters for the period starting at `startMs` (0 for `total`). */
  private budgetKey(subject: string, startMs: number): string {
    return `${this.prefix}b:${subject}:${startMs}`;
  }

  private recordKey(id: string): string {
    return `${this.prefix}res:${id}`;
  }

  private uid(): string {
    return this.tag + (++this.seq).toString(36);
  }
}

const leaves = (at: number): number | null => (at < 0 ? null : at + WINDOW_MS);

/** The rate part of ADMIT's answer (redis-scripts.ts). */
function takeResult(limits: readonly RateLimit[], active: readonly RateLimit[], out: readonly number[], nowMs: number): TakeResult {
  const usage = new Array<RateUsage>(active.length);
  for (let i = 0; i < active.length; i++) {
    const at = 4 * i + 3;
    usage[i] = {
      usedRequests: out[at]!,
      resetRequestsAt: leaves(out[at + 1]!),
      usedTokens: out[at + 2]!,
      resetTokensAt: leaves(out[at + 3]!),
      fitRequestsAt: null,
      fitTokensAt: null,
    };
  }
  const states = rateStates(limits, active, usage, nowMs);
  const refused = out[0]!;
  if (refused === 0) return { ok: true, states };
  const fitAt = out[2]!;
  return {
    ok: false,
    subject: active[refused - 1]!.subject,
    kind: out[1] === 1 ? 'requests' : 'tokens',
    // Never fits (rpm 0, or more tokens than the whole tpm): a full window.
    retryAfterMs: fitAt < 0 ? WINDOW_MS : Math.max(1, fitAt - nowMs),
    states,
  };
}
