import type { CallTracker } from '../calls/tracker.ts';
import type { CallInput } from './call-input.ts';
import { createTokenEstimator } from '../cost/estimate-tokens.ts';
import { formatUsd } from '../cost/pricing.ts';
import type { EmbeddingsRequest } from '../../core/chat.ts';
import { embeddingsRequestSchema } from './chat-schema.ts';
import { retryOptions, type PipelineDeps } from './deps.ts';
import { withRetry } from './retry.ts';
import { validate } from './validate.ts';

/** POST /v1/embeddings. The body passes through (the SDK asks for base64 by default). */
export async function embeddings(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const { body, signal } = input;
  call.setRequest(body);
  const req = validate(embeddingsRequestSchema, body) as unknown as EmbeddingsRequest;
  call.setClientFacts({ stream: false, user: typeof req.user === 'string' ? req.user : null, metadata: null });
  const target = deps.resolveModel(req.model);
  call.setTarget(target.provider, target.model);
  const governor = deps.governor;
  if (governor) {
    governor.checkModel(call.key, req.model, `${target.provider.name}/${target.model}`);
    if (governor.governs(call.key)) {
      const gate = governor.start(call, [target], { promptTokens: estimateInput(req.input, target.model), maxOutputTokens: 0, choices: 1 }, 'embedding');
      const [limited, overBudget] = await Promise.all([gate.admitted, gate.reserved]);
      if (limited ?? overBudget) throw limited ?? overBudget;
    }
  }
  const result = await withRetry(
    (a) => target.provider.embeddings(req, target.model, { signal, attempts: call.attempts, ...a }),
    retryOptions(target, call, signal, deps),
  );
  const usage = result.usage ?? {
    inputTokens: estimateInput(req.input, target.model),
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  const cost = call.price(usage, result.usage === null, 'embedding');
  const headers: Record<string, string> = {
    ...call.limitHeaders,
    'content-type': 'application/json',
    'x-sluice-overhead-ms': call.overheadMs().toFixed(3),
  };
  if (cost !== null) headers['x-sluice-cost-usd'] = formatUsd(cost);
  // Vectors are bulky and of little use in a call log: keep the shape, not the numbers.
  call.finishOk({ object: 'list', model: result.body.model, data_count: Array.isArray(result.body.data) ? result.body.data.length : 0, usage: result.body.usage });
  return new Response(result.text, { status: 200, headers });
}

/** One estimator for all inputs, so the work is bounded per request (up to 2,048 strings). */
function estimateInput(input: EmbeddingsRequest['input'], model: string): number {
  const estimator = createTokenEstimator(model);
  if (typeof input === 'string') return estimator.text(input);
  let total = 0;
  for (const item of input as unknown[]) {
    if (typeof item === 'string') total += estimator.text(item);
    else if (Array.isArray(item)) total += item.length;
    else total += 1;
  }
  return total;
}
