import { describe, expect, it } from 'vitest';
import { contentHash } from './canonical.ts';
import { diffVersions, jsonChanges } from './diff.ts';
import { editScript, unifiedDiff } from './line-diff.ts';
import type { PromptContent, PromptVersion } from './types.ts';

function v(version: number, content: Partial<PromptContent>): PromptVersion {
  const c: PromptContent = { messages: [], model: null, params: {}, variables: null, ...content };
  return { ...c, prompt: 'p', version, hash: contentHash(c), author: 't', message: null, createdAt: new Date(0) };
}

describe('line diff', () => {
  it('finds the shortest edit script', () => {
    const ops = editScript(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e']).map((o) => o.op);
    expect(ops).toEqual(['keep', 'del', 'ins', 'keep', 'keep', 'ins']);
  });

  it('renders a unified diff with context and hunk ranges', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'].join('\n');
    const b = ['1', '2', '3', 'four', '5', '6', '7', '8', '9', '10', '11', '12', '13'].join('\n');
    expect(unifiedDiff(a, b, 'a', 'b')).toBe(
      ['--- a', '+++ b', '@@ -1,7 +1,7 @@', ' 1', ' 2', ' 3', '-4', '+four', ' 5', ' 6', ' 7', '@@ -10,3 +10,4 @@', ' 10', ' 11', ' 12', '+13', ''].join('\n'),
    );
    expect(unifiedDiff('same', 'same', 'a', 'b')).toBe('');
    expect(unifiedDiff('', 'new', 'a', 'b')).toBe('--- a\n+++ b\n@@ -1,1 +1,1 @@\n-\n+new\n');
  });
});

describe('version diff', () => {
  it('reports message, model, params and variables changes', () => {
    const a = v(1, {
      messages: [
        { role: 'system', content: 'You are terse.\nAnswer in English.' },
        { role: 'user', content: 'Q: {{q}}' },
      ],
      model: 'openai/gpt-4o-mini',
      params: { temperature: 0.2, max_tokens: 100 },
      variables: { type: 'object', properties: { q: { type: 'string' } } },
    });
    const b = v(2, {
      messages: [
        { role: 'system', content: 'You are terse.\nAnswer in French.' },
        { role: 'assistant', content: 'Bonjour.' },
        { role: 'user', content: 'Q: {{q}}' },
      ],
      model: 'anthropic/claude-haiku-4-5',
      params: { temperature: 0.7, top_p: 0.9 },
      variables: { type: 'object', properties: { q: { type: 'string', minLength: 1 } }, required: ['q'] },
    });
    const d = diffVersions(a, b);
    expect(d).toMatchObject({ prompt: 'p', from: 1, to: 2, identical: false });
    expect(d.messages.map((m) => m.change)).toEqual(['modified', 'added', 'unchanged']);
    expect(d.messages[0]!.content_diff).toContain('-Answer in English.\n+Answer in French.');
    expect(d.messages[0]!.role).toBeUndefined();
    expect(d.messages[1]).toMatchObject({ to_index: 1, to: { role: 'assistant', content: 'Bonjour.' } });
    expect(d.messages[2]).toEqual({ change: 'unchanged', from_index: 1, to_index: 2 });
    expect(d.model).toEqual({ from: 'openai/gpt-4o-mini', to: 'anthropic/claude-haiku-4-5' });
    expect(d.params).toEqual([
      { path: 'max_tokens', change: 'removed', from: 100 },
      { path: 'temperature', change: 'changed', from: 0.2, to: 0.7 },
      { path: 'top_p', change: 'added', to: 0.9 },
    ]);
    expect(d.variables).toEqual([
      { path: 'properties.q.minLength', change: 'added', to: 1 },
      { path: 'required', change: 'added', to: ['q'] },
    ]);
    expect(d.unified).toContain('--- p@1\n+++ p@2\n');
    expect(d.unified).toContain('+## assistant\n+Bonjour.');
  });

  it('a role change is a modification and equal versions are identical', () => {
    const a = v(1, { messages: [{ role: 'system', content: 'x' }] });
    const b = v(2, { messages: [{ role: 'developer', content: 'x' }] });
    expect(diffVersions(a, b).messages[0]).toMatchObject({ change: 'modified', role: { from: 'system', to: 'developer' } });
    const same = diffVersions(a, v(3, { messages: [{ role: 'system', content: 'x' }] }));
    expect(same).toMatchObject({ identical: true, model: null, params: [], variables: [], unified: '' });
  });

  it('jsonChanges walks objects and compares arrays whole', () => {
    expect(jsonChanges({ a: { b: 1 } }, { a: { b: 1 } })).toEqual([]);
    expect(jsonChanges(null, { a: 1 })).toEqual([{ path: '', change: 'added', to: { a: 1 } }]);
    expect(jsonChanges({ s: [1, 2] }, { s: [2, 1] })).toEqual([{ path: 's', change: 'changed', from: [1, 2], to: [2, 1] }]);
  });
});
