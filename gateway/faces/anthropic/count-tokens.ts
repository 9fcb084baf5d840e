import { estimatePromptTokens, estimateTextTokens } from '../../cost/estimate-tokens.ts';
import { validate } from '../../pipeline/validate.ts';
import { anthropicMessagesSchema } from './messages-schema.ts';
import { toChatRequest } from './from-anthropic-request.ts';

/**
 * `POST /v1/messages/count_tokens`, answered locally: a tiktoken estimate of the request as
 * the gateway would send it (messages with the usual per-message overhead, plus the tool
 * definitions as JSON). Anthropic has no public tokenizer, so for Claude models this is an
 * approximation (see cost/estimate-tokens.ts); the route should say so, e.g. in a header.
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
  let tokens = estimatePromptTokens(req.messages as unknown[], req.model);
  if (req.tools && req.tools.length > 0) tokens += estimateTextTokens(JSON.stringify(req.tools), req.model);
  return { input_tokens: tokens };
}
