import { sql, type SQL } from 'drizzle-orm';

/** Which production calls a monitor looks at: route, variant, prompt (`name`, `name@3` or `name@label`). */
export interface CallSlice {
  route?: string | undefined;
  variant?: string | undefined;
  prompt?: string | undefined;
}

/** Conditions on `calls c` (aliased), production traffic only: no shadow and no eval calls. */
export function sliceConditions(slice: CallSlice, since: Date, until: Date): SQL {
  const parts: SQL[] = [
    sql`c.started_at >= ${since.toISOString()}::timestamptz`,
    sql`c.started_at < ${until.toISOString()}::timestamptz`,
    sql`c.shadow = false`,
    sql`(c.metadata->>'sluice_eval_run') is null`,
  ];
  if (slice.route !== undefined) parts.push(sql`c.route = ${slice.route}`);
  if (slice.variant !== undefined) parts.push(sql`c.variant = ${slice.variant}`);
  if (slice.prompt !== undefined) {
    const [name, ref] = slice.prompt.split('@') as [string, string | undefined];
    parts.push(sql`c.prompt_name = ${name}`);
    if (ref !== undefined && /^[1-9][0-9]*$/.test(ref)) parts.push(sql`c.prompt_version = ${Number(ref)}`);
    else if (ref !== undefined && ref !== '') parts.push(sql`c.prompt_version in (${labelVersions(name, ref)})`);
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
