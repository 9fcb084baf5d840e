/**
 * Canonical JSON: object keys sorted (UTF-16 code unit order, recursively), arrays in order,
 * no whitespace, numbers as JSON writes them, and `undefined` (or a function/symbol) dropped
 * from objects and written as `null` in arrays, as JSON.stringify does. Two values that are
 * equal as JSON give the same text whatever order their keys were written in.
 *
 * It writes the text in one pass over the value: no sorted copy of the value is built, only
 * each object's key list is sorted. `toJSON` is not honoured (requests are parsed JSON).
 */
export function canonicalJson(value: unknown): string | undefined {
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
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      return undefined;
  }
}

function canonicalArray(list: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ',';
    out += canonicalJson(list[i]) ?? 'null';
  }
  return out + ']';
}

function canonicalObject(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const text = canonicalJson(obj[key]);
    if (text === undefined) continue;
    if (!first) out += ',';
    out += JSON.stringify(key) + ':' + text;
    first = false;
  }
  return out + '}';
}
