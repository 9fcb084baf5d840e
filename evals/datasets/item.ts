import { z } from 'zod';

/**
 * One dataset line (DESIGN §6): `{id?, input | messages, variables?, expected?, context?,
 * output?, tags?}`. `latency_ms` and `cost_usd` are optional extras (filled for items made from
 * logged calls) so the latency and cost scorers work on score-only items too.
 */
const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(z.record(z.string(), z.unknown())), z.null()]),
  })
  .passthrough();

export const itemLineSchema = z
  .strictObject({
    id: z.union([z.string().min(1), z.number().int()]).optional(),
    input: z.string().optional(),
    messages: z.array(message).min(1).optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
    expected: z.unknown().optional(),
    context: z.union([z.string(), z.array(z.string())]).optional(),
    output: z.string().optional(),
    tags: z.array(z.string()).optional(),
    latency_ms: z.number().nonnegative().optional(),
    cost_usd: z.number().nonnegative().optional(),
  })
  .refine((x) => !(x.input !== undefined && x.messages !== undefined), { message: "give 'input' or 'messages', not both" })
  .refine((x) => x.input !== undefined || x.messages !== undefined || x.output !== undefined || x.variables !== undefined, {
    message: "an item needs 'input', 'messages', 'variables' or 'output'",
  });

export type ItemLine = z.output<typeof itemLineSchema>;
export type ChatMessage = z.output<typeof message>;

/** A stored item: the line plus its resolved id. */
export type EvalItem = Omit<ItemLine, 'id'> & { item_id: string };

/** The item as it is stored and hashed (its resolved id first, no `id`). */
export function toEvalItem(line: ItemLine, position: number): EvalItem {
  const { id, ...rest } = line;
  return { item_id: id === undefined ? String(position) : String(id), ...rest };
}

/** Text of a message's content (string, or the text parts of an array). */
export function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join(' ');
}

/** The question an answer responds to: `input`, else the last user message. */
export function questionOf(item: EvalItem): string | null {
  if (item.input !== undefined) return item.input;
  const users = (item.messages ?? []).filter((m) => m.role === 'user');
  const last = users[users.length - 1];
  return last ? contentText(last.content) : null;
}

export function contextOf(item: EvalItem): string | null {
  if (item.context === undefined) return null;
  return Array.isArray(item.context) ? item.context.join('\n\n') : item.context;
}
