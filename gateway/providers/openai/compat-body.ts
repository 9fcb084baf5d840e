import type { ChatRequest } from '../../../core/chat.ts';

type Part = { type?: unknown; text?: unknown; prompt_cache_breakpoint?: unknown };
type Message = { role?: unknown; content?: unknown };

/** Roles whose text-only content is joined back into one string, as the face first wrote it. */
const JOIN: Readonly<Record<string, string>> = { system: '\n\n', developer: '\n\n', tool: '\n' };

/**
 * An `openai-compatible` upstream (vLLM, Ollama, …) has no explicit cache breakpoints: the
 * `prompt_cache_breakpoint` marks a translated `cache_control` left on content parts are
 * removed, and system, developer and tool content that was an array only to carry them is a
 * plain string again (some servers take no arrays there). The request is returned as is when
 * it carries none, which is the common case.
 */
export function withoutCacheBreakpoints(chat: ChatRequest): ChatRequest {
  const messages = chat.messages as unknown as Message[];
  if (!messages.some(hasBreakpoint)) return chat;
  return { ...chat, messages: messages.map((m) => (hasBreakpoint(m) ? plain(m) : m)) as unknown as ChatRequest['messages'] };
}

function hasBreakpoint(m: Message): boolean {
  return Array.isArray(m.content) && (m.content as Part[]).some((p) => p.prompt_cache_breakpoint !== undefined);
}

function plain(m: Message): Message {
  const parts = (m.content as Part[]).map(({ prompt_cache_breakpoint: _drop, ...rest }) => rest);
  const join = typeof m.role === 'string' ? JOIN[m.role] : undefined;
  if (join !== undefined && parts.every((p) => p.type === 'text' && typeof p.text === 'string')) {
    return { ...m, content: parts.map((p) => p.text as string).join(join) };
  }
  return { ...m, content: parts };
}
