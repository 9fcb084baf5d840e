import type {
  ChatCompletionContentPart,
  ChatCompletionContentPartImage,
  ChatCompletionContentPartRefusal,
  ChatCompletionContentPartText,
} from 'openai/resources/chat/completions';
import type { Base64ImageSource, ImageBlockParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';

/**
 * Content-part translation (OpenAI chat content parts → Anthropic content blocks). `path` is
 * the request path of the content being translated (e.g. `messages[2].content`), so an error
 * can name the exact part that Anthropic cannot take.
 */

type Breakpoint = { prompt_cache_breakpoint?: { mode: 'explicit' } };

/**
 * OpenAI's explicit `prompt_cache_breakpoint` marks "the end of a reusable prefix", which is
 * exactly what Anthropic's `cache_control` does; OpenAI's 30-minute TTL has no Anthropic
 * equivalent, so the default (5 minutes, refreshed on every hit) applies.
 */
function withBreakpoint<T extends object>(block: T, part: Breakpoint): T {
  return part.prompt_cache_breakpoint?.mode === 'explicit' ? { ...block, cache_control: { type: 'ephemeral' } } : block;
}

/** Anthropic rejects empty text blocks, while OpenAI accepts empty strings: drop them. */
export function textBlock(text: string, part: Breakpoint = {}): TextBlockParam[] {
  return text === '' ? [] : [withBreakpoint<TextBlockParam>({ type: 'text', text }, part)];
}

/** Text-only content (system, developer, tool messages). */
export function textBlocks(
  content: string | readonly (ChatCompletionContentPartText | ChatCompletionContentPartRefusal)[] | null | undefined,
  path: string,
): TextBlockParam[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return textBlock(content);
  return content.flatMap((part, j) => {
    switch (part.type) {
      case 'text':
        return textBlock(part.text, part);
      // A refusal the model gave earlier is still something it said: replay it as text.
      case 'refusal':
        return textBlock(part.refusal);
      default:
        return unsupportedPart(part, `${path}[${j}]`);
    }
  });
}

/** User content: text and images; audio and files have no Anthropic counterpart here. */
export function userBlocks(
  content: string | readonly ChatCompletionContentPart[],
  path: string,
): (TextBlockParam | ImageBlockParam)[] {
  if (typeof content === 'string') return textBlock(content);
  return content.flatMap((part, j): (TextBlockParam | ImageBlockParam)[] => {
    switch (part.type) {
      case 'text':
        return textBlock(part.text, part);
      case 'image_url':
        return [withBreakpoint(imageBlock(part, `${path}[${j}].image_url.url`), part)];
      default:
        // input_audio, file, and anything newer than this code.
        return unsupportedPart(part, `${path}[${j}]`);
    }
  });
}

function unsupportedPart(part: unknown, param: string): never {
  const type = typeof part === 'object' && part !== null && 'type' in part ? String(part.type) : typeof part;
  throw new GatewayError('invalid_request', `${param}: content part type '${type}' is not supported by Anthropic models`, {
    param,
  });
}

const IMAGE_TYPES = new Set<Base64ImageSource['media_type']>(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

function isImageType(t: string): t is Base64ImageSource['media_type'] {
  return IMAGE_TYPES.has(t as Base64ImageSource['media_type']);
}

/**
 * `data:<mime>;base64,<data>` becomes an inline base64 source; an http(s) URL is passed by
 * reference and fetched by Anthropic. OpenAI's `detail` hint has no equivalent and is dropped.
 */
export function imageBlock(part: ChatCompletionContentPartImage, param: string): ImageBlockParam {
  const url = part.image_url.url;
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  if (!/^data:/i.test(url)) {
    throw new GatewayError('invalid_request', `${param}: an image URL must be http(s) or a base64 data URL`, { param });
  }
  const comma = url.indexOf(',');
  const header = comma === -1 ? '' : url.slice('data:'.length, comma);
  const [mime = '', ...attrs] = header.split(';').map((s) => s.trim().toLowerCase());
  const data = comma === -1 ? '' : url.slice(comma + 1);
  if (!attrs.includes('base64') || data === '') {
    throw new GatewayError('invalid_request', `${param}: a data URL image must be base64-encoded and non-empty`, { param });
  }
  // "image/jpg" is not a registered type, but clients send it often enough to accept.
  const mediaType = mime === 'image/jpg' ? 'image/jpeg' : mime;
  if (!isImageType(mediaType)) {
    throw new GatewayError(
      'invalid_request',
      `${param}: image type '${mime}' is not supported by Anthropic models (use jpeg, png, gif or webp)`,
      { param },
    );
  }
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data } };
}
