import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { contentInputSchema, messageSchema, normalizeContent, parseOrThrow } from './content.ts';
import { PromptError } from './errors.ts';
import type { PromptContent, PromptMessage } from './types.ts';

/**
 * Prompts as files, one per prompt, named after it.
 *
 * `support.yaml`: `description`, `model`, `params`, `variables` (JSON schema), `labels`,
 * `message` (the version's commit message) and `messages: [{role, content}]`.
 *
 * `support.md`: the same keys (but `messages`) as YAML front matter; the body holds the
 * messages. A body with no headings is one system message, so the common case is just text:
 *
 *     ---
 *     model: openai/gpt-4o-mini
 *     labels: [production]
 *     ---
 *     You are a support agent for {{company}}.
 *
 * More messages go under `## system`, `## developer`, `## user`, `## assistant` headings (a
 * line with exactly that text); text before the first heading is a system message. Other
 * headings (`# Rules`, `## Tone`) are ordinary content. Leading blank lines and trailing
 * whitespace of each message are trimmed.
 */
export interface PromptFile {
  name: string;
  description?: string | null;
  labels: string[];
  message?: string | null;
  /** Absent when the file has no messages (the prompt exists but has no version yet). */
  content?: PromptContent;
}

export type FileFormat = 'yaml' | 'md';

const meta = {
  name: z.string().optional(),
  description: z.string().nullish(),
  labels: z.array(z.string()).optional(),
  message: z.string().nullish(),
  model: contentInputSchema.shape.model,
  params: contentInputSchema.shape.params,
  variables: contentInputSchema.shape.variables,
};
const yamlFileSchema = z.strictObject({ ...meta, messages: z.array(messageSchema).optional() });
const frontMatterSchema = z.strictObject(meta);

const ROLE_HEADING = /^##[ \t]+(system|developer|user|assistant)[ \t]*$/i;
const FRONT_MATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

export function formatOf(fileName: string): FileFormat | undefined {
  if (/\.ya?ml$/i.test(fileName)) return 'yaml';
  if (/\.md$/i.test(fileName)) return 'md';
  return undefined;
}

/** Parses one prompt file; `name` comes from the file name (a `name` key must agree). */
export function parsePromptFile(name: string, format: FileFormat, text: string): PromptFile {
  let data: z.output<typeof yamlFileSchema>;
  if (format === 'yaml') {
    data = parseOrThrow(yamlFileSchema, loadYaml(text) ?? {});
  } else {
    const fm = FRONT_MATTER.exec(text);
    const front = parseOrThrow(frontMatterSchema, fm ? (loadYaml(fm[1]!) ?? {}) : {});
    const messages = parseMarkdownBody(fm ? text.slice(fm[0].length) : text);
    data = { ...front, messages };
  }
  if (data.name !== undefined && data.name !== name) {
    throw new PromptError('invalid_request', `the file declares name '${data.name}' but is named for '${name}'`, 'name');
  }
  const file: PromptFile = { name, labels: data.labels ?? [] };
  if (data.description !== undefined) file.description = data.description;
  if (data.message !== undefined) file.message = data.message;
  if (data.messages && data.messages.length > 0) {
    file.content = normalizeContent(parseOrThrow(contentInputSchema, { ...data, messages: data.messages, name: undefined }));
  }
  return file;
}

function loadYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new PromptError('invalid_request', `invalid YAML: ${(err as Error).message}`);
  }
}

function trimMessage(text: string): string {
  return text.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
}

export function parseMarkdownBody(body: string): PromptMessage[] {
  const out: PromptMessage[] = [];
  let role: PromptMessage['role'] = 'system';
  let lines: string[] = [];
  let explicit = false;
  const flush = () => {
    const content = trimMessage(lines.join('\n'));
    if (explicit || content !== '') out.push({ role, content });
  };
  for (const line of body.split('\n')) {
    const m = ROLE_HEADING.exec(line.replace(/\r$/, ''));
    if (!m) {
      lines.push(line);
      continue;
    }
    flush();
    role = m[1]!.toLowerCase() as PromptMessage['role'];
    lines = [];
    explicit = true;
  }
  flush();
  return out;
}

/** Markdown can hold the content exactly when every message is plain, trimmed text. */
export function markdownCanHold(content: PromptContent | undefined): boolean {
  if (!content) return true;
  return content.messages.every(
    (m) =>
      typeof m.content === 'string' &&
      m.name === undefined &&
      m.content !== '' &&
      trimMessage(m.content) === m.content &&
      !m.content.split('\n').some((l) => ROLE_HEADING.test(l)),
  );
}

export function formatPromptFile(format: FileFormat, file: PromptFile): string {
  const head: Record<string, unknown> = {};
  if (file.description != null) head.description = file.description;
  const c = file.content;
  if (c?.model != null) head.model = c.model;
  if (c && Object.keys(c.params).length > 0) head.params = c.params;
  if (c?.variables != null) head.variables = c.variables;
  if (file.labels.length > 0) head.labels = file.labels;
  if (format === 'yaml') {
    if (c) head.messages = c.messages;
    return stringifyYaml(head, { lineWidth: 0 });
  }
  if (!markdownCanHold(c)) throw new Error(`prompt '${file.name}' cannot be written as Markdown`);
  const front = Object.keys(head).length > 0 ? `---\n${stringifyYaml(head, { lineWidth: 0 })}---\n\n` : '';
  const messages = c?.messages ?? [];
  const only = messages.length === 1 && messages[0]!.role === 'system';
  const body = only ? (messages[0]!.content as string) : messages.map((m) => `## ${m.role}\n\n${m.content as string}`).join('\n\n');
  return `${front}${body}\n`;
}
