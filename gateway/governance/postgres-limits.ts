import type { SQL } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { rowsOf, type Database } from '../db/client.ts';
import { periodResetMs, periodStartMs } from './period.ts';
import {
  adjustTokensSql,
  ensureBudgetRowsSql,
  ensureRateRowsSql,
  purgeReservationsSql,
  recordReservationSql,
  reserveSql,
  returnRequestsSql,
  settleSql,
  spendSql,
  takeSql,
  type BudgetInput,
  type ReserveRow,
  type SpendRow,
  type TakeRow,
} from './postgres-sql.ts';
import { activeLimits, applyTake, rateStates, refusal, type RateUsage } from './rate-states.ts';
import {
  actualMicros,
  assertDistinct,
  limitMicros,
  reserveMicros,
  resolveLimitOptions,
  withTimeout,
  type LimitStoreOptions,
  type ResolvedLimitOptions,
} from './store-options.ts';
import { admitByParts, finishByParts } from './by-parts.ts';
import type { AdmitRequest, AdmitResult, BudgetLimit, FinishRequest, LeaseTake, LimitStore, RateLimit, Reservation, ReserveResult, SpendView, TakeResult } from './types.ts';

export interface PostgresLimitStoreOptions extends LimitStoreOptions {
  /** How often reservations past their late-settle window are deleted (default 10 min; 0 = never, tests call purgeReservations). */
  purgeEveryMs?: number;
  /** Wall clock for the purge timer, epoch ms. */
  clock?: () => number;
  onPurgeError?: (err: unknown) => void;
}

/**
 * Budgets and rate limits in Postgres or PGlite (same SQL): one statement per operation, which
 * locks the rows of every subject involved, checks them all and updates all or none
 * (postgres-sql.ts). The first use of a subject in a period costs one more statement, which
 * inserts its row.
 *
 * Reservations expire by time bucket: one bucket is a tenth of the TTL, and a reservation
 * stops counting at the end of the bucket its TTL ends in (so 10–11 minutes with the default).
 *
 * Rate windows are 1-second buckets, so the minute slides a second at a time: a request counts
 * until the end of the 60th second after the one it was made in (59–60 s). A burst is exact:
 * rpm N lets exactly N of any number of concurrent requests through.
 */
export class PostgresLimitStore implements LimitStore {
  readonly kind = 'postgres';
  private readonly opts: ResolvedLimitOptions;
  private readonly bucketMs: number;
  private readonly purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Pick<Database, 'db'>,
    opts: PostgresLimitStoreOptions = {},
  ) {
    this.opts = resolveLimitOptions(opts);
    this.bucketMs = Math.max(1_000, Math.round(this.opts.reservationTtlMs / 10));
    const every = opts.purgeEveryMs ?? 600_000;
    if (every > 0) {
      const clock = opts.clock ?? Date.now;
      this.purgeTimer = setInterval(() => {
        this.purgeReservations(new Date(clock())).catch((err: unknown) => opts.onPurgeError?.(err));
      }, every);
      this.purgeTimer.unref();
    }
  }

  reserve(budgets: readonly BudgetLimit[], micros: number, now: Date): Promise<ReserveResult> {
    return withTimeout('reserve', this.opts.timeoutMs, this.reserveNow(budgets, reserveMicros(micros), now.getTime()));
  }

  private async reserveNow(budgets: readonly BudgetLimit[], micros: number, nowMs: number): Promise<ReserveResult> {
    const id = uuidv7();
    const reservation: Reservation = { id, subjects: budgets.map((b) => b.subject), micros };
    if (budgets.length === 0) return { ok: true, reservation };
    assertDistinct(budgets);
    const inputs = budgetInputs(budgets, nowMs);
    const expiresAt = new Date(Math.ceil((nowMs + this.opts.reservationTtlMs) / this.bucketMs) * this.bucketMs);
    if (micros === 0) {
      await this.run(recordReservationSql({ budgets: inputs, id, expiresAt: expiresAt.toISOString() }));
      return { ok: true, reservation };
    }
    const statement = reserveSql({ budgets: inputs, micros, nowMs, bucket: expiresAt.getTime(), id, expiresAt: expiresAt.toISOString() });
    for (let attempt = 0; attempt < 3; attempt++) {
      const rows = await this.rows<ReserveRow>(statement);
      if (rows[0]?.fits) return { ok: true, reservation };
      // The first budget in the caller's order that does not fit (a key before its team).
      let refused: ReserveRow | undefined;
      for (const row of rows) {
        if (row.spent + row.reserved + micros > inputs[row.ord]!.limit && (refused === undefined || row.ord < refused.ord)) refused = row;
      }
      if (refused) {
        const budget = budgets[refused.ord]!;
        const reset = periodResetMs(budget.period, periodStartMs(budget.period, nowMs));
        return { ok: false, budget, spentMicros: refused.spent, reservedMicros: refused.reserved, resetAt: reset === null ? null : new Date(reset) };
      }
      // Everything present fits: some budget has no row yet this period.
      await this.run(ensureBudgetRowsSql(inputs));
    }
    throw new Error('limit store: budget rows still missing after inserting them');
  }

  settle(reservation: Reservation, actual: number, now: Date): Promise<void> {
    if (reservation.subjects.length === 0) return Promise.resolve();
    return withTimeout('settle', this.opts.timeoutMs, this.run(settleSql({ id: reservation.id, actual: actualMicros(actual), nowMs: now.getTime() })));
  }

  take(limits: readonly RateLimit[], tokens: number, now: Date, lease?: LeaseTake): Promise<TakeResult> {
    return withTimeout('take', this.opts.timeoutMs, this.takeNow(limits, Math.max(0, Math.ceil(tokens)), now.getTime(), lease));
  }

  private async takeNow(limits: readonly RateLimit[], tokens: number, nowMs: number, lease: LeaseTake | undefined): Promise<TakeResult> {
    const active = activeLimits(limits);
    if (active.length === 0) return { ok: true, states: rateStates(limits, active, [], nowMs) };
    assertDistinct(active);
    const second = Math.floor(nowMs / 1000);
    const requests = lease ? Math.max(1, Math.floor(lease.requests)) : 1;
    const at = lease ? Math.floor(lease.atMs / 1000) : second;
    const statement = takeSql({ limits: active, tokens, second, requests, at });
    for (let attempt = 0; attempt < 3; attempt++) {
      const rows = await this.rows<TakeRow>(statement);
      const usage = new Array<RateUsage | undefined>(active.length);
      for (const r of rows) usage[r.ord] = usageOf(r);
      if (rows[0]?.fits) {
        // What this request added leaves the window with its second.
        for (let i = 0; i < active.length; i++) applyTake(usage[i]!, active[i]!, tokens, (at + 60) * 1000, requests);
        return { ok: true, states: rateStates(limits, active, usage, nowMs) };
      }
      const refused = refusal(active, usage, tokens, nowMs, requests);
      if (refused) return { ok: false, ...refused, states: rateStates(limits, active, usage, nowMs) };
      await this.run(ensureRateRowsSql(active.map((l) => l.subject)));
    }
    throw new Error('limit store: rate rows still missing after inserting them');
  }

  adjustTokens(limits: readonly RateLimit[], delta: number, now: Date, takenAtMs?: number): Promise<void> {
    const d = Math.round(delta);
    const subjects = limits.filter((l) => l.tpm !== null).map((l) => l.subject);
    if (d === 0 || subjects.length === 0) return Promise.resolve();
    const taken = takenAtMs === undefined ? undefined : Math.floor(takenAtMs / 1000);
    return withTimeout('adjustTokens', this.opts.timeoutMs, this.run(adjustTokensSql({ subjects, delta: d, second: Math.floor(now.getTime() / 1000), taken })));
  }

  /** One statement each, run concurrently (by-parts.ts): one round trip of latency. */
  admit(req: AdmitRequest, now: Date): Promise<AdmitResult> {
    const lease = req.lease;
    if (!lease) return admitByParts(this, req, now);
    return admitByParts({ take: (limits, tokens, at) => this.take(limits, tokens, at, lease), reserve: this.reserve.bind(this), settle: this.settle.bind(this), adjustTokens: this.adjustTokens.bind(this) }, req, now);
  }

  /** settle, the token correction and a lease's unused requests, concurrently. */
  async finish(req: FinishRequest, now: Date): Promise<void> {
    const back = req.requestsBack;
    const subjects = back && back.to >= back.from && req.takenAtMs !== undefined ? req.limits.filter((l) => l.rpm !== null).map((l) => l.subject) : [];
    const returned =
      subjects.length > 0
        ? withTimeout('finish', this.opts.timeoutMs, this.run(returnRequestsSql({ subjects, at: Math.floor(req.takenAtMs! / 1000), requests: back!.to - back!.from + 1 })))
        : undefined;
    await Promise.all([finishByParts(this, req, now), returned]);
  }

  spend(budgets: readonly BudgetLimit[], now: Date): Promise<SpendView[]> {
    if (budgets.length === 0) return Promise.resolve([]);
    const nowMs = now.getTime();
    return withTimeout(
      'spend',
      this.opts.timeoutMs,
      this.rows<SpendRow>(spendSql(budgetInputs(budgets, nowMs), nowMs)).then((rows) => {
        const views = new Array<SpendView>(budgets.length);
        for (const r of rows) {
          const b = budgets[r.ord]!;
          const start = periodStartMs(b.period, nowMs);
          const reset = periodResetMs(b.period, start);
          views[r.ord] = {
            subject: b.subject,
            period: b.period,
            periodStart: b.period === 'total' ? null : new Date(start),
            resetAt: reset === null ? null : new Date(reset),
            spentMicros: r.spent,
            reservedMicros: r.reserved,
          };
        }
        return views;
      }),
    );
  }

  /** Deletes reservations that can no longer be settled (expired more than `lateSettleMs` ago). */
  async purgeReservations(now: Date): Promise<void> {
    await this.run(purgeReservationsSql(now.getTime() - this.opts.lateSettleMs));
  }

  async close(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
  }

  private async run(statement: SQL): Promise<void> {
    await this.database.db.execute(statement);
  }

  private async rows<T>(statement: SQL): Promise<T[]> {
    return rowsOf<T>(await this.database.db.execute(statement));
  }
}

const endOfBucket = (second: number | null): number | null => (second === null ? null : (second + 60) * 1000);

const usageOf = (r: TakeRow): RateUsage => ({
  usedRequests: r.usedRequests,
  resetRequestsAt: endOfBucket(r.newestRequests),
  usedTokens: r.usedTokens,
  resetTokensAt: endOfBucket(r.newestTokens),
  fitRequestsAt: endOfBucket(r.fitRequests),
  fitTokensAt: endOfBucket(r.fitTokens),
});

function budgetInputs(budgets: readonly BudgetLimit[], nowMs: number): BudgetInput[] {
  return budgets.map((b) => ({
    subject: b.subject,
    periodStart: new Date(periodStartMs(b.period, nowMs)).toISOString(),
    limit: limitMicros(b.limitMicros),
  }));
}
