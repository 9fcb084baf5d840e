/**
 * The call log at scale (issue 20 item 5, issue 19 item 3), for bench/run.ts: the rollup queries
 * and the writer's insert on N seeded calls (rollups.ts, 10M by default), then every dashboard
 * view timed on M seeded calls (ui-views.ts, 1M by default). Both need a Postgres server
 * (DATABASE_URL, else 127.0.0.1:5432); each creates its own scratch database there and drops it.
 */
import postgres from 'postgres';
import { rollupsConsole, runRollups, type RollupsResult } from './rollups.ts';
import { benchUiViews, type UiViewsResult } from './ui-views.ts';

export interface ScaleOptions {
  rollupRows: number;
  viewRows: number;
}

export interface ScaleResult {
  options: ScaleOptions;
  note: string | null;
  rollups: RollupsResult | null;
  views: UiViewsResult | null;
  goals: Array<{ goal: string; measured: string; verdict: 'met' | 'not met' | 'n/a' }>;
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(url: string): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

export async function runScale(opts: ScaleOptions, print: (line: string) => void): Promise<ScaleResult> {
  print('');
  print(`== the call log at scale (issues 20 and 19): rollup queries at ${opts.rollupRows.toLocaleString('en-US')} calls, dashboard views at ${opts.viewRows.toLocaleString('en-US')}`);
  const url = process.env.DATABASE_URL ?? DEFAULT_URL;
  const down = await reachable(url);
  if (down) {
    const note = `no Postgres at ${url.replace(/\/\/[^@/]*@/, '//…@')} (${down})`;
    print(`note: ${note}; the scale section is not measured`);
    return { options: opts, note, rollups: null, views: null, goals: [] };
  }
  const rollups = await runRollups({ rows: opts.rollupRows, url, log: print });
  print(rollupsConsole(rollups));
  const views = await benchUiViews({ databaseUrl: url, rows: opts.viewRows, log: print });
  const slow = views.views.filter((v) => !v.met);
  const worst = [...views.views].sort((a, b) => b.medianMs - a.medianMs)[0];
  const queriesMet = rollups.queries.filter((q) => q.met).length;
  return {
    options: opts,
    note: null,
    rollups,
    views,
    goals: [
      {
        goal: `/api/usage, route stats and overview queries under their goals at ${rollups.rows.toLocaleString('en-US')} calls`,
        measured: `${queriesMet} of ${rollups.queries.length}; slowest ${Math.max(...rollups.queries.map((q) => q.medianMs))} ms`,
        verdict: queriesMet === rollups.queries.length ? 'met' : 'not met',
      },
      {
        goal: `every dashboard view < ${views.goalMs} ms at ${views.rows.toLocaleString('en-US')} calls`,
        measured: slow.length === 0 ? `all ${views.views.length}; slowest ${worst?.view} ${worst?.medianMs.toFixed(0)} ms` : `${slow.length} over: ${slow.map((v) => `${v.view} ${v.medianMs.toFixed(0)} ms`).join(', ')}`,
        verdict: slow.length === 0 ? 'met' : 'not met',
      },
    ],
  };
}

function viewsTable(v: UiViewsResult): string[] {
  return [
    `| view (median of ${v.runs} after a warm-up) | path | ms | goal |`,
    '|---|---|---:|---|',
    ...v.views.map((x) => `| ${x.view} | \`${x.path.replace(/[0-9a-f-]{36}/, '{id}')}\` | ${x.medianMs.toFixed(1)} | ${x.met ? 'met' : 'not met'} |`),
  ];
}

export function scaleConsole(r: ScaleResult): string {
  if (!r.rollups || !r.views) return `\nscale: not measured (${r.note})`;
  const lines = ['', `dashboard views at ${r.views.rows.toLocaleString('en-US')} calls (seeded in ${r.views.seed.totalSeconds.toFixed(0)} s):`, ...viewsTable(r.views), ''];
  for (const g of r.goals) lines.push(`  ${g.verdict.padEnd(7)} ${g.goal}: ${g.measured}`);
  return lines.join('\n');
}

/** The section's heading in bench/README.md (run.ts keeps the last one when a run skips it). */
export const SCALE_HEADING = '### The call log at scale (issues 20, 19)';

export function scaleMarkdown(r: ScaleResult): string {
  if (!r.rollups || !r.views) return `${SCALE_HEADING}\n\nNot measured: ${r.note}.`;
  return [
    SCALE_HEADING,
    '',
    `Rollups: \`bench/rollups.ts\` seeds the calls with SQL over 30 days and times each query through the function its API calls; the writer figure is the real insert statement (calls, payloads and both rollups) at that table size.`,
    '',
    rollupsConsole(r.rollups),
    '',
    `Dashboard: \`bench/ui-views.ts\` seeds ${r.views.rows.toLocaleString('en-US')} calls (plus keys, prompts, an eval run, scores and incidents through the API), signs in and times each view until its full HTML is read.`,
    '',
    ...viewsTable(r.views),
    '',
    '| goal | measured | verdict |',
    '|---|---|---|',
    ...r.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.verdict} |`),
  ].join('\n');
}
