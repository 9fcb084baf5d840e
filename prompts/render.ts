import { PromptError } from './errors.ts';
import { parseTemplate, TemplateSyntaxError, templateVariables, type Segment } from '../core/template.ts';
import type { ContentPart, JsonObject, PromptContent, PromptMessage } from './types.ts';
import { checkVariablesSchema, validateVariables } from './variables-schema.ts';

type Renderable = Pick<PromptContent, 'messages' | 'variables'>;

/** Parsed templates per message (`text` for string content, `parts[j]` for text parts). */
interface CompiledMessage {
  text?: Segment[];
  parts?: (Segment[] | undefined)[];
}
interface Compiled {
  messages: CompiledMessage[];
  names: string[];
}

// Versions are immutable and cached as objects, so each is parsed once.
const cache = new WeakMap<Renderable, Compiled>();

function compile(version: Renderable): Compiled {
  const hit = cache.get(version);
  if (hit) return hit;
  const names = new Set<string>();
  const messages = version.messages.map((m, i): CompiledMessage => {
    if (typeof m.content === 'string') {
      const text = parse(m.content, `messages[${i}].content`);
      for (const n of templateVariables(text)) names.add(n);
      return { text };
    }
    const parts = m.content.map((part, j) => {
      if (!isTextPart(part)) return undefined;
      const segs = parse(part.text, `messages[${i}].content[${j}].text`);
      for (const n of templateVariables(segs)) names.add(n);
      return segs;
    });
    return { parts };
  });
  const out = { messages, names: [...names] };
  cache.set(version, out);
  return out;
}

function parse(source: string, param: string): Segment[] {
  try {
    return parseTemplate(source);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) throw new PromptError('invalid_request', `Invalid template in '${param}': ${err.message}.`, param);
    throw err;
  }
}

function isTextPart(part: ContentPart): part is { type: 'text'; text: string } {
  return part.type === 'text' && typeof part.text === 'string';
}

/** Throws a 400 naming the field when a template or the variables schema is malformed. */
export function checkPromptContent(content: Renderable): void {
  compile(content);
  if (content.variables) checkVariablesSchema(content.variables);
}

/**
 * Variables the version declares: every name its templates use, plus every property of its
 * `variables` schema (so a schema may declare, e.g., `context` for RAG without using it).
 */
export function declaredVariables(version: Renderable): string[] {
  const names = new Set(compile(version).names);
  const props = version.variables?.properties;
  if (props && typeof props === 'object') for (const k of Object.keys(props)) names.add(k);
  return [...names].sort();
}

/**
 * Renders a version's messages with `variables`: validated against the version's schema
 * first (defaults applied), then substituted. A missing or ill-typed variable is a
 * PromptError 400 whose `param` is `variables.<name>`. Strings are inserted as is, other
 * values as JSON (so numbers and booleans read naturally). Non-text parts pass through.
 */
export function renderMessages(version: Renderable, variables: JsonObject = {}): PromptMessage[] {
  const compiled = compile(version);
  let values = variables;
  if (version.variables) {
    values = structuredClone(variables);
    validateVariables(version.variables, values);
  }
  for (const name of compiled.names) {
    if (values[name] === undefined) {
      throw new PromptError('invalid_request', `Missing variable '${name}': the prompt template uses {{${name}}}.`, `variables.${name}`);
    }
  }
  return version.messages.map((m, i) => {
    const c = compiled.messages[i]!;
    if (c.text) return { ...m, content: substitute(c.text, values) };
    if (!c.parts || typeof m.content === 'string') return m;
    const parts = m.content;
    return { ...m, content: parts.map((p, j) => (c.parts![j] ? { ...p, text: substitute(c.parts![j], values) } : p)) };
  });
}

function substitute(segments: readonly Segment[], values: JsonObject): string {
  let out = '';
  for (const s of segments) out += s.kind === 'text' ? s.text : show(values[s.name]);
  return out;
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}
