/**
 * Canonical JSON: object keys sorted (UTF-16 code unit order, recursively), arrays in order,
 * no whitespace, numbers as JSON writes them, and `undefined` (or a function/symbol) dropped
 * from objects and written as `null` in arrays, as JSON.stringify does. Two values that are
 * equal as JSON give the same text whatever order their keys were written in.
 *
 * It writes the text in one pass over the value: no sorted copy of the value is built, only
 * each object's key list is sorted. `toJSON` is not honoured (the values are parsed JSON).
 */
export function canonicalJson(value: Record<string, unknown> | readonly unknown[]): string;
export function canonicalJson(value: unknown): string | undefined;
export function canonicalJson(value: unknown): string | undefined {
  return write(value, sortedKeys);
}

/**
 * The canonical JSON that stored hashes are computed from: prompt-version hashes
 * (prompts/canonical.ts) and eval dataset versions. Their first implementation was
 * `JSON.stringify` of a copy built by inserting each object's keys in sorted order, and two
 * things of JavaScript objects leaked into its text, so they are kept here, or content pushed
 * again would no longer match its stored hash:
 * - array-index keys ("0", "7", "50256", as in `logit_bias`) come first, in numeric order,
 *   because that is the order an object lists them in whatever order they were inserted;
 * - an own `__proto__` key (JSON.parse, YAML and zod's z.unknown() all keep one) is left
 *   out, because `copy['__proto__'] = v` sets the copy's prototype instead of adding a key.
 * Not for cache keys: two bodies that differ only in a `__proto__` key would share a key,
 * yet the upstream is sent both.
 */
export function contentHashJson(value: Record<string, unknown> | readonly unknown[]): string;
export function contentHashJson(value: unknown): string | undefined;
export function contentHashJson(value: unknown): string | undefined {
  return write(value, firstImplementationKeys);
}

type KeyOrder = (obj: object) => string[];

const sortedKeys: KeyOrder = (obj) => Object.keys(obj).sort();

/** "0" … "4294967294" without leading zeros: the keys an object lists first, numerically. */
const isArrayIndex = (key: string): boolean => /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) <= 4_294_967_294;

const firstImplementationKeys: KeyOrder = (obj) => {
  const keys = Object.keys(obj).sort();
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return indices.length === 0 ? keys.filter((k) => k !== '__proto__') : [...indices, ...keys.filter((k) => k !== '__proto__' && !isArrayIndex(k))];
};

function write(value: unknown, keysOf: KeyOrder): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // JSON has no NaN/Infinity; JSON.stringify writes them as null. String(-0) is "0" as in JSON.
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? writeArray(value, keysOf) : writeObject(value as Record<string, unknown>, keysOf);
    default:
      return undefined;
  }
}

function writeArray(list: readonly unknown[], keysOf: KeyOrder): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ',';
    out += write(list[i], keysOf) ?? 'null';
  }
  return out + ']';
}

function writeObject(obj: Record<string, unknown>, keysOf: KeyOrder): string {
  let out = '{';
  let first = true;
  for (const key of keysOf(obj)) {
    const text = write(obj[key], keysOf);
    if (text === undefined) continue;
    if (!first) out += ',';
    out += JSON.stringify(key) + ':' + text;
    first = false;
  }
  return out + '}';
}
