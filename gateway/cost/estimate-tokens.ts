/**
 * Token estimates for when an upstream reports no usage (some OpenAI-compatible servers, a
 * stream cut short). Costs priced from these are marked 'estimated'.
 *
 * Message overhead follows OpenAI's cookbook ("How to count tokens with tiktoken"): 3 tokens per
 * message (`<|start|>{role}<|message|>…<|end|>`), the role and content text, 1 more for a
 * `name`, and 3 to prime the reply. Images are a flat 85 tokens — the price of a low-detail
 * image; high-detail ones cost more, so this is a floor. Anthropic has no public tokenizer;
 * cl100k_base is used for Claude as a rough stand-in only.
 */
import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { stripProviderPrefix } from './model-id.ts';

type EncodingName = 'o200k_base' | 'cl100k_base';

const IMAGE_TOKENS = 85;
const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;

/** gpt-4o, gpt-4.1, gpt-4.5, gpt-5*, gpt-oss and the o-series use o200k_base. */
const O200K_MODEL = /^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-4o|o\d)(?:$|[-.])/;

export function encodingForModel(model: string): EncodingName {
  return O200K_MODEL.test(stripProviderPrefix(model)) ? 'o200k_base' : 'cl100k_base';
}

// The rank files are megabytes of base64 and take a noticeable time to decode, so each is
// loaded on first use, synchronously through `require` (estimates are synchronous), and kept.
const requireCjs = createRequire(import.meta.url);
const encoders = new Map<EncodingName, Tiktoken>();

function encoder(name: EncodingName): Tiktoken {
  let enc = encoders.get(name);
  if (enc === undefined) {
    enc = new Tiktoken(requireCjs(`js-tiktoken/ranks/${name}`) as TiktokenBPE);
    encoders.set(name, enc);
  }
  return enc;
}

// Special-token text such as "<|endoftext|>" in user input is counted as ordinary text rather
// than rejected: this is an estimate, not a request to the model.
const count = (enc: Tiktoken, text: string): number => (text === '' ? 0 : enc.encode(text, [], []).length);

export function estimateTextTokens(text: string, model: string): number {
  return count(encoder(encodingForModel(model)), text);
}

export function estimatePromptTokens(messages: unknown[], model: string): number {
  const enc = encoder(encodingForModel(model));
  let total = REPLY_PRIMING;
  for (const message of messages) {
    total += PER_MESSAGE;
    if (!isRecord(message)) continue;
    if (typeof message.role === 'string') total += count(enc, message.role);
    if (typeof message.name === 'string') total += count(enc, message.name) + PER_NAME;
    total += contentTokens(enc, message.content);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = isRecord(call) ? call.function : undefined;
        if (!isRecord(fn)) continue;
        if (typeof fn.name === 'string') total += count(enc, fn.name);
        if (typeof fn.arguments === 'string') total += count(enc, fn.arguments);
      }
    }
  }
  return total;
}

/** OpenAI content parts and Anthropic content blocks; unknown parts count only their `text`. */
function contentTokens(enc: Tiktoken, content: unknown): number {
  if (typeof content === 'string') return count(enc, content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (typeof part === 'string') {
      total += count(enc, part);
      continue;
    }
    if (!isRecord(part)) continue;
    switch (part.type) {
      case 'image_url':
      case 'image':
      case 'input_image':
        total += IMAGE_TOKENS;
        break;
      case 'tool_use':
        if (typeof part.name === 'string') total += count(enc, part.name);
        total += count(enc, JSON.stringify(part.input ?? {}));
        break;
      case 'tool_result':
        total += contentTokens(enc, part.content);
        break;
      case 'thinking':
        if (typeof part.thinking === 'string') total += count(enc, part.thinking);
        break;
      default:
        if (typeof part.text === 'string') total += count(enc, part.text);
    }
  }
  return total;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
