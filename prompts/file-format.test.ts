import { describe, expect, it } from 'vitest';
import { PromptError } from './errors.ts';
import { formatPromptFile, markdownCanHold, parseMarkdownBody, parsePromptFile } from './file-format.ts';

describe('Markdown prompt files', () => {
  it('a body without headings is one system message', () => {
    const text = '---\nmodel: openai/gpt-4o-mini\nlabels: [production]\nparams: { temperature: 0.3 }\n---\n\nYou are a support agent for {{company}}.\n\n# Rules\nBe kind.\n';
    expect(parsePromptFile('support', 'md', text)).toEqual({
      name: 'support',
      labels: ['production'],
      content: {
        messages: [{ role: 'system', content: 'You are a support agent for {{company}}.\n\n# Rules\nBe kind.' }],
        model: 'openai/gpt-4o-mini',
        params: { temperature: 0.3 },
        variables: null,
      },
    });
  });

  it('role headings split messages; text before the first heading is a system message', () => {
    const body = 'Be brief.\n\n## user\n\nExample question\n## Not a role\n\n## Assistant\nExample answer\n\n## user\n{{question}}\n';
    expect(parseMarkdownBody(body)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Example question\n## Not a role' },
      { role: 'assistant', content: 'Example answer' },
      { role: 'user', content: '{{question}}' },
    ]);
  });

  it('formats what it parses', () => {
    const file = {
      name: 'x',
      description: 'd',
      labels: ['production'],
      content: {
        messages: [
          { role: 'system' as const, content: 'Sys' },
          { role: 'user' as const, content: 'Hi {{name}}' },
        ],
        model: 'm',
        params: {},
        variables: { type: 'object', properties: { name: { type: 'string' } } },
      },
    };
    const text = formatPromptFile('md', file);
    expect(text).toContain('## system\n\nSys\n\n## user\n\nHi {{name}}\n');
    expect(parsePromptFile('x', 'md', text)).toEqual(file);
    expect(parsePromptFile('x', 'yaml', formatPromptFile('yaml', file))).toEqual(file);
  });

  it('knows what Markdown cannot hold', () => {
    const base = { model: null, params: {}, variables: null };
    expect(markdownCanHold({ ...base, messages: [{ role: 'user', content: 'ok' }] })).toBe(true);
    expect(markdownCanHold({ ...base, messages: [{ role: 'user', content: 'trailing\n' }] })).toBe(false);
    expect(markdownCanHold({ ...base, messages: [{ role: 'user', content: 'a\n## user\nb' }] })).toBe(false);
    expect(markdownCanHold({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })).toBe(false);
  });

  it('rejects unknown keys, bad YAML and a mismatched name, naming the problem', () => {
    expect(() => parsePromptFile('x', 'yaml', 'modle: gpt\nmessages: [{role: user, content: hi}]')).toThrow(/modle|Unrecognized/);
    expect(() => parsePromptFile('x', 'yaml', 'messages: [')).toThrow(PromptError);
    expect(() => parsePromptFile('x', 'md', '---\nname: y\n---\nhi')).toThrow(/'y'/);
    expect(() => parsePromptFile('x', 'yaml', 'messages: [{role: robot, content: hi}]')).toThrow(/messages\[0\]\.role/);
  });
});
