import type { z } from 'zod';
import { deepestIssue, paramPath } from '../../core/zod-issues.ts';
import { GatewayError } from '../errors/gateway-error.ts';

// One implementation of the zod-issue → `error.param` mapping, shared with the registry
// (which may not import the gateway).
export { paramPath };

/** Parses with a zod schema; the first issue becomes a 400 naming the field and the problem. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = deepestIssue(result.error.issues);
  const param = paramPath(issue.path);
  const what = param ? `'${param}'` : 'the request body';
  throw new GatewayError('invalid_request', `Invalid value for ${what}: ${issue.message}`, { param: param || null });
}
