import { sql, type SQL } from 'drizzle-orm';

/** Which production calls a monitor looks at: route, variant, prompt (`name` or `name@3`). */
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
    const [name, version] = slice.prompt.split('@');
    parts.push(sql`c.prompt_name = ${name!}`);
    if (version !== undefined && version !== '') parts.push(sql`c.prompt_version = ${Number(version)}`);
  }
  return sql.join(parts, sql` and `);
}
