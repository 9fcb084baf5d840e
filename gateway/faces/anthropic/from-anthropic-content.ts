import type { ChatCompletionContentPart, ChatCompletionContentPartText } from 'openai/resources/chat/completions';
import type { AnthropicDocumentBlock, AnthropicImageBlock, AnthropicTextBlock } from './messages-schema.ts';

/**
 * Anthropic content blocks → OpenAI chat content parts (the inverse of
 * providers/anthropic/to-anthropic-content.ts). `cache_control` becomes OpenAI's explicit
 * `prompt_cache_breakpoint`, which marks the same thing: the end of a reusable prefix.
 */

type Cacheable = { cache_control?: { type: 'ephemeral' } | null | undefined };

function withBreakpoint<T extends ChatCompletionContentPart>(part: T, block: Cacheable): T {
  return block.cache_control ? { ...part, prompt_cache_breakpoint: { mode: 'explicit' } } : part;
}

export function textPart(block: AnthropicTextBlock): ChatCompletionContentPartText {
  return withBreakpoint({ type: 'text', text: block.text }, block);
}

/** base64 sources become data: URLs; url sources pass by reference, as OpenAI fetches them too. */
export function imagePart(block: AnthropicImageBlock): ChatCompletionContentPart {
  const { source } = block;
  const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
  return withBreakpoint({ type: 'image_url', image_url: { url } }, block);
}

/**
 * A PDF becomes an OpenAI `file` part with inline data; a plain-text or content document
 * becomes its text (and images). `title` and `context` are prepended as text so the model
 * still sees them; Anthropic's citations have no chat-completions counterpart and are dropped.
 */
export function documentParts(block: AnthropicDocumentBlock): ChatCompletionContentPart[] {
  const header = [block.title, block.context].filter((s): s is string => typeof s === 'string' && s !== '').join('\n');
  const parts: ChatCompletionContentPart[] = header === '' ? [] : [{ type: 'text', text: header }];
  const { source } = block;
  switch (source.type) {
    case 'base64':
      parts.push({
        type: 'file',
        file: { file_data: `data:application/pdf;base64,${source.data}`, filename: `${block.title ?? 'document'}.pdf` },
      });
      break;
    case 'text':
      parts.push({ type: 'text', text: source.data });
      break;
    case 'content':
      if (typeof source.content === 'string') parts.push({ type: 'text', text: source.content });
      else for (const b of source.content) parts.push(b.type === 'text' ? textPart(b) : imagePart(b));
      break;
  }
  if (parts.length > 0 && block.cache_control) parts[parts.length - 1] = withBreakpoint(parts.at(-1)!, block);
  return parts;
}
