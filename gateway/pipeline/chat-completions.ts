import { completionOf, entryFromJson, entryFromStream, replayJson, replaySse, type CachedResponse, type EntryMeta } from '../cache/index.ts';
import type { CallTracker } from '../calls/tracker.ts';
import { formatUsd } from '../cost/pricing.ts';
import type { CallInput } from './call-input.ts';
import { lookupChatCache } from './chat-cache.ts';
import { completionText, executeChat, planChat, priceChat, type ChatPlan } from './chat-call.ts';
import type { PipelineDeps } from './deps.ts';
import { openaiSseResponse, SSE_HEADERS } from './openai-sse.ts';
import { fireShadow } from './shadow-call.ts';

/** POST /v1/chat/completions: the OpenAI face of the chat pipeline. */
export async function chatCompletions(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const plan = await planChat(input, call, deps);
  const cached = await lookupChatCache(plan, call, input, deps);
  if (cached.status === 'hit') return serveHit(cached.entry, plan, call);

  let outcome;
  try {
    outcome = await executeChat(plan, call, input.signal, deps);
  } catch (err) {
    cached.abandon();
    throw err;
  }
  if (outcome.kind === 'stream') {
    return openaiSseResponse(outcome.stream, plan, call, deps, {
      complete: (assembler) => {
        cached.complete(entryFromStream(assembler, entryMeta(call, plan)));
        fireShadow(plan, call, input, deps);
      },
      abandon: () => cached.abandon(),
    });
  }

  const { result } = outcome;
  const cost = priceChat(call, plan.req, result.usage, () => completionText(result.body));
  cached.complete(entryFromJson(result.text, result.body, entryMeta(call, plan)));
  const headers: Record<string, string> = {
    ...plan.headers,
    'content-type': 'application/json',
    'x-sluice-overhead-ms': call.overheadMs().toFixed(3),
  };
  if (cost !== null) headers['x-sluice-cost-usd'] = formatUsd(cost);
  call.finishOk(result.body);
  fireShadow(plan, call, input, deps);
  return new Response(result.text, { status: 200, headers });
}

function entryMeta(call: CallTracker, plan: ChatPlan): EntryMeta {
  return { usage: call.record.usage, costMicros: call.record.costMicros, createdAt: Date.now(), expectedChoices: plan.req.n ?? 1 };
}

/** A cached answer, as JSON or replayed as SSE: it costs nothing and keeps the cost it saved. */
function serveHit(entry: CachedResponse, plan: ChatPlan, call: CallTracker): Response {
  call.hitCache(entry.usage, entry.costMicros);
  const headers: Record<string, string> = { ...plan.headers, 'x-sluice-cost-usd': '0' };
  if (plan.req.stream === true) {
    const body = replaySse(entry, { includeUsage: plan.req.stream_options?.include_usage === true });
    call.record.ttftMs = call.overheadMs();
    headers['x-sluice-overhead-ms'] = call.overheadMs().toFixed(3);
    call.finishOk(completionOf(entry));
    return new Response(body, { status: 200, headers: { ...headers, ...SSE_HEADERS } });
  }
  headers['x-sluice-overhead-ms'] = call.overheadMs().toFixed(3);
  headers['content-type'] = 'application/json';
  call.finishOk(completionOf(entry));
  return new Response(replayJson(entry), { status: 200, headers });
}
