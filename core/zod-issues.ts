import type { z } from 'zod';

/**
 * Turning zod issues into the one field a 400 names: the deepest issue (unions report at the
 * union), written as OpenAI writes `error.param`. Used by every API that validates with zod.
 */

/** zod issue path in OpenAI's `error.param` style: `messages[2].content`. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export type Issue = z.core.$ZodIssue;

/** For unions zod reports "invalid input" at the union; the most specific nested issue says more. */
export function deepestIssue(issues: readonly Issue[]): Issue {
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
