/**
 * Parses a request body that must be a JSON object, saying exactly what is wrong when it is
 * not. Every API reads its bodies through this (the inference faces, the prompt registry…),
 * each turning a problem into its own error type.
 */
export type JsonObjectProblem = 'empty' | 'syntax' | 'not_object' | 'too_deep';

export type ParsedJsonObject = { ok: true; value: Record<string, unknown> } | { ok: false; problem: JsonObjectProblem; message: string };

/**
 * JSON.parse copes with any depth, but JSON.stringify (upstream bodies, call records, cache
 * keys) overflows the stack at a few thousand levels: such bodies are refused up front.
 */
export const MAX_JSON_DEPTH = 128;

export function parseJsonObject(text: string): ParsedJsonObject {
  if (text.trim() === '') return { ok: false, problem: 'empty', message: 'The request body is empty; expected a JSON object.' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: 'syntax', message: `We could not parse the JSON body of your request: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'not_object', message: 'The request body must be a JSON object.' };
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) {
    return { ok: false, problem: 'too_deep', message: `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Iterative, so the check itself cannot overflow; visits containers only, never string contents. */
function nestedDeeperThan(root: object, max: number): boolean {
  const stack: Array<{ v: object; d: number }> = [{ v: root, d: 1 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    if (top.d > max) return true;
    const children = Array.isArray(top.v) ? top.v : Object.values(top.v);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push({ v: child as object, d: top.d + 1 });
  }
  return false;
}
