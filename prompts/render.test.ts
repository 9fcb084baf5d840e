import { describe, expect, it } from 'vitest';
import { contentInputSchema, normalizeContent } from './content.ts';
import { PromptError } from './errors.ts';
import { checkPromptContent, declaredVariables, renderMessages } from './render.ts';
import { parseTemplate } from '../core/template.ts';
import type { JsonObject, PromptContent, PromptMessage } from './types.ts';

const version = (messages: PromptMessage[], variables: JsonObject | null = null): Pick<PromptContent, 'messages' | 'variables'> => ({
  messages,
  variables,
});

function rejects(fn: () => unknown): PromptError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PromptError);
    return err as PromptError;
  }
  throw new Error('expected a PromptError');
}

describe('templates', () => {
  it('substitutes variables, with or without spaces inside the braces', () => {
    const v = version([
      { role: 'system', content: 'You help {{company}} customers.' },
      { role: 'user', content: 'Hi, I am {{ name }} from {{company}}.' },
    ]);
    expect(renderMessages(v, { company: 'Acme', name: 'Ada' })).toEqual([
      { role: 'system', content: 'You help Acme customers.' },
      { role: 'user', content: 'Hi, I am Ada from Acme.' },
    ]);
  });

  it('renders \\{{ as a literal {{ and leaves other backslashes alone', () => {
    const v = version([{ role: 'system', content: 'Write \\{{name}} literally; path C:\\tmp; value {{x}}.' }]);
    expect(renderMessages(v, { x: 1 })[0]!.content).toBe('Write {{name}} literally; path C:\\tmp; value 1.');
    expect(declaredVariables(v)).toEqual(['x']);
  });

  it('does not re-expand substituted values (no code, no recursion)', () => {
    const v = version([{ role: 'user', content: '{{a}}' }]);
    expect(renderMessages(v, { a: '{{b}} and {{#each}}' })[0]!.content).toBe('{{b}} and {{#each}}');
  });

  it('templates text parts and leaves other parts untouched', () => {
    const image = { type: 'image_url', image_url: { url: 'https://x/{{not_a_var}}.png' } };
    const v = version([{ role: 'user', content: [{ type: 'text', text: 'Describe {{thing}}' }, image] }]);
    const [m] = renderMessages(v, { thing: 'this' });
    expect(m!.content).toEqual([{ type: 'text', text: 'Describe this' }, image]);
  });

  it('renders numbers and booleans as-is and other values as JSON', () => {
    const v = version([{ role: 'user', content: '{{n}} {{b}} {{o}} {{a}} {{z}}' }]);
    expect(renderMessages(v, { n: 2.5, b: false, o: { k: 'v' }, a: [1, 'x'], z: null })[0]!.content).toBe('2.5 false {"k":"v"} [1,"x"] null');
  });

  it('a missing variable is a 400 naming it', () => {
    const err = rejects(() => renderMessages(version([{ role: 'user', content: 'Hello {{name}}' }]), {}));
    expect(err).toMatchObject({ status: 400, code: 'invalid_request', param: 'variables.name' });
    expect(err.message).toMatch(/name/);
  });

  it('rejects malformed placeholders when the content is checked', () => {
    for (const bad of ['{{#if x}}', '{{ first name }}', '{{unclosed', '{{}}', '{{a.b}}']) {
      const err = rejects(() => checkPromptContent(version([{ role: 'system', content: 'ok' }, { role: 'user', content: `x ${bad}` }])));
      expect(err.param).toBe('messages[1].content');
      expect(err.message).toMatch(/\\\{\{/);
    }
    const part = rejects(() => checkPromptContent(version([{ role: 'user', content: [{ type: 'text', text: '{{ 1x }}' }] }])));
    expect(part.param).toBe('messages[0].content[0].text');
  });

  it('parses segments', () => {
    expect(parseTemplate('a{{b}}c\\{{d}}')).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'var', name: 'b' },
      { kind: 'text', text: 'c{{d}}' },
    ]);
    expect(parseTemplate('')).toEqual([]);
  });
});

describe('variables schema', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      age: { type: 'integer', minimum: 0 },
      tone: { type: 'string', enum: ['formal', 'casual'], default: 'formal' },
      context: { type: 'string' },
      email: { type: 'string', format: 'email' },
    },
    required: ['name'],
  };
  const v = version([{ role: 'user', content: '{{name}} ({{age}}) in a {{tone}} tone' }], schema);

  it('validates and applies defaults without mutating the input', () => {
    const input = { name: 'Ada', age: 36 };
    expect(renderMessages(v, input)[0]!.content).toBe('Ada (36) in a formal tone');
    expect(input).toEqual({ name: 'Ada', age: 36 });
  });

  it('an ill-typed variable is a 400 naming it', () => {
    const err = rejects(() => renderMessages(v, { name: 'Ada', age: 'old' }));
    expect(err).toMatchObject({ status: 400, param: 'variables.age' });
    expect(err.message).toMatch(/'age'.*integer/);
    expect(rejects(() => renderMessages(v, { name: 'Ada', age: 1, tone: 'rude' })).param).toBe('variables.tone');
    expect(rejects(() => renderMessages(v, { name: 'Ada', age: 1, email: 'nope' })).param).toBe('variables.email');
  });

  it('a required variable that is missing is a 400 naming it', () => {
    const err = rejects(() => renderMessages(v, { age: 3 }));
    expect(err).toMatchObject({ param: 'variables.name' });
    expect(err.message).toMatch(/Missing variable 'name'/);
  });

  it('a template variable the schema does not require is still required to render', () => {
    expect(rejects(() => renderMessages(v, { name: 'Ada' })).param).toBe('variables.age');
  });

  it('declared variables are the template names plus the schema properties', () => {
    expect(declaredVariables(v)).toEqual(['age', 'context', 'email', 'name', 'tone']);
    expect(declaredVariables(version([{ role: 'system', content: 'plain' }]))).toEqual([]);
  });

  it('rejects a schema that does not compile or is not an object schema', () => {
    const plain = [{ role: 'user' as const, content: 'x' }];
    expect(rejects(() => checkPromptContent(version(plain, { type: 'object', properties: { a: { type: 'strng' } } }))).param).toBe('variables');
    expect(rejects(() => checkPromptContent(version(plain, { type: 'string' }))).param).toBe('variables.type');
    // $id / $schema do not collide between versions.
    const withId = { $id: 'https://x/s', $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' };
    checkPromptContent(version(plain, withId));
    checkPromptContent(version(plain, { ...withId, properties: {} }));
  });
});

describe('content parts', () => {
  it('keeps extra fields on text parts', () => {
    const parsed = normalizeContent(
      contentInputSchema.parse({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi {{n}}', cache_control: { type: 'ephemeral' } }] }] }),
    );
    expect(renderMessages(parsed, { n: 1 })[0]!.content).toEqual([{ type: 'text', text: 'Hi 1', cache_control: { type: 'ephemeral' } }]);
  });
});
