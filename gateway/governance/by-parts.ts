import type { AdmitRequest, AdmitResult, FinishRequest, LimitStore } from './types.ts';

type Parts = Pick<LimitStore, 'take' | 'reserve' | 'settle' | 'adjustTokens'>;

/**
 * admit from take and reserve, for a store without one operation for both (Postgres: one
 * statement each). They run concurrently, so the call waits for one round trip, not two; a
 * reservation made for a request the rate limits refused is released (settled at 0) before
 * this returns, so the caller sees what a single atomic operation would have left.
 */
export async function admitByParts(store: Parts, req: AdmitRequest, now: Date): Promise<AdmitResult> {
  const take = req.limits.length > 0 ? store.take(req.limits, req.tokens, now) : null;
  const reserve = req.budgets.length > 0 ? store.reserve(req.budgets, req.micros, now) : null;
  // Both settle before anything is decided: a reservation must never be left behind unknown.
  const [rateOutcome, budgetOutcome] = await Promise.allSettled([take, reserve]);
  const refusedByRate = rateOutcome.status === 'fulfilled' && rateOutcome.value !== null && !rateOutcome.value.ok;
  if (budgetOutcome.status === 'fulfilled' && budgetOutcome.value?.ok && (refusedByRate || rateOutcome.status === 'rejected')) {
    await store.settle(budgetOutcome.value.reservation, 0, now).catch(() => {});
  }
  if (rateOutcome.status === 'rejected') throw rateOutcome.reason;
  if (refusedByRate) return { rate: rateOutcome.value, budget: null };
  // The request the rate limits took stays taken, as a request refused for a store error would.
  if (budgetOutcome.status === 'rejected') throw budgetOutcome.reason;
  return { rate: rateOutcome.value, budget: budgetOutcome.value };
}

/** finish from settle and adjustTokens, concurrently. */
export async function finishByParts(store: Parts, req: FinishRequest, now: Date): Promise<void> {
  const settle = req.reservation ? store.settle(req.reservation, req.actualMicros, now) : undefined;
  const adjust = req.tokenDelta !== 0 && req.limits.length > 0 ? store.adjustTokens(req.limits, req.tokenDelta, now, req.takenAtMs) : undefined;
  await Promise.all([settle, adjust]);
}
