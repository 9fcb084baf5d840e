import type { Context } from 'hono';
import { parseJsonObject } from '../../core/json-object.ts';
import { GatewayError } from '../errors/gateway-error.ts';

/** Reads the body once and parses it as a JSON object; bad input is a 400 that says why. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const parsed = parseJsonObject(await c.req.text());
  if (parsed.ok) return parsed.value;
  throw new GatewayError(parsed.problem === 'empty' || parsed.problem === 'syntax' ? 'invalid_json' : 'invalid_request', parsed.message);
}
