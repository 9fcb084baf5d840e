import type { Tiktoken } from 'js-tiktoken/lite';
import { encodeBounded, loadEncoding } from '../cost/tokenizer.ts';

/**
 * Token chunking for ingest. cl100k_base is the tokenizer of OpenAI's embeddings models
 * (text-embedding-3-*), which is what chunk sizes are usually chosen for. Text is encoded in
 * bounded pieces (cost/tokenizer.ts), so a long run without spaces in a document costs linear
 * time, not the minutes plain tiktoken spends on it; chunks need every token, so there is no
 * budget here — ingest is operator-fed and its documents are capped by the ingest API.
 */
const enc = (): Tiktoken => loadEncoding('cl100k_base');

export interface ChunkOptions {
  chunkTokens: number;
  overlapTokens: number;
}

export function countTokens(text: string): number {
  return text === '' ? 0 : encodeBounded(enc(), text).length;
}

/**
 * Splits text into chunks of at most `chunkTokens` tokens, each starting `overlapTokens`
 * tokens before the previous one ended, so a sentence cut at a boundary appears whole in one
 * of them. Boundaries move back (by at most a quarter of a chunk) to the start of a word, so
 * words — and multi-byte characters, which span several tokens — are never split. A text that
 * fits is returned as is.
 */
export function chunkText(text: string, { chunkTokens, overlapTokens }: ChunkOptions): string[] {
  if (!(chunkTokens >= 8)) throw new RangeError('chunkTokens must be at least 8');
  if (!(overlapTokens >= 0 && overlapTokens <= chunkTokens / 2)) throw new RangeError('overlapTokens must be between 0 and chunkTokens / 2');
  const e = enc();
  const tokens = encodeBounded(e, text);
  if (tokens.length <= chunkTokens) return text.trim() === '' ? [] : [text.trim()];
  const startsWord = wordStarts(e, tokens);
  const slack = Math.floor(chunkTokens / 4);
  const chunks: string[] = [];
  let start = 0;
  for (;;) {
    let end = Math.min(start + chunkTokens, tokens.length);
    if (end < tokens.length) end = boundaryAtOrBefore(startsWord, end, end - slack);
    const piece = e.decode(tokens.slice(start, end)).trim();
    if (piece !== '') chunks.push(piece);
    if (end >= tokens.length) return chunks;
    const next = end - overlapTokens;
    start = overlapTokens === 0 ? end : Math.max(boundaryAtOrBefore(startsWord, next, next - slack), start + 1);
  }
}

/** For each token: does it begin a word (starts with whitespace, or follows a newline)? */
function wordStarts(e: Tiktoken, tokens: number[]): boolean[] {
  const cache = new Map<number, string>();
  const text = (t: number) => {
    let s = cache.get(t);
    if (s === undefined) cache.set(t, (s = e.decode([t])));
    return s;
  };
  return tokens.map((t, i) => i === 0 || /^\s/.test(text(t)) || /\n$/.test(text(tokens[i - 1]!)));
}

/** The last word start in (floor, at]; `at` itself when there is none. */
function boundaryAtOrBefore(startsWord: boolean[], at: number, floor: number): number {
  for (let i = at; i > floor && i > 0; i--) if (startsWord[i]) return i;
  return at;
}
