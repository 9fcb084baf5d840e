import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../gateway/db/client.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { pullPrompts, pushPrompts } from './files.ts';
import { PromptStore } from './store.ts';

const SUPPORT_MD = `---
description: Answers support questions
model: openai/gpt-4o-mini
params: { temperature: 0.2 }
variables:
  type: object
  properties:
    company: { type: string }
  required: [company]
labels: [production]
---

You are a support agent for {{company}}.

# Rules
- Be brief.
`;

const TRIAGE_YAML = `model: anthropic/claude-haiku-4-5
labels: [production, candidate]
messages:
  - role: system
    content: |
      Classify the ticket.
      Reply with one word.
  - role: user
    content: "{{ticket}}"
`;

const FEWSHOT_MD = `## system
Translate to French.

## user
cat

## assistant
chat

## user
{{word}}
`;

describe.each(testDatabases())('prompts as files on $kind', (target) => {
  let database: Database;
  let store: PromptStore;
  let dir: string;

  beforeAll(async () => {
    database = await target.open();
    store = new PromptStore(database);
    dir = await mkdtemp(join(tmpdir(), 'sluice-prompts-'));
  });
  afterAll(async () => {
    await database?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pushes files, then pulls them back so that pushing again is a no-op', async () => {
    const src = join(dir, 'src');
    await rm(src, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(src));
    await writeFile(join(src, 'support.md'), SUPPORT_MD);
    await writeFile(join(src, 'triage.yaml'), TRIAGE_YAML);
    await writeFile(join(src, 'fewshot.md'), FEWSHOT_MD);
    await writeFile(join(src, 'README.txt'), 'not a prompt');

    const first = await pushPrompts(src, store, 'ci');
    expect(first.promptsCreated).toEqual(['fewshot', 'support', 'triage']);
    expect(first.created).toEqual([
      { name: 'fewshot', version: 1 },
      { name: 'support', version: 1 },
      { name: 'triage', version: 1 },
    ]);
    expect(first.labelsMoved).toEqual([
      { name: 'support', label: 'production', from: null, to: 1 },
      { name: 'triage', label: 'production', from: null, to: 1 },
      { name: 'triage', label: 'candidate', from: null, to: 1 },
    ]);

    const support = await store.resolve('support', { label: 'production' });
    expect(support).toMatchObject({
      model: 'openai/gpt-4o-mini',
      params: { temperature: 0.2 },
      messages: [{ role: 'system', content: 'You are a support agent for {{company}}.\n\n# Rules\n- Be brief.' }],
      author: 'ci',
    });
    expect((await store.getPrompt('support')).description).toBe('Answers support questions');
    expect((await store.resolve('fewshot', { label: 'latest' })).messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect((await store.resolve('triage', { label: 'latest' })).messages[0]!.content).toBe('Classify the ticket.\nReply with one word.\n');

    // Pushing the same files again changes nothing.
    expect(await pushPrompts(src, store, 'ci')).toEqual({
      promptsCreated: [],
      created: [],
      unchanged: ['fewshot', 'support', 'triage'],
      labelsMoved: [],
      descriptionsUpdated: [],
    });

    // Pull into an empty directory, push that back: still a no-op.
    const out = join(dir, 'out');
    const pulled = await pullPrompts(out, store);
    expect(pulled.written.sort()).toEqual(['fewshot.md', 'support.md', 'triage.yaml']);
    expect(await readFile(join(out, 'support.md'), 'utf8')).toContain('---\n\nYou are a support agent for {{company}}.\n');
    const again = await pushPrompts(out, store, 'ci');
    expect(again.created).toEqual([]);
    expect(again.labelsMoved).toEqual([]);
    expect(again.descriptionsUpdated).toEqual([]);
  });

  it('creates a version only for changed content and moves listed labels to it', async () => {
    const src = join(dir, 'out');
    const before = await readFile(join(src, 'support.md'), 'utf8');
    await writeFile(join(src, 'support.md'), before.replace('Be brief.', 'Be brief and kind.'));
    const summary = await pushPrompts(src, store, 'ci');
    expect(summary.created).toEqual([{ name: 'support', version: 2 }]);
    expect(summary.unchanged).toEqual(['fewshot', 'triage']);
    expect(summary.labelsMoved).toEqual([{ name: 'support', label: 'production', from: 1, to: 2 }]);
    expect((await store.resolve('support', { label: 'production' })).version).toBe(2);
  });

  it('pull writes labels that point at the latest version only, and keeps each file’s format', async () => {
    await store.createVersion('triage', { messages: [{ role: 'user', content: 'new' }], model: null, params: {}, variables: null }, 'someone');
    await store.moveLabel('triage', 'candidate', 2, 'someone');
    const out = join(dir, 'out');
    await pullPrompts(out, store);
    const triage = await readFile(join(out, 'triage.yaml'), 'utf8');
    expect(triage).toContain('labels:\n  - candidate\n');
    expect(triage).not.toContain('production');
    expect((await readdir(out)).sort()).toEqual(['fewshot.md', 'support.md', 'triage.yaml']);
    const again = await pushPrompts(out, store, 'ci');
    expect(again.created).toEqual([]);
    expect(again.labelsMoved).toEqual([]);
    // production still points at version 1, untouched by the round trip.
    expect((await store.heads('triage')).labels.get('production')).toBe(1);
  });

  it('rejects a bad file before writing anything, naming the file', async () => {
    const bad = join(dir, 'bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(bad));
    await writeFile(join(bad, 'aaa.yaml'), 'messages: [{role: user, content: fine}]\n');
    await writeFile(join(bad, 'zzz.yaml'), 'messages: [{role: user, content: "{{ broken name }}"}]\n');
    await expect(pushPrompts(bad, store, 'ci')).rejects.toThrow(/zzz\.yaml: .*placeholder/);
    await expect(store.getPrompt('aaa')).rejects.toMatchObject({ status: 404 });
  });
});
