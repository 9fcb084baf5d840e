import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHashJson } from './canonical-json.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';

/** The first prompt-hash implementation (prompts/canonical.ts before this file), kept as the reference. */
function firstContentJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[key];
      if (x !== undefined) out[key] = sortKeys(x);
    }
    return out;
  };
  return JSON.stringify(sortKeys(value));
}

const KEYS = ['a', 'B', 'z', '__proto__', 'ü', '', 'a b', '\u2028', 'constructor', 'toJSON', '0', '2', '10', '01', '-1', '1e3', '50256', '4294967294', '4294967295'];
const STRINGS = ['', 'x"y', 'ü\u2028', '\ud83d\ude00', '\\n', '{{var}}'];
const NUMBERS = [0, -0, 1, -1.5, 1.5e-7, 1e21, 123456789012345680000, 0.1 + 0.2];

/** A random JSON text: objects as JSON.parse builds them, so a "__proto__" key is an own key. */
function randomJsonText(next: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const r = next();
  if (depth === 0 || r < 0.3) {
    const leaf = next();
    if (leaf < 0.3) return JSON.stringify(pick(STRINGS));
    if (leaf < 0.6) return JSON.stringify(pick(NUMBERS));
    return pick(['true', 'false', 'null']);
  }
  const n = Math.floor(next() * 4);
  const parts = Array.from({ length: n }, () => randomJsonText(next, depth - 1));
  if (r < 0.6) return `[${parts.join(',')}]`;
  return `{${parts.map((p) => `${JSON.stringify(pick(KEYS))}:${p}`).join(',')}}`;
}

describe('canonicalJson', () => {
  it('sorts keys recursively, keeps array order, drops undefined and writes JSON numbers', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: undefined, m: null }], a: 1.5e-7, c: 'x"y', d: -0, e: Number.NaN })).toBe(
      '{"a":1.5e-7,"b":[3,{"m":null,"z":1}],"c":"x\\"y","d":0,"e":null}',
    );
    expect(canonicalJson([undefined, () => 1])).toBe('[null,null]');
    expect(canonicalJson(undefined)).toBeUndefined();
  });

  it('agrees with JSON.stringify on key-sorted input', () => {
    const value = { a: [1, 'two', { b: true, c: null }], d: { e: 'ü\u2028' } };
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });

  it('keeps an own "__proto__" key like any other', () => {
    expect(canonicalJson(JSON.parse('{"b":{"__proto__":{"x":1}},"a":1}'))).toBe('{"a":1,"b":{"__proto__":{"x":1}}}');
  });

  it('writes text that parses back to an equal value', () => {
    const next = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const text = randomJsonText(next, 4);
      expect(JSON.parse(canonicalJson(JSON.parse(text)) ?? 'null')).toEqual(JSON.parse(text));
    }
  });
});

describe('contentHashJson', () => {
  it('leaves out own "__proto__" keys, at every depth', () => {
    expect(contentHashJson(JSON.parse('{"b":{"__proto__":{"x":1},"k":2},"a":[{"__proto__":null}]}'))).toBe('{"a":[{}],"b":{"k":2}}');
  });

  it('lists array-index keys first, in numeric order, as an object lists them', () => {
    const bias = { logit_bias: { '50256': -100, '198': 5, '0': 1, '01': 2, b: 3, '4294967295': 4 } };
    expect(contentHashJson(bias)).toBe('{"logit_bias":{"0":1,"198":5,"50256":-100,"01":2,"4294967295":4,"b":3}}');
    expect(canonicalJson(bias)).toBe('{"logit_bias":{"0":1,"01":2,"198":5,"4294967295":4,"50256":-100,"b":3}}');
    expect(contentHashJson(bias)).toBe(firstContentJson(bias));
  });

  it('writes exactly what the first prompt-hash implementation wrote, so stored hashes still match', () => {
    const next = seededRandom(42);
    for (let i = 0; i < 2_000; i++) {
      const value: unknown = JSON.parse(randomJsonText(next, 5));
      expect(contentHashJson(value)).toBe(firstContentJson(value));
    }
    const odd = { s: 'ü\u2028', n: [Number.NaN, -0, Infinity], u: undefined, f: () => 1, list: [undefined, () => 1], d: new Date(0) };
    expect(contentHashJson(odd)).toBe(firstContentJson(odd));
  });

  it('is canonicalJson wherever no "__proto__" or array-index key is present', () => {
    const next = seededRandom(3);
    for (let i = 0; i < 500; i++) {
      const text = randomJsonText(next, 5);
      if (/"(__proto__|0|[1-9]\d*)":/.test(text)) continue;
      const value: unknown = JSON.parse(text);
      expect(contentHashJson(value)).toBe(canonicalJson(value));
    }
  });
});
