import { z } from 'zod';

/**
 * Longest `model` accepted on any face. Real ids are short (`claude-sonnet-4-5-20250929`,
 * `accounts/fireworks/models/llama-v3p1-405b-instruct`); a route, provider prefix and a long
 * Hugging Face path still fit. Anything longer is a client bug or an attack, and a model name
 * is used as a memo key, logged and echoed in errors, so it is refused before any of that.
 */
export const MAX_MODEL_NAME_CHARS = 400;

/** The `model` field of every request schema (chat, embeddings, messages, count_tokens, responses). */
export const modelName = z.string().min(1).max(MAX_MODEL_NAME_CHARS, `must be at most ${MAX_MODEL_NAME_CHARS} characters`);
