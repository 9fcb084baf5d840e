import { and, eq, gte, inArray, lte } from 'drizzle-orm';
import { callPayloads, calls } from '../../gateway/calls/schema.ts';
import { uuidv7Ms } from '../../gateway/calls/queries.ts';
import type { Database } from '../../gateway/db/client.ts';
import { CALL_COLUMNS, type CallColumns } from '../monitor/score-call-fields.ts';

/**
 * What an online job needs of one logged call: its target, timing, cost and bodies, and what its
 * scores carry of it (monitor/score-call-fields.ts).
 */
export interface LoggedCall extends CallColumns {
  id: string;
  provider: string | null;
  model: string | null;
  latencyMs: number;
  costMicros: number | null;
  request: unknown;
  response: unknown;
  rag: unknown;
}

/** Slack around the time in a UUIDv7 call id (as gateway/calls/queries.ts getCall). */
const ID_WINDOW_MS = 60_000;

/**
 * Reads calls back from the call log by id. The log is written in batches off the request path,
 * so a job may arrive before its calls: this asks again every `pollMs` for the ones not there
 * yet, up to `waitMs`, and returns what it found (the caller counts the rest as failed). The ids'
 * own timestamps bound `started_at`, so only the day partitions they fall in are read.
 */
export async function readLoggedCalls(
  database: Pick<Database, 'db'>,
  ids: readonly string[],
  opts: { waitMs?: number; pollMs?: number } = {},
): Promise<Map<string, LoggedCall>> {
  const found = new Map<string, LoggedCall>();
  const deadline = Date.now() + (opts.waitMs ?? 15_000);
  let missing = ids.filter((id) => uuidv7Ms(id) !== null);
  for (;;) {
    for (const call of await readOnce(database, missing)) found.set(call.id, call);
    missing = missing.filter((id) => !found.has(id));
    if (missing.length === 0 || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}

async function readOnce(database: Pick<Database, 'db'>, ids: readonly string[]): Promise<LoggedCall[]> {
  if (ids.length === 0) return [];
  const times = ids.map((id) => uuidv7Ms(id)!);
  const from = new Date(Math.min(...times) - ID_WINDOW_MS);
  const to = new Date(Math.max(...times) + ID_WINDOW_MS);
  const rows = await database.db
    .select({
      id: calls.id,
      provider: calls.provider,
      model: calls.model,
      latencyMs: calls.latencyMs,
      costMicros: calls.costMicros,
      request: callPayloads.request,
      response: callPayloads.response,
      rag: callPayloads.rag,
      ...CALL_COLUMNS,
    })
    .from(calls)
    .innerJoin(callPayloads, and(eq(callPayloads.callId, calls.id), eq(callPayloads.startedAt, calls.startedAt)))
    .where(and(inArray(calls.id, [...ids]), gte(calls.startedAt, from), lte(calls.startedAt, to), gte(callPayloads.startedAt, from), lte(callPayloads.startedAt, to)));
  return rows.map((r) => ({ ...r, costMicros: r.costMicros === null ? null : Number(r.costMicros) }));
}
