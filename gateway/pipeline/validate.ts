import type { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.ts';

/** `messages[2].content` — the path style OpenAI uses in `error.param`. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parses with a zod schema; the first issue becomes a 400 naming the field and the problem. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = deepestIssue(result.error.issues);
  const param = paramPath(issue.path);
  const what = param ? `'${param}'` : 'the request body';
  throw new GatewayError('invalid_request', `Invalid value for ${what}: ${issue.message}`, { param: param || null });
}

type Issue = z.core.$ZodIssue;

/** For unions zod reports "invalid input" at the union; the most specific nested issue says more. */
function deepestIssue(issues: readonly Issue[]): Issue {
  let best = issues[0]!;
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const nested = issue.errors.flat().map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
      const candidate = deepestIssue(nested);
      if (candidate.path.length > best.path.length) best = candidate;
    } else if (issue.path.length > best.path.length) {
      best = issue;
    }
  }
  return best;
}
