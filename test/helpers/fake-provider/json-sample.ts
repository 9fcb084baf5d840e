/** A deterministic JSON value that fits a JSON Schema: what the fake model "writes" for tools and structured outputs. */
import { countWords, isRecord } from './text.ts';

type Schema = Record<string, unknown>;

/** Nesting (and $ref hops) followed before giving up with null: schemas may be recursive. */
const MAX_DEPTH = 16;

/**
 * Rules (documented in ../fake-provider.ts): strings are `text`, numbers and integers the word
 * count of `text`, booleans true, arrays `max(1, minItems)` items, `enum` its first value,
 * `const` itself, anyOf/oneOf/allOf their first branch, a type list its first non-null type,
 * `$ref` to `#/$defs/…` or `#/definitions/…` resolved from the root; an object gets every
 * declared property, and an object that declares none is `{answer: reply}`.
 */
export function sampleJson(schema: unknown, text: string, reply: string): unknown {
  const root = isRecord(schema) ? schema : {};
  const walk = (s: unknown, depth: number): unknown => {
    if (!isRecord(s) || depth > MAX_DEPTH) return null;
    if ('const' in s) return s['const'];
    if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
    if (typeof s['$ref'] === 'string') return walk(resolve(root, s['$ref']), depth + 1);
    for (const k of ['anyOf', 'oneOf', 'allOf']) {
      const branches = s[k];
      if (Array.isArray(branches) && branches.length > 0) return walk(branches[0], depth + 1);
    }
    switch (typeOf(s)) {
      case 'string':
        return text;
      case 'number':
      case 'integer':
        return countWords(text);
      case 'boolean':
        return true;
      case 'null':
        return null;
      case 'array': {
        const min = typeof s['minItems'] === 'number' ? s['minItems'] : 1;
        return Array.from({ length: Math.min(Math.max(1, min), 8) }, () => walk(s['items'], depth + 1));
      }
      default: {
        const props = isRecord(s['properties']) ? s['properties'] : {};
        const names = Object.keys(props);
        if (names.length === 0) return { answer: reply };
        return Object.fromEntries(names.map((n) => [n, walk(props[n], depth + 1)]));
      }
    }
  };
  return walk(root, 0);
}

function typeOf(s: Schema): string {
  const t = s['type'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') as string | undefined) ?? 'null';
  if (isRecord(s['properties'])) return 'object';
  if (s['items'] !== undefined) return 'array';
  return 'object';
}

function resolve(root: Schema, ref: string): unknown {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const defs = root[m[1]!];
  return isRecord(defs) ? defs[m[2]!] : undefined;
}
