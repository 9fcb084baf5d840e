import type { Context } from 'hono';
import { GatewayError } from '../errors/gateway-error.ts';

/** Reads the body once and parses it as a JSON object; bad input is a 400 that says why. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') throw new GatewayError('invalid_json', 'The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('invalid_json', `We could not parse the JSON body of your request: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  if (nestedDeeperThan(value, MAX_DEPTH)) {
    throw new GatewayError('invalid_request', `The JSON body is nested more than ${MAX_DEPTH} levels deep.`);
  }
  return value as Record<string, unknown>;
}

/**
 * JSON.parse copes with any depth, but JSON.stringify (upstream bodies, call records, cache
 * keys) overflows the stack at a few thousand levels: refuse such bodies up front, as a 400.
 */
const MAX_DEPTH = 128;

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
