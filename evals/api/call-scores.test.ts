import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { apiApp, loggedCall, seedCalls } from '../../test/helpers/evals.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { callScores } from '../schema.ts';
import { callScoreRoutes } from './call-scores.ts';

interface ScoreList {
  object: string;
  call_id: string;
  has_more: boolean;
  data: Array<{ scorer: string; score: number | null; label: string | null; reason: string | null; source: string; run_id: string | null; details: unknown; details_truncated?: boolean; created_at: string }>;
}
interface ErrorBody {
  error: { message: string; param: string };
}

describe.each(testDatabases())('GET /api/calls/{id}/scores ($kind)', (target) => {
  let database: Database;
  let app: ReturnType<typeof apiApp>;
  const at = new Date(Date.UTC(2026, 0, 31, 12));
  const scored = loggedCall(at, { question: 'Where?', answer: 'Delhi.', context: 'Delhi.' });
  const unscored = loggedCall(at, { question: 'Who?', answer: 'Nobody.' });
  const runId = uuidv7();

  beforeAll(async () => {
    database = await target.open();
    app = apiApp([['/api/calls', callScoreRoutes({ database })]]);
    await seedCalls(database, [scored, unscored]);
    await database.db.insert(callScores).values([
      { callId: scored.id, scorer: 'groundedness', score: 1, source: 'online', createdAt: new Date(at.getTime() + 1_000) },
      { callId: scored.id, scorer: 'faithfulness', score: 0.5, reason: 'one claim unsupported', source: 'eval', runId, details: { judge_model: 'openai/gpt-4o-mini' }, createdAt: new Date(at.getTime() + 2_000) },
      { callId: scored.id, scorer: 'thumbs', score: 0, label: 'down', reason: 'wrong city', source: 'feedback', details: { blob: 'x'.repeat(10_000) }, createdAt: new Date(at.getTime() + 3_000) },
    ]);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('lists every score of the call, newest first, with label, reason, source and run', async () => {
    const res = await app.request(`/api/calls/${scored.id.toUpperCase()}/scores`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ScoreList;
    expect(body).toMatchObject({ object: 'list', call_id: scored.id, has_more: false });
    expect(body.data.map((s) => [s.scorer, s.score, s.label, s.source])).toEqual([
      ['thumbs', 0, 'down', 'feedback'],
      ['faithfulness', 0.5, null, 'eval'],
      ['groundedness', 1, null, 'online'],
    ]);
    expect(body.data[1]).toMatchObject({ reason: 'one claim unsupported', run_id: runId, details: { judge_model: 'openai/gpt-4o-mini' } });
    expect(body.data[1]!.details_truncated).toBeUndefined();
    // A large details object is left out (and said to be), so one answer stays small.
    expect(body.data[0]).toMatchObject({ details: null, details_truncated: true });
  });

  it('is bounded by limit, and says when there is more', async () => {
    const body = (await (await app.request(`/api/calls/${scored.id}/scores?limit=2`)).json()) as ScoreList;
    expect(body.data.map((s) => s.scorer)).toEqual(['thumbs', 'faithfulness']);
    expect(body.has_more).toBe(true);
    const tooMany = await app.request(`/api/calls/${scored.id}/scores?limit=501`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as ErrorBody).error.param).toBe('limit');
    expect((await app.request(`/api/calls/${scored.id}/scores?page=2`)).status).toBe(400);
  });

  it('a logged call without scores is an empty list; an unknown id a 404; a malformed one a 400', async () => {
    const empty = (await (await app.request(`/api/calls/${unscored.id}/scores`)).json()) as ScoreList;
    expect(empty).toMatchObject({ data: [], has_more: false });

    const unknown = await app.request(`/api/calls/${uuidv7()}/scores`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error).toMatchObject({ param: 'id', message: expect.stringContaining('No call with id') });

    const malformed = await app.request(`/api/calls/${encodeURIComponent('<script>'.repeat(40))}/scores`);
    expect(malformed.status).toBe(400);
    const err = ((await malformed.json()) as ErrorBody).error;
    expect(err).toMatchObject({ param: 'id', message: expect.stringContaining('is not a call id') });
    expect(err.message.length).toBeLessThan(120);
  });
});
