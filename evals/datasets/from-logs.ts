import { and, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../gateway/db/client.ts';
import { callPayloads, calls } from '../../gateway/calls/schema.ts';
import type { FromLogsSpec } from '../job.ts';
import { completionText, extractContext } from './context.ts';
import { itemLineSchema, toEvalItem, type ChatMessage, type EvalItem } from './item.ts';
import { DatasetError } from './jsonl.ts';

/**
 * Items from logged production calls (issue 10 §1, §4). The sample is deterministic: calls are
 * ordered by md5(seed ‖ call id) and the first n taken (or, for a fraction, those whose hash
 * falls below it), so the same filter and seed always give the same calls, and a later window
 * samples independently of an earlier one. Eval calls (tagged `sluice_eval_run`) and shadow
 * calls are never sampled. Only successful chat completions are used.
 */
export interface LoggedItem extends EvalItem {
  call: { id: string; route: string | null; variant: string | null; prompt: string | null; model: string | null };
}

export interface FromLogsOptions {
  seed: number | string;
  /** Wall clock for relative `since`/`until` (24h, 7d). */
  now: () => number;
  /** Messages a prompt version renders (stripped from a logged request when replaying). */
  promptMessageCount?: (name: string, version: number) => Promise<number | null>;
}

/** Most calls a fraction sample reads. */
export const MAX_SAMPLE = 100_000;

export function resolveWhen(value: string, now: number): Date {
  const m = /^(\d+)([mhd])$/.exec(value);
  if (m) return new Date(now - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new DatasetError(`from_logs: cannot read time '${value}'`);
  return d;
}

export async function itemsFromLogs(database: Pick<Database, 'db'>, spec: FromLogsSpec, opts: FromLogsOptions): Promise<LoggedItem[]> {
  const now = opts.now();
  const seed = String(spec.seed ?? opts.seed);
  const since = spec.since ? resolveWhen(spec.since, now) : undefined;
  const until = spec.until ? resolveWhen(spec.until, now) : undefined;
  const where: SQL[] = [
    eq(calls.status, 'ok'),
    eq(calls.shadow, false),
    eq(calls.endpoint, 'chat.completions'),
    sql`(${calls.metadata}->>'sluice_eval_run') is null`,
  ];
  if (since) where.push(gte(calls.startedAt, since));
  if (until) where.push(lt(calls.startedAt, until));
  if (spec.route !== undefined) where.push(eq(calls.route, spec.route));
  if (spec.variant !== undefined) where.push(eq(calls.variant, spec.variant));
  if (spec.model !== undefined) where.push(spec.model.includes('/') ? sql`(${calls.provider} || '/' || ${calls.model}) = ${spec.model}` : eq(calls.model, spec.model));
  if (spec.prompt !== undefined) {
    const [name, version] = spec.prompt.split('@');
    where.push(eq(calls.promptName, name!));
    if (version !== undefined) where.push(eq(calls.promptVersion, Number(version)));
  }
  const hash = sql`md5(${seed} || ':' || ${calls.id}::text)`;
  if (spec.sample < 1) {
    where.push(sql`('x' || substr(${hash}, 1, 8))::bit(32)::bigint < ${Math.floor(spec.sample * 2 ** 32)}`);
  }
  const limit = spec.sample < 1 ? MAX_SAMPLE : spec.sample;
  const picked = await database.db
    .select({
      id: calls.id,
      startedAt: calls.startedAt,
      route: calls.route,
      variant: calls.variant,
      provider: calls.provider,
      model: calls.model,
      promptName: calls.promptName,
      promptVersion: calls.promptVersion,
      latencyMs: calls.latencyMs,
      costMicros: calls.costMicros,
    })
    .from(calls)
    .where(and(...where))
    .orderBy(hash)
    .limit(limit);
  if (picked.length === 0) return [];

  const times = picked.map((p) => p.startedAt.getTime());
  const payloads = await database.db
    .select({ callId: callPayloads.callId, request: callPayloads.request, response: callPayloads.response, rag: callPayloads.rag })
    .from(callPayloads)
    .where(
      and(
        inArray(
          callPayloads.callId,
          picked.map((p) => p.id),
        ),
        gte(callPayloads.startedAt, new Date(Math.min(...times))),
        lte(callPayloads.startedAt, new Date(Math.max(...times))),
      ),
    );
  const byId = new Map(payloads.map((p) => [p.callId, p]));

  const items: LoggedItem[] = [];
  for (const c of picked) {
    const p = byId.get(c.id);
    if (!p) continue;
    const request = (p.request ?? {}) as Record<string, unknown>;
    let messages = Array.isArray(request.messages) ? (request.messages as ChatMessage[]) : [];
    const context = extractContext(p.rag, p.request, p.response);
    if (spec.replay && c.promptName && c.promptVersion !== null && opts.promptMessageCount) {
      // The logged request holds the rendered prompt (and the injected context); a replay lets
      // the target's prompt and retrieval run anew.
      const n = await opts.promptMessageCount(c.promptName, c.promptVersion);
      if (n) messages = messages.slice(n);
      if (context) messages = messages.filter((m) => !(m.role === 'system' && typeof m.content === 'string' && m.content.includes(context)));
    }
    const output = completionText(p.response);
    if (output === null && !spec.replay) continue;
    const line = {
      id: c.id,
      ...(messages.length ? { messages } : {}),
      ...(output !== null && !spec.replay ? { output } : {}),
      ...(context ? { context } : {}),
      latency_ms: c.latencyMs,
      ...(c.costMicros === null ? {} : { cost_usd: Number(c.costMicros) / 1e6 }),
      tags: [
        ...(c.route ? [`route:${c.route}`] : []),
        ...(c.variant ? [`variant:${c.variant}`] : []),
        ...(c.promptName ? [`prompt:${c.promptName}@${c.promptVersion}`] : []),
        ...(c.model ? [`model:${c.provider}/${c.model}`] : []),
      ],
    };
    const parsed = itemLineSchema.safeParse(line);
    if (!parsed.success) continue; // a payload we cannot read (truncated, non-chat) is skipped
    items.push({
      ...toEvalItem(parsed.data, items.length),
      call: { id: c.id, route: c.route, variant: c.variant, prompt: c.promptName ? `${c.promptName}@${c.promptVersion}` : null, model: c.model },
    });
  }
  return items;
}
