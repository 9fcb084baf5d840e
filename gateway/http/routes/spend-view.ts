import type { Context } from 'hono';
import type { KeyRecord } from '../../auth/key-store.ts';
import { policyOf } from '../../auth/policy.ts';
import type { TeamRow } from '../../auth/schema.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { BudgetLimit, Policy, SpendView, Subject } from '../../governance/types.ts';
import type { AppEnv } from '../env.ts';

/** Spend and reservations of each budget's current period (the governance store's `spend`). */
export type SpendLookup = (budgets: BudgetLimit[], now: Date) => Promise<SpendView[]>;

export interface SpendJson {
  period: string;
  period_start: string | null;
  reset_at: string | null;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
}

type Holder = { subject: Subject; policy: Pick<Policy, 'budget'> } | null;

/**
 * Budgets per store call: the Postgres store binds 4 parameters per budget (a statement takes
 * at most 65,535), so a list of any length is read in a few statements, never one per key.
 */
const CHUNK = 1_000;

const usd = (micros: number) => micros / 1e6;

/**
 * The current period of each budget (null where a holder has none); null altogether when there
 * is no spend lookup. `GET /api/keys/{id}`, `/api/teams/{id}` and the lists with
 * `?include=spend` all read through here, so their numbers agree.
 */
export async function spendOf(spend: SpendLookup | undefined, holders: readonly Holder[], now: Date): Promise<Array<SpendJson | null> | null> {
  if (!spend) return null;
  const budgets = new Map<Subject, BudgetLimit>();
  for (const h of holders) {
    if (h?.policy.budget) budgets.set(h.subject, { subject: h.subject, limitMicros: Math.round(h.policy.budget.usd * 1e6), period: h.policy.budget.period });
  }
  const all = [...budgets.values()];
  const views = new Map<Subject, SpendView>();
  for (let i = 0; i < all.length; i += CHUNK) for (const v of await spend(all.slice(i, i + CHUNK), now)) views.set(v.subject, v);
  return holders.map((h) => {
    const budget = h ? budgets.get(h.subject) : undefined;
    const v = budget ? views.get(budget.subject) : undefined;
    if (!budget || !v) return null;
    return {
      period: v.period,
      period_start: v.periodStart?.toISOString() ?? null,
      reset_at: v.resetAt?.toISOString() ?? null,
      spent_usd: usd(v.spentMicros),
      reserved_usd: usd(v.reservedMicros),
      remaining_usd: usd(Math.max(0, budget.limitMicros - v.spentMicros - v.reservedMicros)),
    };
  });
}

/** Whether a list asks for spend (`?include=spend`); any other `include` is a 400 naming the one value there is. */
export function includesSpend(c: Context<AppEnv>): boolean {
  const include = c.req.query('include');
  if (include === undefined) return false;
  if (include === 'spend') return true;
  throw new GatewayError('invalid_request', "Invalid value for 'include': the only value is 'spend'.", { param: 'include' });
}

/** Per listed key, `{key, team}` as `GET /api/keys/{id}` has it (the dashboard's keys page: one read instead of one per key). */
export async function keyListSpend(
  spend: SpendLookup | undefined,
  keys: readonly KeyRecord[],
  teams: readonly TeamRow[],
  now: Date,
): Promise<Array<{ key: SpendJson | null; team: SpendJson | null }> | null> {
  const teamIndex = new Map(teams.map((t, i) => [t.id, i]));
  const views = await spendOf(spend, [...keys.map(keyHolder), ...teams.map(teamHolder)], now);
  if (!views) return null;
  return keys.map((k, i) => {
    const t = k.team ? teamIndex.get(k.team.id) : undefined;
    return { key: views[i] ?? null, team: t === undefined ? null : (views[keys.length + t] ?? null) };
  });
}

/** Per listed team, its spend as `GET /api/teams/{id}` has it. */
export function teamListSpend(spend: SpendLookup | undefined, teams: readonly TeamRow[], now: Date): Promise<Array<SpendJson | null> | null> {
  return spendOf(spend, teams.map(teamHolder), now);
}

const keyHolder = (k: KeyRecord): Holder => ({ subject: `key:${k.id}`, policy: policyOf(k) });
const teamHolder = (t: TeamRow): Holder => ({ subject: `team:${t.id}`, policy: policyOf(t) });
