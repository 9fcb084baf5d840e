import { readFileSync } from 'node:fs';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallEvents } from '../../gateway/calls/call-events.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { PromptStore } from '../../prompts/index.ts';
import { apiApp, loggedCall, seedCalls } from '../../test/helpers/evals.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { feedbackRoutes } from '../api/feedback.ts';
import { resolveOnlineScoring } from '../online/config.ts';
import { startOnlineScoring } from '../online/online-scoring.ts';
import { callScores } from '../schema.ts';
import { sliceConditions, type CallSlice } from './filters.ts';
import { computeMetric } from './metrics.ts';
import { fieldsOfRecord, lookupCallFields, NO_CALL } from './score-call-fields.ts';
import { scoreSeries, type SeriesQuery } from './timeseries-query.ts';

const DAY = 86_400_000;

/** Production traffic as filters.ts wrote it before issue 19. */
const OLD_PRODUCTION = sql`c.shadow = false and (c.metadata->>'sluice_eval_run') is null`;

/** The series as it was computed before issue 19: scores joined to the calls they score. */
async function joinedSeries(database: Database, q: SeriesQuery) {
  const extra = [...(q.scorer !== undefined ? [sql`s.scorer = ${q.scorer}`] : []), ...(q.source !== undefined ? [sql`s.source = ${q.source}`] : [])];
  return rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select to_char((c.started_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day,
        c.route, c.variant, case when c.prompt_name is null then null else c.prompt_name || '@' || c.prompt_version end as prompt,
        s.scorer, count(*)::int as n, avg(s.score)::float8 as mean, coalesce(stddev_samp(s.score), 0)::float8 as sd
      from calls c join call_scores s on s.call_id = c.id
      where ${sliceConditions(q, q.since, q.until)} and ${OLD_PRODUCTION} and s.score is not null ${extra.length ? sql`and ${sql.join(extra, sql` and `)}` : sql``}
      group by 1, 2, 3, 4, 5 order by 2, 3, 4, 5, 1`),
  ).map((r) => ({ day: String(r.day), route: r.route ?? null, variant: r.variant ?? null, prompt: r.prompt ?? null, scorer: String(r.scorer), n: Number(r.n), mean: round(Number(r.mean)), sd: round(Number(r.sd)) }));
}

const round = (v: number) => Math.round(v * 1e9) / 1e9;

async function seriesPoints(database: Database, q: SeriesQuery) {
  const series = await scoreSeries(database, q);
  return series
    .flatMap((s) => s.points.map((p) => ({ day: p.day, route: s.route, variant: s.variant, prompt: s.prompt, scorer: s.scorer, n: p.n, mean: round(p.mean), sd: round(p.sd) })))
    .sort((a, b) => JSON.stringify([a.route, a.variant, a.prompt, a.scorer, a.day]).localeCompare(JSON.stringify([b.route, b.variant, b.prompt, b.scorer, b.day])));
}

const sortRows = <T>(rows: T[]) => [...rows].sort((a, b) => JSON.stringify(Object.values(a as object).slice(0, 5)).localeCompare(JSON.stringify(Object.values(b as object).slice(0, 5))));

describe.each(testDatabases())('scores carry their call’s time and slice: the series equals the join it replaces ($kind)', (target) => {
  let database: Database;
  const day0 = Math.floor(Date.now() / DAY) * DAY - 6 * DAY;
  const since = new Date(day0 - DAY);
  const until = new Date(day0 + 7 * DAY);
  const production: CallRecord[] = [];
  const shadow: CallRecord[] = [];
  const evalCalls: CallRecord[] = [];

  beforeAll(async () => {
    database = await target.open();
    const prompts = new PromptStore(database);
    await prompts.createPrompt('support', null, 'test');
    for (const text of ['v1', 'v2']) await prompts.createVersion('support', { messages: [{ role: 'system', content: text }], model: null, params: {}, variables: null }, 'test');
    await prompts.moveLabel('support', 'production', 2, 'test');

    for (let d = 0; d < 5; d++) {
      for (let k = 0; k < 12; k++) {
        // Spread over the day, with calls a few seconds either side of UTC midnight.
        const at = new Date(day0 + d * DAY + (k === 0 ? -5_000 : k === 11 ? DAY - 5_000 : k * 2 * 3_600_000));
        const record = loggedCall(at, {
          question: 'How tall is the Eiffel Tower?',
          answer: k % 3 === 0 ? 'It is 330 metres tall.' : 'It is tall.',
          route: k % 2 ? 'kb' : 'faq',
          variant: k % 4 < 2 ? 'a' : 'b',
          ...(k % 3 === 2 ? {} : { prompt: ['support', 1 + (k % 2)] as [string, number] }),
        });
        if (k === 5) shadow.push({ ...record, shadow: true });
        else if (k === 7) evalCalls.push({ ...record, metadata: { sluice_eval_run: 'run-1' } });
        else if (k === 9) evalCalls.push({ ...record, metadata: { team: 'x', sluice_eval_run: '' } });
        else production.push(record);
      }
    }
    // Online scoring runs beside the call log's writer: these scores are written before any of
    // their calls' rows exist, so their fields can only come from the records.
    const events = new CallEvents();
    const scorer = { online_scoring: { sample: 1, scorers: [{ name: 'contains', value: '330' }] } };
    const online = startOnlineScoring(events, { database, routes: resolveOnlineScoring({ kb: scorer, faq: scorer }), logger: silentLogger });
    for (const record of [...production, ...shadow, ...evalCalls]) events.emit({ record, shadow: null });
    await online.stop();
    expect(online.stats()).toMatchObject({ scored: production.length, failed: 0 });
    expect(rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from calls`))[0]!.n).toBe(0);
    await seedCalls(database, [...production, ...shadow, ...evalCalls]);

    // Feedback on every call, shadow and eval calls too: the API looks the call up.
    const app = apiApp([['/api/feedback', feedbackRoutes({ database })]]);
    const all = [...production, ...shadow, ...evalCalls];
    for (let i = 0; i < all.length; i++) {
      const res = await app.request('/api/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ call_id: all[i]!.id, name: 'thumbs', score: (i % 5) / 4 }) });
      expect(res.status).toBe(201);
    }
    // A score whose call is not in the log: neither answer counts it.
    await database.db.insert(callScores).values({ callId: '0190a0f0-0000-7000-8000-00000000dead', scorer: 'thumbs', score: 1, source: 'feedback', ...NO_CALL });
  });
  afterAll(async () => database?.close());

  const slices: CallSlice[] = [{}, { route: 'kb' }, { variant: 'b' }, { route: 'faq', variant: 'a' }, { prompt: 'support' }, { prompt: 'support@2' }, { prompt: 'support@production' }, { prompt: 'support@latest' }, { prompt: 'nope' }];

  it('gives the same days, slices, counts, means and deviations for every slice, scorer and source', async () => {
    let compared = 0;
    for (const slice of slices) {
      for (const extra of [{}, { scorer: 'contains' }, { scorer: 'thumbs', source: 'feedback' as const }, { source: 'online' as const }]) {
        const q: SeriesQuery = { ...slice, ...extra, since, until };
        const expected = await joinedSeries(database, q);
        expect(sortRows(await seriesPoints(database, q)), JSON.stringify(q)).toEqual(sortRows(expected));
        compared += expected.length;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('leaves out shadow and eval calls, and counts a call by its own UTC day', async () => {
    const points = await seriesPoints(database, { scorer: 'thumbs', since, until });
    expect(points.reduce((n, p) => n + p.n, 0)).toBe(production.length);
    const online = await seriesPoints(database, { scorer: 'contains', since, until });
    expect(online.reduce((n, p) => n + p.n, 0)).toBe(production.length);
    // The calls 5 s before day0's midnight belong to the day before.
    expect(points.some((p) => p.day === new Date(day0 - DAY).toISOString().slice(0, 10))).toBe(true);
  });

  it('monitor score metrics read the same values as the join', async () => {
    for (const slice of slices) {
      const m = await computeMetric(database, 'score:thumbs', slice, since, until);
      const [old] = rowsOf<{ n: number; v: number | null }>(
        await database.db.execute(sql`select count(*)::int as n, avg(s.score)::float8 as v from calls c join call_scores s on s.call_id = c.id
          where ${sliceConditions(slice, since, until)} and s.scorer = 'thumbs' and s.score is not null`),
      );
      expect({ n: m.samples, v: m.value === null ? null : round(m.value) }, JSON.stringify(slice)).toEqual({ n: Number(old!.n), v: old!.v === null ? null : round(Number(old!.v)) });
    }
  });

  it('the migration backfills what the writers write', async () => {
    const migration = readFileSync(new URL('../../migrations/0021_score_call_fields.sql', import.meta.url), 'utf8');
    const update = migration.split('--> statement-breakpoint').find((s) => s.includes('UPDATE "call_scores"'))!;
    const fields = sql`call_id, scorer, source, call_started_at, route, variant, prompt_name, prompt_version, production`;
    const before = rowsOf(await database.db.execute(sql`select ${fields} from call_scores order by call_id, scorer, source`));
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`update call_scores set call_started_at = null, route = null, variant = null, prompt_name = null, prompt_version = null, production = false`);
      await tx.execute(sql.raw(update));
      expect(rowsOf(await tx.execute(sql`select ${fields} from call_scores order by call_id, scorer, source`))).toEqual(before);
    });
  });

  it('the calls-side production test (rewritten for the planner) keeps the same calls, JSON nulls included', async () => {
    const odd = loggedCall(new Date(day0 + 3 * DAY), { question: 'q', answer: 'a' });
    await seedCalls(database, [odd]);
    await database.db.execute(sql`update calls set metadata = '{"sluice_eval_run": null}'::jsonb where id = ${odd.id}::uuid and started_at = ${odd.startedAt.toISOString()}::timestamptz`);
    const ids = async (where: SQL) => rowsOf<{ id: string }>(await database.db.execute(sql`select c.id from calls c where ${where} order by c.id`)).map((r) => r.id);
    const now = await ids(sliceConditions({}, since, until));
    expect(now).toEqual(await ids(sql`c.started_at >= ${since.toISOString()}::timestamptz and c.started_at < ${until.toISOString()}::timestamptz and ${OLD_PRODUCTION}`));
    expect(now).toContain(odd.id);
    expect(now).toHaveLength(production.length + 1);
    await database.db.execute(sql`delete from calls where id = ${odd.id}::uuid and started_at = ${odd.startedAt.toISOString()}::timestamptz`);
  });

  it('copies from a record what the call log stores, and looks stored calls up by id', async () => {
    const [p, s, e] = [production[1]!, shadow[0]!, evalCalls[0]!];
    const found = await lookupCallFields(database, [p.id, s.id.toUpperCase(), e.id, '0190a0f0-0000-7000-8000-00000000dead', 'not-a-v7']);
    expect([...found.keys()].sort()).toEqual([p.id, s.id, e.id].sort());
    for (const r of [p, s, e]) expect(found.get(r.id)).toEqual(fieldsOfRecord(r));
    expect(found.get(p.id)).toMatchObject({ production: true, route: p.route, callStartedAt: p.startedAt });
    expect(found.get(s.id)!.production).toBe(false);
    expect(found.get(e.id)!.production).toBe(false);
  });
});
