/**
 * Token estimates for when an upstream reports no usage (some OpenAI-compatible servers, a
 * stream cut short) and for `/v1/messages/count_tokens`. Costs priced from these are marked
 * 'estimated'.
 *
 * Message overhead follows OpenAI's cookbook ("How to count tokens with tiktoken"): 3 tokens per
 * message (`<|start|>{role}<|message|>…<|end|>`), the role and content text, 1 more for a
 * `name`, and 3 to prime the reply. Images are a flat 85 tokens — the price of a low-detail
 * image; high-detail ones cost more, so this is a floor. Anthropic has no public tokenizer;
 * cl100k_base is used for Claude as a rough stand-in only.
 *
 * Bounded work: text goes to tiktoken in short pieces (tokenizer.ts, linear time), and one
 * estimator spends at most `budgetBytes` (EXACT_BUDGET_BYTES) in all, counted in bytes of prose:
 * a piece is charged what tokenizer.ts says it costs (~1.1× its bytes for prose, up to 4× inside
 * a run without spaces, at least MIN_CHARGE_BYTES a call), so the worst input costs about what
 * the same budget of prose does. Text past the budget is not tokenised: a string that does not fit is estimated from SAMPLE_WINDOWS windows
 * spread over it (sharing what is left of the budget), scaled to its byte length; once the
 * budget is spent, strings are scaled by the tokens-per-byte ratio measured on everything
 * tokenised so far for this request (the calibration), or 1 token per 4 bytes before anything
 * was. On prose the sampled estimate is within a few percent of the exact count (±4% measured,
 * estimate-tokens.test.ts); below the budget prose counts exactly. Create one estimator per
 * request and use it for every string of that request, so the budget covers the request, not
 * each string.
 */
import { type Tiktoken } from 'js-tiktoken/lite';
import { stripProviderPrefix } from './model-id.ts';
import { forEachPiece, loadEncoding, type EncodingName } from './tokenizer.ts';

/**
 * What one estimator may spend, in bytes of prose: ~3,500 tokens of prose counted exactly, a few
 * milliseconds of one core whatever the text (bench/token-estimate.ts, bench/README.md).
 */
export const EXACT_BUDGET_BYTES = 16 * 1024;
/** Windows sampled from a string too long for what is left of the budget. */
export const SAMPLE_WINDOWS = 8;
/** A window shorter than this says little about its string: then the request's ratio is used. */
const MIN_WINDOW_BYTES = 128;
/** Each `encode` call has a fixed cost (regex set-up), charged as if the piece were this long. */
const MIN_CHARGE_BYTES = 8;
/** OpenAI's rule of thumb (~4 characters of English a token), used only before any calibration. */
const DEFAULT_TOKENS_PER_BYTE = 0.25;

const IMAGE_TOKENS = 85;
const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;

/** gpt-4o, gpt-4.1, gpt-4.5, gpt-5*, gpt-oss and the o-series use o200k_base. */
const O200K_MODEL = /^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-4o|o\d)(?:$|[-.])/;

export function encodingForModel(model: string): EncodingName {
  return O200K_MODEL.test(stripProviderPrefix(model)) ? 'o200k_base' : 'cl100k_base';
}

export interface TokenEstimator {
  /** Tokens of a text (special-token text such as "<|endoftext|>" counts as plain text). */
  text(text: string): number;
  /** Prompt tokens of chat messages (OpenAI messages or Anthropic blocks), overhead included. */
  prompt(messages: unknown[]): number;
  /** UTF-8 bytes tokenised so far, and bytes estimated by ratio instead. */
  readonly tokenisedBytes: number;
  readonly extrapolatedBytes: number;
}

export interface TokenEstimatorOptions {
  budgetBytes?: number;
}

/** One estimator per request (or per estimate): its budget bounds the work of all its calls. */
export function createTokenEstimator(model: string, opts: TokenEstimatorOptions = {}): TokenEstimator {
  return new BudgetedEstimator(loadEncoding(encodingForModel(model)), opts.budgetBytes ?? EXACT_BUDGET_BYTES);
}

export function estimateTextTokens(text: string, model: string): number {
  return createTokenEstimator(model).text(text);
}

export function estimatePromptTokens(messages: unknown[], model: string): number {
  return createTokenEstimator(model).prompt(messages);
}

interface Tally {
  tokens: number;
  bytes: number;
}

class BudgetedEstimator implements TokenEstimator {
  #remaining: number;
  /** Everything tokenised so far: the request's calibration. */
  #seen: Tally = { tokens: 0, bytes: 0 };
  #extrapolated = 0;

  constructor(
    private readonly enc: Tiktoken,
    budgetBytes: number,
  ) {
    this.#remaining = budgetBytes;
  }

  get tokenisedBytes(): number {
    return this.#seen.bytes;
  }

  get extrapolatedBytes(): number {
    return this.#extrapolated;
  }

  text(text: string): number {
    if (text === '') return 0;
    const size = Buffer.byteLength(text, 'utf8');
    if (size <= this.#remaining) {
      const done = this.#tokenise(text);
      if (done.bytes === size) return done.tokens;
      // The per-call charge ran the budget out part-way: scale what was seen of this string.
      return done.tokens + this.#scale(size - done.bytes, done);
    }
    return this.#sample(text, size);
  }

  prompt(messages: unknown[]): number {
    return promptTokens(messages, (text) => this.text(text));
  }

  /** Tokenises pieces of `text` from its start while `cap` (at most what is left of the budget) lasts. */
  #tokenise(text: string, cap = this.#remaining): Tally {
    const tally: Tally = { tokens: 0, bytes: 0 };
    let left = Math.min(cap, this.#remaining);
    forEachPiece(text, (start, end, bytes, work) => {
      const charge = Math.max(work, MIN_CHARGE_BYTES);
      if (charge > left) return false;
      left -= charge;
      this.#remaining -= charge;
      tally.tokens += this.enc.encode(text.slice(start, end), [], []).length;
      tally.bytes += bytes;
      return true;
    });
    this.#seen.tokens += tally.tokens;
    this.#seen.bytes += tally.bytes;
    return tally;
  }

  /**
   * A string longer than the budget left: windows spread evenly over it share that budget (each
   * capped at its share, so a costly run in one window cannot starve the rest), and their tokens
   * per byte scale to the whole string. Sampling across the string (not a prefix) keeps mixed
   * content — prose, then a base64 blob — represented.
   */
  #sample(text: string, size: number): number {
    const share = Math.floor(this.#remaining / SAMPLE_WINDOWS);
    if (share < MIN_WINDOW_BYTES) return this.#scale(size);
    // Window lengths in characters, from the string's mean bytes per character.
    const chars = Math.max(1, Math.floor((share * text.length) / size));
    const stride = text.length / SAMPLE_WINDOWS;
    const sampled: Tally = { tokens: 0, bytes: 0 };
    for (let k = 0; k < SAMPLE_WINDOWS; k++) {
      const from = charBoundary(text, Math.max(0, Math.floor((k + 0.5) * stride - chars / 2)));
      const to = charBoundary(text, Math.min(text.length, from + chars));
      const done = this.#tokenise(text.slice(from, to), Math.floor(this.#remaining / (SAMPLE_WINDOWS - k)));
      sampled.tokens += done.tokens;
      sampled.bytes += done.bytes;
    }
    return sampled.tokens + this.#scale(size - sampled.bytes, sampled);
  }

  /** Tokens for `bytes` not tokenised: at the ratio of `basis` when it is big enough, else the request's. */
  #scale(bytes: number, basis?: Tally): number {
    if (bytes <= 0) return 0;
    const ratio =
      basis && basis.bytes >= MIN_WINDOW_BYTES
        ? basis.tokens / basis.bytes
        : this.#seen.bytes > 0
          ? this.#seen.tokens / this.#seen.bytes
          : DEFAULT_TOKENS_PER_BYTE;
    this.#extrapolated += bytes;
    return Math.max(1, Math.round(ratio * bytes));
  }

}

/**
 * An upper bound of `createTokenEstimator(model).prompt(messages)` for every model, without
 * tokenising: each text counts its UTF-8 bytes (a BPE token of o200k_base or cl100k_base is at
 * least one byte, and what the estimator extrapolates is at most a token a byte), everything
 * else as the estimator counts it. Microseconds where the estimate takes tens to hundreds
 * (bench/policy-path.ts); a few times the estimate for prose (~4 bytes a token in English).
 */
export function promptTokenBound(messages: unknown[]): number {
  return promptTokens(messages, utf8Bytes);
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Prompt tokens of chat messages, each text counted by `text`: the one walk the estimate and the bound share. */
function promptTokens(messages: unknown[], text: (text: string) => number): number {
  let total = REPLY_PRIMING;
  for (const message of messages) {
    total += PER_MESSAGE;
    if (!isRecord(message)) continue;
    if (typeof message.role === 'string') total += text(message.role);
    if (typeof message.name === 'string') total += text(message.name) + PER_NAME;
    total += contentTokens(message.content, text);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = isRecord(call) ? call.function : undefined;
        if (!isRecord(fn)) continue;
        if (typeof fn.name === 'string') total += text(fn.name);
        if (typeof fn.arguments === 'string') total += text(fn.arguments);
      }
    }
  }
  return total;
}

/** OpenAI content parts and Anthropic content blocks; unknown parts count only their `text`. */
function contentTokens(content: unknown, text: (text: string) => number): number {
  if (typeof content === 'string') return text(content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (typeof part === 'string') {
      total += text(part);
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
        if (typeof part.name === 'string') total += text(part.name);
        total += text(JSON.stringify(part.input ?? {}));
        break;
      case 'tool_result':
        total += contentTokens(part.content, text);
        break;
      case 'thinking':
        if (typeof part.thinking === 'string') total += text(part.thinking);
        break;
      default:
        if (typeof part.text === 'string') total += text(part.text);
    }
  }
  return total;
}

/** `i`, moved forward off the second half of a surrogate pair. */
function charBoundary(text: string, i: number): number {
  return i > 0 && i < text.length && (text.charCodeAt(i) & 0xfc00) === 0xdc00 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i + 1 : i;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
