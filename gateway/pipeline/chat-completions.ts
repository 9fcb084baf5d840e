import type { CallTracker } from '../calls/tracker.ts';
import { formatUsd } from '../cost/pricing.ts';
import type { CallInput } from './call-input.ts';
import { completionText, executeChat, planChat, priceChat } from './chat-call.ts';
import type { PipelineDeps } from './deps.ts';
import { openaiSseResponse } from './openai-sse.ts';

/** POST /v1/chat/completions: the OpenAI face of the chat pipeline. */
export async function chatCompletions(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const plan = await planChat(input, call, deps);
  const outcome = await executeChat(plan, call, input.signal, deps);
  if (outcome.kind === 'stream') return openaiSseResponse(outcome.stream, plan, call, deps);

  const { result } = outcome;
  const cost = priceChat(call, plan.req, result.usage, () => completionText(result.body));
  const headers: Record<string, string> = {
    ...plan.headers,
    'content-type': 'application/json',
    'x-sluice-overhead-ms': call.overheadMs().toFixed(3),
  };
  if (cost !== null) headers['x-sluice-cost-usd'] = formatUsd(cost);
  call.finishOk(result.body);
  return new Response(result.text, { status: 200, headers });
}
