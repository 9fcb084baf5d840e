/**
 * Texts for tokenizer tests and bench/token-estimate.ts: English prose from the HaluEval
 * fixture (Wikipedia paragraphs and questions, see test/fixtures/halueval/NOTE.md) and the
 * input that made js-tiktoken quadratic, a long run of letters without spaces.
 */
import { readFileSync } from 'node:fs';

const FIXTURE = new URL('../fixtures/halueval/qa-one-turn.jsonl', import.meta.url);

/** The fixture's paragraphs and questions, one string each, in file order. */
export function proseParagraphs(): string[] {
  const out: string[] = [];
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as { knowledge: string; question: string };
    out.push(row.knowledge, row.question);
  }
  return out;
}

/** `chars` characters of English prose (paragraphs joined by blank lines, repeated as needed). */
export function prose(chars: number): string {
  const all = proseParagraphs().join('\n\n');
  return all.repeat(Math.ceil(chars / all.length)).slice(0, chars);
}

/** `chars` lowercase letters with no space, from a fixed-seed generator (so no two runs differ). */
export function runWithoutSpaces(chars: number, seed = 1): string {
  let x = seed >>> 0 || 1;
  const codes = new Uint8Array(chars);
  for (let i = 0; i < chars; i++) {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    codes[i] = 97 + ((x >>> 0) % 26);
  }
  return Buffer.from(codes).toString('latin1');
}
