import { and, eq, gte, lte } from 'drizzle-orm';
import { callPayloads } from '../../gateway/calls/schema.ts';
import { uuidv7Ms } from '../../gateway/calls/queries.ts';
import type { Database } from '../../gateway/db/client.ts';
import { extractContext } from '../datasets/context.ts';

/**
 * The context the gateway retrieved for an eval call (a RAG route), read back from the call
 * log, for items that bring no context of their own. Call records are written in batches off
 * the request path, so this polls briefly; when a payload never shows up (logging off, another
 * database), it gives up once and stops asking for the rest of the run.
 */
export function recordedContextReader(database: Pick<Database, 'db'>, opts: { timeoutMs?: number; pollMs?: number } = {}): (callId: string) => Promise<string | null> {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const pollMs = opts.pollMs ?? 50;
  let unavailable = false;
  return async (callId) => {
    const ms = uuidv7Ms(callId);
    if (unavailable || ms === null) return null;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await database.db
        .select({ rag: callPayloads.rag, request: callPayloads.request, response: callPayloads.response })
        .from(callPayloads)
        .where(and(eq(callPayloads.callId, callId), gte(callPayloads.startedAt, new Date(ms - 60_000)), lte(callPayloads.startedAt, new Date(ms + 60_000))))
        .limit(1);
      if (row) return extractContext(row.rag, row.request, row.response);
      if (Date.now() >= deadline) {
        unavailable = true;
        return null;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
}
