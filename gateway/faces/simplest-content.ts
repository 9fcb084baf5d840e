import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';

/**
 * User content for the canonical request: one plain text part is sent as a string (what most
 * chat clients send, and the form every OpenAI-compatible server accepts); anything richer
 * stays a list of parts.
 */
export function simplestContent(parts: ChatCompletionContentPart[]): string | ChatCompletionContentPart[] {
  const [only] = parts;
  return parts.length === 1 && only?.type === 'text' && !only.prompt_cache_breakpoint ? only.text : parts;
}
