import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

/**
 * tiktoken with bounded work per call. js-tiktoken's byte-pair merge is quadratic in the length
 * of one pre-tokenised piece (each merge rescans every pair), and a run without spaces is one
 * piece: 40,000 letters took two minutes on one core. So text is handed to `encode` in pieces
 * of at most MAX_PIECE_BYTES UTF-8 bytes, cut where tiktoken's own pre-tokeniser always cuts
 * (so ordinary text counts exactly) and, only inside a run with no such place, wherever the
 * limit falls. Every call then does a bounded amount of work (regex and merges over at most
 * MAX_PIECE_BYTES), so encoding is linear in the text (bench/token-estimate.ts), and each piece
 * says what it costs so callers can budget it. A cut inside a run may add a token or two per
 * cut: the count is then an estimate, never a stall.
 */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * Longest string handed to tiktoken in one call. 32 keeps words, numbers and most identifiers
 * whole (prose counts exactly) while a worst-case run costs only a few times what prose does.
 */
export const MAX_PIECE_BYTES = 32;

// The rank files are megabytes of base64 and take ~1 s to decode, so each is loaded on first
// use, synchronously through `require` (estimates are synchronous), and kept for the process.
const requireCjs = createRequire(import.meta.url);
const encoders = new Map<EncodingName, Tiktoken>();

export function loadEncoding(name: EncodingName): Tiktoken {
  let enc = encoders.get(name);
  if (enc === undefined) {
    enc = new Tiktoken(requireCjs(`js-tiktoken/ranks/${name}`) as TiktokenBPE);
    encoders.set(name, enc);
  }
  return enc;
}

/** What JavaScript's (and so tiktoken's) `\s` matches: ECMA-262 WhiteSpace and LineTerminator. */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const LETTER = 1;
const DIGIT = 2;
const PUNCT = 3;
/** ASCII letter, digit or punctuation; 0 for anything else (whitespace, non-ASCII). */
function asciiClass(c: number): number {
  if (c >= 0x61 ? c <= 0x7a : c >= 0x41 && c <= 0x5a) return LETTER;
  if (c >= 0x30 && c <= 0x39) return DIGIT;
  return c > 32 && c < 127 ? PUNCT : 0;
}

/**
 * Where the piece that holds `c` (at index i) may start, given the character before it: i, i - 1
 * (keeping the space before a word with it), or -1 for nowhere. These are places every match of
 * both encodings' pre-tokeniser pattern (cl100k_base, o200k_base) begins at:
 * - before the whitespace that precedes a non-space character, unless it is a line break
 *   (`\s+(?!\S)` leaves that last space to the word: " word");
 * - after a line break followed by a non-space (`\s*[\r\n]+` and the `[\r\n]*` after
 *   punctuation end at the break; nothing else starts with one);
 * - between ASCII letters and digits either way (`\p{L}+` and `\p{N}{1,3}` are separate), and
 *   from a letter or digit to punctuation other than "'" (o200k keeps "'s" with its word).
 */
function pieceStart(prev: number, c: number, i: number): number {
  if (isSpace(c)) return -1;
  if (isSpace(prev)) return prev === 10 || prev === 13 ? i : i - 1;
  const a = asciiClass(prev);
  const b = asciiClass(c);
  if (a === 0 || b === 0 || a === b || a === PUNCT) return -1;
  return b === PUNCT && c === 0x27 ? -1 : i;
}

/**
 * Byte-pair merging is quadratic in the length of one pre-token: a stretch of `len` bytes with no
 * place to cut (see pieceStart) costs about len² / SHORT_STRETCH_BYTES merge steps, and words of
 * prose (shorter than that) about one a byte. `work` below is that sum, in bytes of prose.
 */
const SHORT_STRETCH_BYTES = 8;
const stretchWork = (len: number): number => (len <= SHORT_STRETCH_BYTES ? len : Math.ceil((len * len) / SHORT_STRETCH_BYTES));

/**
 * Calls `each(start, end, bytes, work)` for consecutive slices of `text` that cover it exactly,
 * each at most `maxBytes` UTF-8 bytes (a lone surrogate counted as the 3 bytes TextEncoder
 * writes) and never splitting a surrogate pair. Each slice ends at the last place in its window
 * where a pre-token starts (see pieceStart), else at the limit. `work` is what encoding the slice
 * costs in bytes of prose: about its bytes for ordinary text (1.1× measured), up to 4× that
 * inside a run without a place to cut. Returning false from `each` stops the walk. Linear: each character is looked at
 * most twice.
 */
export function forEachPiece(
  text: string,
  each: (start: number, end: number, bytes: number, work: number) => boolean | void,
  maxBytes = MAX_PIECE_BYTES,
): void {
  const n = text.length;
  let start = 0;
  while (start < n) {
    let bytes = 0;
    let i = start;
    let cut = -1;
    let cutBytes = 0;
    let cutWork = 0;
    let work = 0;
    let stretchFrom = 0;
    let prev = -1;
    let prevWidth = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
      if (bytes + w > maxBytes && i > start) break;
      if (prev >= 0) {
        const at = pieceStart(prev, c, i);
        if (at >= 0) {
          const atBytes = at === i ? bytes : bytes - prevWidth;
          work += stretchWork(atBytes - stretchFrom);
          stretchFrom = atBytes;
          if (at > start) {
            cut = at;
            cutBytes = atBytes;
            cutWork = work;
          }
        }
      }
      prev = c;
      prevWidth = w;
      bytes += w;
      i += pair ? 2 : 1;
    }
    const whole = i >= n || cut <= start;
    const end = whole ? i : cut;
    if (each(start, end, whole ? bytes : cutBytes, whole ? work + stretchWork(bytes - stretchFrom) : cutWork) === false) return;
    start = end;
  }
}

/**
 * Every token of `text`, encoded piece by piece (see forEachPiece). Concatenated, the pieces'
 * tokens decode back to `text` exactly; they may differ from one `encode` call only inside runs
 * longer than a piece. Special-token text such as "<|endoftext|>" is encoded as plain text.
 */
export function encodeBounded(enc: Tiktoken, text: string): number[] {
  const out: number[] = [];
  forEachPiece(text, (start, end) => {
    for (const t of enc.encode(text.slice(start, end), [], [])) out.push(t);
  });
  return out;
}
