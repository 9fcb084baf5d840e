import { sql, type SQL } from 'drizzle-orm';

/** Which production calls a monitor looks at: route, variant, prompt (`name`, `name@3` or `name@label`). */
export interface CallSlice {
  route?: string | undefined;
  variant?: string | undefined;
  prompt?: string | undefined;
}

/** Conditions on `calls c` (aliased), production traffic only: no shadow and no eval calls. */
export function sliceConditions(slice: CallSlice, since: Date, until: Date): SQL {
  return conditions(slice, since, until, CALL_SIDE);
}

/**
 * The same slice on `call_scores s` (aliased) alone, through the call's fields copied onto each
 * score (score-call-fields.ts): `production` is the shadow and eval-call test above, taken when
 * the score was written. Served by the partial index on (call_started_at) where production.
 */
export function scoreSliceConditions(slice: CallSlice, since: Date, until: Date): SQL {
  return conditions(slice, since, until, SCORE_SIDE);
}

interface Columns {
  time: SQL;
  production: SQL;
  route: SQL;
  variant: SQL;
  promptName: SQL;
  promptVersion: SQL;
}

/**
 * Not an eval call: `metadata->>'sluice_eval_run' is null`. Written as "no such key, or a JSON
 * null there" (the same rows) because the planner has no statistics for `->>` and guesses 0.5%
 * of calls pass, so over a week it chose to sort every call instead of reading the newest
 * through the (started_at) index (issue 19: the drift view's reference window, 0.5 s at 1M calls).
 */
const NOT_EVAL_CALL = sql`(not (c.metadata ? 'sluice_eval_run') or (c.metadata->>'sluice_eval_run') is null)`;

const CALL_SIDE: Columns = {
  time: sql`c.started_at`,
  production: sql`c.shadow = false and ${NOT_EVAL_CALL}`,
  route: sql`c.route`,
  variant: sql`c.variant`,
  promptName: sql`c.prompt_name`,
  promptVersion: sql`c.prompt_version`,
};

const SCORE_SIDE: Columns = {
  time: sql`s.call_started_at`,
  production: sql`s.production`,
  route: sql`s.route`,
  variant: sql`s.variant`,
  promptName: sql`s.prompt_name`,
  promptVersion: sql`s.prompt_version`,
};

function conditions(slice: CallSlice, since: Date, until: Date, col: Columns): SQL {
  const parts: SQL[] = [
    sql`${col.time} >= ${since.toISOString()}::timestamptz`,
    sql`${col.time} < ${until.toISOString()}::timestamptz`,
    col.production,
  ];
  if (slice.route !== undefined) parts.push(sql`${col.route} = ${slice.route}`);
  if (slice.variant !== undefined) parts.push(sql`${col.variant} = ${slice.variant}`);
  if (slice.prompt !== undefined) {
    const [name, ref] = slice.prompt.split('@') as [string, string | undefined];
    parts.push(sql`${col.promptName} = ${name}`);
    if (ref !== undefined && /^[1-9][0-9]*$/.test(ref)) parts.push(sql`${col.promptVersion} = ${Number(ref)}`);
    else if (ref !== undefined && ref !== '') parts.push(sql`${col.promptVersion} in (${labelVersions(name, ref)})`);
  }
  return sql.join(parts, sql` and `);
}

/**
 * The versions `name@label` serves now: the one it points at and, while a rollout splits it, the
 * new one (`latest`: the highest version). A label's traffic is that of its versions: calls record
 * the version they used, not the label that led there.
 */
function labelVersions(name: string, label: string): SQL {
  const prompt = sql`(select id from prompts where name = ${name})`;
  if (label === 'latest') return sql`select max(version) from prompt_versions where prompt_id = ${prompt}`;
  return sql`select version from prompt_labels where prompt_id = ${prompt} and label = ${label}
             union all select version from prompt_label_splits where prompt_id = ${prompt} and label = ${label}`;
}
