import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { readJsonObject } from '../../gateway/http/read-json.ts';
import { validate } from '../../gateway/pipeline/validate.ts';
import { lookupCallFields } from '../monitor/score-call-fields.ts';
import { callScores } from '../schema.ts';

/**
 * `POST /api/feedback` (DESIGN §4.3): a user's score or label for a logged call, written to
 * `call_scores` (source `feedback`) beside online eval scores, so the same stats read both.
 * Body: `{call_id, scorer | name, score (0..1) | label, comment?}`. Well-known labels map to a
 * score (good/up/positive/correct/pass/yes → 1; bad/down/negative/incorrect/fail/no → 0); any
 * other label is kept with a null score.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LABEL_SCORES: Record<string, number> = {
  good: 1, up: 1, thumbs_up: 1, positive: 1, correct: 1, pass: 1, yes: 1, helpful: 1,
  bad: 0, down: 0, thumbs_down: 0, negative: 0, incorrect: 0, fail: 0, no: 0, unhelpful: 0,
};

const feedbackSchema = z
  .strictObject({
    call_id: z.string().regex(UUID, 'expected a call id (UUID)'),
    scorer: z.string().min(1).max(200).optional(),
    name: z.string().min(1).max(200).optional(),
    score: z.number().min(0).max(1).optional(),
    label: z.string().min(1).max(200).optional(),
    comment: z.string().max(10_000).optional(),
  })
  .refine((b) => b.scorer !== undefined || b.name !== undefined, { message: "give 'scorer' (or 'name')", path: ['scorer'] })
  .refine((b) => b.score !== undefined || b.label !== undefined, { message: "give 'score' (0..1) or 'label'", path: ['score'] });

export interface FeedbackRoutesDeps {
  database: Database;
}

export function feedbackRoutes(deps: FeedbackRoutesDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const b = validate(feedbackSchema, await readJsonObject(c));
    const callId = b.call_id.toLowerCase();
    // The score carries its call's time and slice (monitor/score-call-fields.ts).
    const call = (await lookupCallFields(deps.database, [callId])).get(callId);
    if (!call) throw new GatewayError('not_found', `No call with id '${b.call_id}'.`, { param: 'call_id' });
    const scorer = (b.scorer ?? b.name)!;
    const score = b.score ?? (b.label === undefined ? null : (LABEL_SCORES[b.label.toLowerCase()] ?? null));
    const key = c.get('key');
    const [row] = await deps.database.db
      .insert(callScores)
      .values({ callId, scorer, score, label: b.label ?? null, reason: b.comment ?? null, source: 'feedback', details: { by: key.id ?? key.name }, ...call })
      .returning();
    return c.json(
      { id: row!.id, object: 'feedback', call_id: callId, scorer, score, label: row!.label, comment: row!.reason, created_at: row!.createdAt.toISOString() },
      201,
    );
  });
  return app;
}
