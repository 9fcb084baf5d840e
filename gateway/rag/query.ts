import { parseTemplate, type Segment } from '../../core/template.ts';
import { ConfigError } from '../config/load.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { ChatMessageLike } from './types.ts';

/** The text of a message: string content, or its text parts joined by newlines. */
export function messageText(message: ChatMessageLike): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      parts.push((part as { text: string }).text);
    }
  }
  return parts.join('\n');
}

/** The last user turn's text ('' when there is none). */
export function lastUserText(messages: readonly ChatMessageLike[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user') return messageText(m);
  }
  return '';
}

/**
 * A route's `rag.query` template (the prompt template language: `{{name}}`). `{{query}}` is the
 * last user turn; any other name is a prompt variable of the request, so a request that only
 * sends `prompt.variables` can still be searched (`query: "{{question}}"`).
 */
export class QueryTemplate {
  private constructor(private readonly segments: Segment[] | null) {}

  /** Throws a ConfigError naming `path` for a malformed template. */
  static compile(template: string | undefined, path: string): QueryTemplate {
    if (template === undefined) return new QueryTemplate(null);
    try {
      return new QueryTemplate(parseTemplate(template));
    } catch (err) {
      throw new ConfigError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  render(messages: readonly ChatMessageLike[], variables: Readonly<Record<string, unknown>>): string {
    const query = lastUserText(messages);
    if (this.segments === null) return query.trim();
    let out = '';
    for (const s of this.segments) {
      if (s.kind === 'text') {
        out += s.text;
        continue;
      }
      const value = s.name === 'query' ? query : variables[s.name];
      if (value === undefined || value === null) {
        throw new GatewayError('invalid_request', `The retrieval query needs the prompt variable '${s.name}', which the request does not give.`, {
          param: `prompt.variables.${s.name}`,
        });
      }
      out += typeof value === 'string' ? value : JSON.stringify(value);
    }
    return out.trim();
  }
}
