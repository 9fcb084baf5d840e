import { canonicalNumber, fold, stem } from './normalize.ts';
import { NAME_CONNECTORS, NUMBER_WORDS, STOPWORDS } from './stopwords.ts';

/**
 * Checkable content of a text, claim by claim: numbers, named entities (runs of capitalised
 * words, codes like "C2H5OH"), content words, and negation (a negated claim needs a source that
 * negates something; a bare "no" answer is not a claim). Function words are not units.
 */
export type UnitKind = 'number' | 'entity' | 'word' | 'negation';

export interface Unit {
  kind: UnitKind;
  /** As written (for reasons and details). */
  text: string;
  /** number: canonical digits; entity: lowercased tokens; word: its stem. */
  key: string[];
}

export interface Claim {
  text: string;
  units: Unit[];
}

const TOKEN = /\d+(?:[.,]\d+)+|[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*|[.!?;]/g;
const NUMERIC = /^\d+(?:[.,]\d+)*$/;
const HAS_DIGIT = /\d/;
const HAS_ALPHA = /[A-Za-z]/;
const NEGATORS = new Set(['not', 'no', 'never', 'neither', 'nor', 'none', 'cannot', 'nobody', 'nothing']);
const isNegator = (t: Token): boolean => NEGATORS.has(t.lower) || t.lower.endsWith("n't");

interface Token {
  raw: string;
  lower: string;
  end: boolean;
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of fold(text).matchAll(TOKEN)) {
    const raw = m[0];
    // "U.S." style initials do not end a sentence.
    const prev = out[out.length - 1];
    const end = /^[.!?;]$/.test(raw) && !(raw === '.' && prev && /^[A-Z]$/.test(prev.raw));
    out.push({ raw, lower: raw.toLowerCase(), end });
  }
  return out;
}

/** Digits, or a number word written in lowercase ("First for Women" is a name, not 1). */
function isNumberToken(t: Token): boolean {
  return NUMERIC.test(t.raw) || NUMBER_WORDS.has(t.raw);
}

function numberKey(t: Token): string {
  return NUMBER_WORDS.get(t.lower) ?? canonicalNumber(t.raw);
}

function isNameToken(t: Token, claimInitial: boolean): boolean {
  if (HAS_DIGIT.test(t.raw) && HAS_ALPHA.test(t.raw)) return true; // codes: C2H5OH, F-16, 1990s
  if (!/^[A-Z]/.test(t.raw)) return false;
  if (STOPWORDS.has(t.lower)) return false;
  // A capitalised first word is only a name when it would not be a plain word anyway; we cannot
  // know without a lexicon, so it counts (a missed common word costs one unit).
  return claimInitial ? t.raw.length > 1 : true;
}

/** Splits a text into claims (sentences and semicolon clauses) and their units. */
export function claimsOf(text: string): Claim[] {
  const toks = tokens(text);
  const claims: Claim[] = [];
  let current: Token[] = [];
  const flush = () => {
    if (current.length) claims.push(claimFrom(current));
    current = [];
  };
  for (const t of toks) {
    if (t.end) flush();
    else current.push(t);
  }
  flush();
  return claims;
}

function claimFrom(toks: Token[]): Claim {
  const units: Unit[] = [];
  let negated: Token | undefined;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (isNegator(t)) {
      negated ??= t;
      continue;
    }
    if (isNumberToken(t)) {
      units.push({ kind: 'number', text: t.raw, key: [numberKey(t)] });
      continue;
    }
    if (isNameToken(t, i === 0)) {
      const run: Token[] = [t];
      let j = i + 1;
      while (j < toks.length) {
        const n = toks[j]!;
        if (isNameToken(n, false)) {
          run.push(n);
          j++;
        } else if (NAME_CONNECTORS.has(n.lower) && toks[j + 1] && isNameToken(toks[j + 1]!, false)) {
          run.push(n, toks[j + 1]!);
          j += 2;
        } else break;
      }
      units.push({ kind: 'entity', text: run.map((r) => r.raw).join(' '), key: run.map((r) => r.lower.replace(/'s$/, '')) });
      i = j - 1;
      continue;
    }
    if (STOPWORDS.has(t.lower) || t.lower.length < 2) continue;
    units.push({ kind: 'word', text: t.raw, key: [stem(t.lower)] });
  }
  if (negated && units.length > 0) units.push({ kind: 'negation', text: negated.raw, key: ['not'] });
  return { text: toks.map((t) => t.raw).join(' '), units };
}

/** What a source text offers as support: word stems, numbers, and its token stream for phrases. */
export interface SupportIndex {
  stems: Set<string>;
  numbers: Set<string>;
  /** Lowercased tokens joined by single spaces, padded: ` a b c `. */
  phrase: string;
  negation: boolean;
}

export function supportIndex(...texts: string[]): SupportIndex {
  const stems = new Set<string>();
  const numbers = new Set<string>();
  const words: string[] = [];
  let negation = false;
  for (const text of texts) {
    for (const t of tokens(text)) {
      if (t.end) continue;
      if (isNegator(t)) negation = true;
      const lower = t.lower.replace(/'s$/, '');
      words.push(lower);
      stems.add(stem(lower));
      for (const part of lower.split('-')) stems.add(stem(part));
      if (NUMERIC.test(t.raw) || NUMBER_WORDS.has(t.lower)) numbers.add(numberKey(t));
    }
  }
  return { stems, numbers, phrase: ` ${words.join(' ')} `, negation };
}

/** How far a unit is supported, in [0, 1]. */
export function unitSupport(u: Unit, idx: SupportIndex): number {
  switch (u.kind) {
    case 'number':
      return idx.numbers.has(u.key[0]!) ? 1 : 0;
    case 'word':
      return idx.stems.has(u.key[0]!) ? 1 : 0;
    case 'negation':
      return idx.negation ? 1 : 0;
    case 'entity': {
      if (idx.phrase.includes(` ${u.key.join(' ')} `)) return 1;
      const parts = u.key.filter((k) => !NAME_CONNECTORS.has(k));
      if (parts.length === 0) return 1;
      // Every word present but never together ("Lord Black of London") is a recombination,
      // not support: such a name gets at most half credit.
      const found = parts.filter((k) => idx.stems.has(stem(k)) || idx.phrase.includes(` ${k} `)).length;
      return (0.5 * found) / parts.length;
    }
  }
}
