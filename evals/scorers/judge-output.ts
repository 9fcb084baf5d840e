import type { z } from 'zod';

/**
 * Judge replies are model text: JSON is pulled out of a ```json fence or the outermost braces,
 * then validated. Anything else is a reason string, never an exception (a malformed judge
 * reply scores null, DESIGN §6).
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export function extractJson(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const candidates = [fenced?.[1], text, braces(text)].filter((c): c is string => typeof c === 'string');
  for (const c of candidates) {
    try {
      return JSON.parse(c.trim()) as unknown;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

function braces(text: string): string | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}

export function parseJudgeOutput<S extends z.ZodType>(text: string, schema: S): Parsed<z.output<S>> {
  const json = extractJson(text);
  if (json === undefined) return { ok: false, reason: `judge output is not JSON: ${JSON.stringify(text.slice(0, 120))}` };
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, reason: `judge output has the wrong shape: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` };
  }
  return { ok: true, value: r.data };
}
