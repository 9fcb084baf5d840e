import { z } from 'zod';
import { deepestIssue, paramPath } from '../core/zod-issues.ts';
import { PromptError } from './errors.ts';
import type { JsonObject, PromptContent } from './types.ts';

/** Prompt names and labels: lowercase, URL- and file-name-safe. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_NAME = 128;

/** Throws a 400 naming `param` unless `value` is a valid prompt name or label. */
export function checkName(value: string, param: string, what = 'name'): string {
  if (value.length > MAX_NAME || !NAME_PATTERN.test(value)) {
    throw new PromptError(
      'invalid_request',
      `Invalid ${what} '${value.slice(0, MAX_NAME)}': use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (at most ${MAX_NAME} characters).`,
      param,
    );
  }
  return value;
}

const jsonObject = z.record(z.string(), z.unknown()) as z.ZodType<JsonObject>;

// Loose: provider extras on parts (e.g. Anthropic's cache_control) are kept, not stripped.
const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const otherPart = z.looseObject({ type: z.string().min(1).refine((t) => t !== 'text', 'text parts need a string text') });

export const messageSchema = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(z.union([textPart, otherPart])).min(1)]),
  name: z.string().min(1).optional(),
});

/** The content fields of a new version, as the API and prompt files accept them. */
export const contentInputSchema = z.object({
  messages: z.array(messageSchema).min(1),
  model: z.string().min(1).nullish(),
  params: jsonObject.nullish(),
  variables: jsonObject.nullish(),
});

export type ContentInput = z.input<typeof contentInputSchema>;

/** Absent, null and empty mean the same thing, so they hash the same. */
export function normalizeContent(input: z.output<typeof contentInputSchema>): PromptContent {
  return {
    messages: input.messages.map((m) => (m.name === undefined ? { role: m.role, content: m.content } : { ...m, name: m.name })),
    model: input.model ?? null,
    params: input.params ?? {},
    variables: input.variables ?? null,
  } as PromptContent;
}

/** Parses with zod; the first (deepest) issue becomes a 400 naming the field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = deepestIssue(result.error.issues);
  const path = paramPath(issue.path);
  const param = prefix && path ? `${prefix}.${path}` : prefix || path;
  const where = param ? `'${param}'` : 'the request body';
  throw new PromptError('invalid_request', `Invalid value for ${where}: ${issue.message}`, param || null);
}
