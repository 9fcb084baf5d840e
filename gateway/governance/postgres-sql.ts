import { sql, type SQL } from 'drizzle-orm';

/**
 * The statements of postgres-limits.ts. Each check-and-update is one statement of the same
 * shape: lock every subject's row in a fixed order (`order by … for update`, so two
 * statements over the same key and team can never deadlock), decide from the locked rows
 * whether every one fits, and update all of them only when they all do. The rows are read
 * under their lock, after any concurrent writer committed, so no check-then-write race can
 * let spend past a limit; and nothing a check needs lives outside the locked row (a
 * subquery over another table would see the statement's older snapshot).
 *
 * Each hot statement also turns off `synchronous_commit` for its own transaction
 * (`set_config(…, true)` inside the statement; no extra round trip): a row lock is held until
 * commit, so waiting for the WAL flush (~4 ms on a plain disk) would cap one key or team at a
 * few hundred calls a second. What a database crash can lose is the last fraction of a second
 * of counter updates (never a torn or inconsistent row); the call log keeps the real costs.
 *
 * The time-bucketed maps (`{"<bucket>": amount}`) are jsonb objects. A bucket is live while
 * its key is greater than `cut`; every write drops the dead ones.
 */

/** A column (or a one-row relation, `ASYNC_COMMIT_ROW`) that turns off the flush wait; see above. */
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true)`;
const ASYNC_COMMIT_ROW = sql`(select ${ASYNC_COMMIT}) as async_commit`;

/** Sum of the live buckets. */
const live = (map: SQL, cut: number): SQL =>
  sql`(select coalesce(sum(value::bigint), 0) from jsonb_each_text(${map}) where key::bigint > ${cut}::bigint)`;

/** Newest live bucket, or null. */
const newest = (map: SQL, cut: number): SQL => sql`(select max(key::bigint) from jsonb_each_text(${map}) where key::bigint > ${cut}::bigint)`;

/** `map` without its dead buckets. */
const pruned = (map: SQL, cut: number): SQL =>
  sql`(${map} - array(select k from jsonb_object_keys(${map}) k where k::bigint <= ${cut}::bigint))`;

/** `map` without dead buckets and with `amount` added to `bucket`. */
const added = (map: SQL, cut: number, bucket: number, amount: number): SQL =>
  sql`(${pruned(map, cut)} || jsonb_build_object(${String(bucket)}::text, coalesce((${map} ->> ${String(bucket)}::text)::bigint, 0) + ${amount}::bigint))`;

/**
 * The oldest live bucket whose passing leaves room for `need` more under `limit`: the running
 * total from the oldest bucket up to it is at least used + need - limit. Null when no amount of
 * waiting helps (need > limit).
 */
const firstFitting = (map: SQL, cut: number, used: SQL, need: SQL, limit: SQL): SQL => sql`(
  select min(k) from (
    select key::bigint as k, sum(value::bigint) over (order by key::bigint) as run
    from jsonb_each_text(${map}) where key::bigint > ${cut}::bigint
  ) r where ${used} - r.run + ${need} <= ${limit})`;

export interface BudgetInput {
  subject: string;
  periodStart: string;
  limit: number;
}

const budgetValues = (budgets: readonly BudgetInput[]): SQL =>
  sql.join(
    budgets.map((b, i) => sql`(${b.subject}::text, ${b.periodStart}::timestamptz, ${b.limit}::bigint, ${i}::int)`),
    sql`, `,
  );

export interface ReserveRow {
  ord: number;
  spent: number;
  reserved: number;
  fits: boolean;
}

/**
 * Reserves `micros` (> 0) in expiry bucket `bucket` of every budget's row, or in none. Rows
 * that do not exist yet are missing from the result (the caller inserts them and retries):
 * rows inserted by a statement are invisible to its own `for update`.
 */
export function reserveSql(p: {
  budgets: readonly BudgetInput[];
  micros: number;
  nowMs: number;
  bucket: number;
  id: string;
  expiresAt: string;
}): SQL {
  const { budgets, micros, nowMs, bucket } = p;
  return sql`
    with input(subject, period_start, lim, ord) as (values ${budgetValues(budgets)}),
    locked as (
      select u.subject, u.period_start, u.spent_micros, u.reserved, i.lim, i.ord
      from budget_usage u join input i on i.subject = u.subject and i.period_start = u.period_start
      order by u.subject, u.period_start
      for update of u
    ),
    stats as (select l.*, ${live(sql`l.reserved`, nowMs)} as live from locked l),
    ok as (
      select count(*) = ${budgets.length}::bigint and coalesce(bool_and(spent_micros + live + ${micros}::bigint <= lim), false) as fits
      from stats
    ),
    upd as (
      update budget_usage u set reserved = ${added(sql`s.reserved`, nowMs, bucket, micros)}
      from stats s, ok
      where ok.fits and u.subject = s.subject and u.period_start = s.period_start
      returning 1
    ),
    ins as (
      insert into budget_reservations (id, subjects, period_starts, micros, expires_at)
      select ${p.id}::uuid, array[${sql.join(budgets.map((b) => sql`${b.subject}::text`), sql`, `)}],
        array[${sql.join(budgets.map((b) => sql`${b.periodStart}::timestamptz`), sql`, `)}], ${micros}::bigint, ${p.expiresAt}::timestamptz
      from ok where ok.fits
      returning 1
    )
    select s.ord, s.spent_micros::float8 as spent, s.live::float8 as reserved, ok.fits, ${ASYNC_COMMIT} as async_commit from stats s, ok`;
}

/** A reservation of 0 micros holds nothing; it is recorded only so its settle can add the real cost. */
export function recordReservationSql(p: { budgets: readonly BudgetInput[]; id: string; expiresAt: string }): SQL {
  return sql`
    insert into budget_reservations (id, subjects, period_starts, micros, expires_at)
    select ${p.id}::uuid, array[${sql.join(p.budgets.map((b) => sql`${b.subject}::text`), sql`, `)}],
      array[${sql.join(p.budgets.map((b) => sql`${b.periodStart}::timestamptz`), sql`, `)}], 0, ${p.expiresAt}::timestamptz
    from ${ASYNC_COMMIT_ROW}`;
}

/** Inserts missing budget rows, in lock order (two first reservations of a period cannot deadlock). */
export function ensureBudgetRowsSql(budgets: readonly BudgetInput[]): SQL {
  return sql`
    insert into budget_usage (subject, period_start)
    select subject, period_start from (values ${budgetValues(budgets)}) i(subject, period_start, lim, ord)
    order by subject, period_start
    on conflict do nothing`;
}

/**
 * Settles a reservation once: deleting its row is the idempotency guard (a second settle
 * deletes nothing and so changes nothing). The real cost goes to the periods the reservation
 * was taken in; its micros leave `reserved` unless its bucket already expired (then they no
 * longer count). An upsert, because a 0-micros reservation may be the period's first use.
 */
export function settleSql(p: { id: string; actual: number; nowMs: number }): SQL {
  const { nowMs } = p;
  const bucket = sql`(select round(extract(epoch from expires_at) * 1000)::bigint from gone)`;
  const micros = sql`(select micros from gone)`;
  const left = sql`(coalesce((u.reserved ->> ${bucket}::text)::bigint, 0) - ${micros})`;
  const rest = pruned(sql`u.reserved`, nowMs);
  return sql`
    with gone as (delete from budget_reservations where id = ${p.id}::uuid returning subjects, period_starts, micros, expires_at),
    rows as (select x.subject, x.period_start from gone, unnest(gone.subjects, gone.period_starts) as x(subject, period_start), ${ASYNC_COMMIT_ROW})
    insert into budget_usage as u (subject, period_start, spent_micros)
    select subject, period_start, ${p.actual}::bigint from rows
    order by subject, period_start
    on conflict (subject, period_start) do update set
      spent_micros = u.spent_micros + excluded.spent_micros,
      reserved = case
        when ${bucket} <= ${nowMs}::bigint then ${rest}
        when ${left} > 0 then ${rest} || jsonb_build_object(${bucket}::text, ${left})
        else ${rest} - ${bucket}::text
      end`;
}

export interface SpendRow {
  ord: number;
  spent: number;
  reserved: number;
}

export function spendSql(budgets: readonly BudgetInput[], nowMs: number): SQL {
  return sql`
    select i.ord, coalesce(u.spent_micros, 0)::float8 as spent, coalesce(${live(sql`u.reserved`, nowMs)}, 0)::float8 as reserved
    from (values ${budgetValues(budgets)}) i(subject, period_start, lim, ord)
    left join budget_usage u on u.subject = i.subject and u.period_start = i.period_start`;
}

/** Drops reservations that expired more than the late-settle window ago (their settle would now be a no-op). */
export function purgeReservationsSql(beforeMs: number): SQL {
  return sql`delete from budget_reservations where expires_at < ${new Date(beforeMs).toISOString()}::timestamptz`;
}

export interface RateInput {
  subject: string;
  rpm: number | null;
  tpm: number | null;
}

export interface TakeRow {
  ord: number;
  usedRequests: number;
  newestRequests: number | null;
  usedTokens: number;
  newestTokens: number | null;
  /** Bucket (epoch second) whose passing makes room, on refusal only. */
  fitRequests: number | null;
  fitTokens: number | null;
  fits: boolean;
}

const rateValues = (limits: readonly RateInput[]): SQL =>
  sql.join(
    limits.map((l, i) => sql`(${l.subject}::text, ${l.rpm}::bigint, ${l.tpm}::bigint, ${i}::int)`),
    sql`, `,
  );

/**
 * One request (a lease: `requests`) and `tokens` tokens from every subject's sliding minute, or
 * nothing. Windows are kept in 1-second buckets: `second` is the current one and buckets up to
 * `cut` (second - 60) have left the window. What is taken goes into bucket `at` (a lease's
 * end; else `second`).
 */
export function takeSql(p: { limits: readonly RateInput[]; tokens: number; second: number; requests?: number; at?: number }): SQL {
  const { limits, tokens, second } = p;
  const requests = p.requests ?? 1;
  const at = p.at ?? second;
  const cut = second - 60;
  return sql`
    with input(subject, rpm, tpm, ord) as (values ${rateValues(limits)}),
    locked as (
      select w.subject, w.requests, w.tokens, i.rpm, i.tpm, i.ord
      from rate_windows w join input i on i.subject = w.subject
      order by w.subject
      for update of w
    ),
    stats as (
      select l.*, ${live(sql`l.requests`, cut)} as used_r, ${newest(sql`l.requests`, cut)} as newest_r,
        ${live(sql`l.tokens`, cut)} as used_t, ${newest(sql`l.tokens`, cut)} as newest_t
      from locked l
    ),
    ok as (
      select count(*) = ${limits.length}::bigint
        and coalesce(bool_and((rpm is null or used_r + ${requests}::bigint <= rpm) and (tpm is null or used_t + ${tokens}::bigint <= tpm)), false) as fits
      from stats
    ),
    upd as (
      update rate_windows w set
        requests = case when s.rpm is null then w.requests else ${added(sql`s.requests`, cut, at, requests)} end,
        tokens = case when s.tpm is null or ${tokens}::bigint = 0 then w.tokens else ${added(sql`s.tokens`, cut, at, tokens)} end
      from stats s, ok
      where ok.fits and w.subject = s.subject
      returning 1
    )
    select s.ord, s.used_r::float8 as "usedRequests", s.newest_r::float8 as "newestRequests",
      s.used_t::float8 as "usedTokens", s.newest_t::float8 as "newestTokens",
      case when not ok.fits and s.used_r + ${requests}::bigint > s.rpm then ${firstFitting(sql`s.requests`, cut, sql`s.used_r`, sql`${requests}::bigint`, sql`s.rpm`)} end::float8 as "fitRequests",
      case when not ok.fits and s.used_t + ${tokens}::bigint > s.tpm then ${firstFitting(sql`s.tokens`, cut, sql`s.used_t`, sql`${tokens}::bigint`, sql`s.tpm`)} end::float8 as "fitTokens",
      ok.fits, ${ASYNC_COMMIT} as async_commit
    from stats s, ok`;
}

export function ensureRateRowsSql(subjects: readonly string[]): SQL {
  return sql`
    insert into rate_windows (subject)
    select subject from (values ${sql.join(
      subjects.map((s) => sql`(${s}::text)`),
      sql`, `,
    )}) i(subject)
    order by subject
    on conflict do nothing`;
}

/**
 * Corrects the token windows by `delta`. More tokens are counted now; fewer are taken off the
 * bucket the estimate went into (`taken`, when known: a lease's is its end) first, then off the
 * newest buckets (the call being corrected is among the latest), never below zero.
 */
export function adjustTokensSql(p: { subjects: readonly string[]; delta: number; second: number; taken?: number | undefined }): SQL {
  const { delta, second } = p;
  const taken = p.taken ?? -1;
  const cut = second - 60;
  const tokens =
    delta > 0
      ? added(sql`l.tokens`, cut, second, delta)
      : sql`(
          select coalesce(jsonb_object_agg(k, v), '{}'::jsonb) from (
            select key as k, value::bigint - least(value::bigint, greatest(0, ${-delta}::bigint - (sum(value::bigint) over (order by key::bigint = ${taken}::bigint desc, key::bigint desc) - value::bigint))) as v
            from jsonb_each_text(l.tokens) where key::bigint > ${cut}::bigint
          ) t where v > 0)`;
  return updateWindows(p.subjects, sql`tokens`, tokens);
}

/** A lease's unused requests back out of bucket `at` of every subject's window (leases.ts). */
export function returnRequestsSql(p: { subjects: readonly string[]; at: number; requests: number }): SQL {
  const left = sql`(coalesce((l.requests ->> ${String(p.at)}::text)::bigint, 0) - ${p.requests}::bigint)`;
  return updateWindows(
    p.subjects,
    sql`requests`,
    sql`case when ${left} > 0 then l.requests || jsonb_build_object(${String(p.at)}::text, ${left}) else l.requests - ${String(p.at)}::text end`,
  );
}

/**
 * Sets one column of the subjects' window rows to `value` (which reads the locked row as `l`),
 * the rows locked in the fixed order first, like every other statement here.
 */
function updateWindows(subjects: readonly string[], column: SQL, value: SQL): SQL {
  return sql`
    with locked as (
      select w.subject, w.requests, w.tokens from rate_windows w
      where w.subject in (${sql.join(
        subjects.map((s) => sql`${s}::text`),
        sql`, `,
      )})
      order by w.subject
      for update
    )
    update rate_windows w set ${column} = ${value}
    from locked l, ${ASYNC_COMMIT_ROW} where w.subject = l.subject`;
}
