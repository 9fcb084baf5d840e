import { afterEach, describe, expect, it, vi } from 'vitest';
import { proseParagraphs, runWithoutSpaces } from '../../test/helpers/text-samples.ts';
import { encodeBounded, forEachPiece, loadEncoding, MAX_PIECE_BYTES, type EncodingName } from './tokenizer.ts';

const ENCODINGS: EncodingName[] = ['o200k_base', 'cl100k_base'];
const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

interface Piece {
  text: string;
  bytes: number;
}

function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  forEachPiece(text, (start, end, bytes) => {
    out.push({ text: text.slice(start, end), bytes });
  });
  return out;
}

/** Every argument `encode` is called with while `fn` runs. */
function encodeCalls(name: EncodingName, fn: () => void): string[] {
  const enc = loadEncoding(name);
  const spy = vi.spyOn(enc, 'encode');
  try {
    fn();
    return spy.mock.calls.map((args) => args[0]);
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('forEachPiece', () => {
  const samples: Array<[string, string]> = [
    ['a 200K run of letters', runWithoutSpaces(200_000)],
    ['one letter 200K times', 'a'.repeat(200_000)],
    ['a CJK run (3 bytes a character)', '你好世界我们的朋友今天天气很好'.repeat(4_000)],
    ['an emoji run (surrogate pairs, 4 bytes)', '🦀🌍👍🏽'.repeat(10_000)],
    ['two-byte letters with a lone surrogate', `${'é'.repeat(50)}\ud800${'ß'.repeat(50)}`.repeat(100)],
    ['200K of whitespace', ' \n\t'.repeat(70_000)],
    ['prose', proseParagraphs().slice(0, 200).join('\n\n')],
  ];

  it.each(samples)('covers %s exactly in pieces of at most MAX_PIECE_BYTES, never splitting a character', (_, text) => {
    const ps = pieces(text);
    expect(ps.map((p) => p.text).join('')).toBe(text);
    for (const p of ps) {
      expect(p.bytes).toBe(utf8(p.text));
      expect(p.bytes).toBeGreaterThan(0);
      expect(p.bytes).toBeLessThanOrEqual(MAX_PIECE_BYTES);
    }
  });

  it('cuts a run without spaces into full pieces: ceil(bytes / MAX_PIECE_BYTES) of them', () => {
    const text = runWithoutSpaces(200_000);
    const ps = pieces(text);
    expect(ps).toHaveLength(Math.ceil(200_000 / MAX_PIECE_BYTES));
    expect(ps.slice(0, -1).every((p) => p.bytes === MAX_PIECE_BYTES)).toBe(true);
  });

  it('never separates the two halves of a surrogate pair', () => {
    const text = `x${'🦀'.repeat(5_000)}`;
    for (const p of pieces(text)) {
      expect(/[\ud800-\udbff]$/.test(p.text)).toBe(false);
      expect(/^[\udc00-\udfff]/.test(p.text)).toBe(false);
    }
  });

  it('reports the work of a piece: about its bytes for prose, 4× inside a run with nowhere to cut', () => {
    const total = (text: string) => {
      let bytes = 0;
      let work = 0;
      forEachPiece(text, (_s, _e, b, w) => {
        bytes += b;
        work += w;
      });
      return work / bytes;
    };
    expect(total(runWithoutSpaces(300 * MAX_PIECE_BYTES))).toBe(MAX_PIECE_BYTES / 8);
    const prose = total(proseParagraphs().join('\n\n'));
    expect(prose).toBeGreaterThanOrEqual(1);
    expect(prose).toBeLessThan(1.2);
  });

  it('stops when the callback returns false', () => {
    let calls = 0;
    forEachPiece(runWithoutSpaces(10_000), () => ++calls < 3);
    expect(calls).toBe(3);
  });
});

describe('encodeBounded', () => {
  it.each(ENCODINGS)('hands a 200K-character run to %s only in pieces of at most MAX_PIECE_BYTES, each byte once', (name) => {
    const text = runWithoutSpaces(200_000);
    let tokens: number[] = [];
    const calls = encodeCalls(name, () => {
      tokens = encodeBounded(loadEncoding(name), text);
    });
    const sizes = calls.map(utf8);
    // Byte-pair merging is quadratic only within one call: with every call ≤ MAX_PIECE_BYTES the
    // work is at most a constant per piece, and the pieces add up to the text exactly once.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_PIECE_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200_000);
    expect(calls).toHaveLength(Math.ceil(200_000 / MAX_PIECE_BYTES));
    // Still a tokenisation of the text: the tokens decode back to it.
    expect(loadEncoding(name).decode(tokens)).toBe(text);
    expect(tokens.length).toBeGreaterThan(200_000 / MAX_PIECE_BYTES);
  });

  it.each(ENCODINGS)('tokenises English prose exactly as one %s encode call does', (name) => {
    const enc = loadEncoding(name);
    // Prose: the fixture's paragraphs whose words all fit in a piece (a handful of long
    // non-Latin names are left out; inside such a run the count is an estimate by design).
    const paragraphs = proseParagraphs();
    const ordinary = paragraphs.filter((p) => p.split(/\s+/).every((w) => utf8(w) < MAX_PIECE_BYTES - 1));
    expect(ordinary.length).toBeGreaterThan(paragraphs.length * 0.95);
    const text = ordinary.join('\n\n');
    expect(utf8(text)).toBeGreaterThan(200_000);
    expect(encodeBounded(enc, text)).toEqual(enc.encode(text, [], []));
  });

  it.each(ENCODINGS)('agrees with %s on the places its pre-tokeniser is easiest to get wrong', (name) => {
    const enc = loadEncoding(name);
    const cases = [
      'Hello, world!\n\nIt\'s 3:45pm — the U.S.A. costs $1,234.56 (approx.); see https://example.com/docs/guide?x=1&y=2.',
      'function add(a, b) {\n    return a + b; // sum\n}\r\n\r\n\tindent\n\n\n  spaced   out  words\u00a0nbsp',
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}],"temperature":0.2,"n":12345678}',
      "I'm sure they'll say we've done it; don't you think? You'd know, it's HE'S and SHE'LL too.",
      'Ünïcödé naïve café — 東京 is 2024年 and 12,345 people; ½ of them, 3rd place, 1st prize.',
      'snake_case_identifier camelCaseIdentifier SCREAMING_CASE path/to/file.ts:42:7 v1.2.3-beta+build',
      '- item one.\n- item two:\n  1. nested\n\n> quote\n\n```ts\nconst x = 1;\n```\n',
    ];
    for (const text of cases) expect(encodeBounded(enc, text), text).toEqual(enc.encode(text, [], []));
  });

  it('encodes special-token text as plain text instead of throwing', () => {
    const enc = loadEncoding('o200k_base');
    expect(encodeBounded(enc, 'a <|endoftext|> b')).toEqual(enc.encode('a <|endoftext|> b', [], []));
  });
});
