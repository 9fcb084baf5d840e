import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { EmbeddingCreateParams } from 'openai/resources/embeddings';

/**
 * The canonical requests every face translates to and every provider translates from: OpenAI's
 * chat-completions and embeddings bodies, validated, with `model` resolved. Extra fields a
 * client or a variant sets are kept (a local server's `top_k`…), hence the record type.
 */
export type ChatRequest = ChatCompletionCreateParams & Record<string, unknown>;
export type EmbeddingsRequest = EmbeddingCreateParams & Record<string, unknown>;
