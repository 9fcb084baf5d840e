import { createTokenEstimator } from '../../cost/estimate-tokens.ts';
import { validate } from '../../pipeline/validate.ts';
import { anthropicMessagesSchema } from './messages-schema.ts';
import { toChatRequest } from './from-anthropic-request.ts';

/**
 * `POST /v1/messages/count_tokens`, answered locally: a tiktoken estimate of the request as
 * the gateway would send it (messages with the usual per-message overhead, plus the tool
 * definitions as JSON). Anthropic has no public tokenizer, so for Claude models this is an
 * approximation (see cost/estimate-tokens.ts); the route says so in a header.
 *
 * One estimator counts the whole request, so its work is bounded per request, not per string:
 * tokenising a 10 MB body of one run without spaces costs what 16 KB of prose does.
 *
 * The body is the Messages request without `max_tokens` (count_tokens does not take one).
 */
const countTokensSchema = anthropicMessagesSchema.omit({ max_tokens: true, stream: true });

export interface CountTokensResult {
  input_tokens: number;
}

export function countTokens(body: unknown): CountTokensResult {
  const parsed = validate(countTokensSchema, body);
  const req = toChatRequest({ ...parsed, max_tokens: 1 });
  const estimator = createTokenEstimator(req.model);
  let tokens = estimator.prompt(req.messages as unknown[]);
  if (req.tools && req.tools.length > 0) tokens += estimator.text(JSON.stringify(req.tools));
  return { input_tokens: tokens };
}

/** POST /v1/messages/count_tokens: answered locally, and marked as an estimate. */
export function countTokensResponse(body: unknown): Response {
  return new Response(JSON.stringify(countTokens(body)), {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-sluice-token-count': 'estimate' },
  });
}
