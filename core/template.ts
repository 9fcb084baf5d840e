/**
 * The template language, deliberately tiny (DESIGN §4.2: mustache-style, no code execution):
 *
 * - `{{name}}` or `{{ name }}` is replaced by the variable `name` (letters, digits, `_`;
 *   not starting with a digit). There are no sections, helpers, partials or dotted paths.
 * - `\{{` is the one escape: it renders a literal `{{` (and what follows is plain text).
 *   A backslash anywhere else is an ordinary character.
 * - Any other `{{` is a syntax error, reported when the version is created, so a typo like
 *   `{{#if x}}` or `{{ first name }}` never reaches a model silently.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'var'; name: string };

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;

export function parseTemplate(source: string): Segment[] {
  const out: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const next = source.indexOf('{{', i);
    if (next === -1) {
      text += source.slice(i);
      break;
    }
    if (next > 0 && source[next - 1] === '\\') {
      text += source.slice(i, next - 1) + '{{';
      i = next + 2;
      continue;
    }
    text += source.slice(i, next);
    PLACEHOLDER.lastIndex = next;
    const m = PLACEHOLDER.exec(source);
    if (!m) {
      const snippet = source.slice(next, next + 24).split('\n')[0];
      throw new TemplateSyntaxError(
        `invalid placeholder '${snippet}' at offset ${next}: expected {{name}} (letters, digits, _); write \\{{ for a literal {{`,
        next,
      );
    }
    if (text) out.push({ kind: 'text', text });
    text = '';
    out.push({ kind: 'var', name: m[1]! });
    i = PLACEHOLDER.lastIndex;
  }
  if (text) out.push({ kind: 'text', text });
  return out;
}

/** Variable names a template uses, in order of first use. */
export function templateVariables(segments: readonly Segment[]): string[] {
  const names = new Set<string>();
  for (const s of segments) if (s.kind === 'var') names.add(s.name);
  return [...names];
}
