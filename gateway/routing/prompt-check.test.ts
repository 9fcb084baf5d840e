import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { PromptStore } from '../../prompts/index.ts';
import { parseConfig } from '../config/load.ts';
import type { Database } from '../db/client.ts';
import { routePromptProblems } from './prompt-check.ts';

const content = (text: string) => ({ messages: [{ role: 'system' as const, content: text }], model: null, params: {}, variables: null });

const configWith = (variants: Array<{ name: string; prompt?: string }>, shadowPrompt?: string) =>
  parseConfig(
    {
      providers: { openai: { type: 'openai', api_key: 'sk-test' } },
      routes: {
        'support-bot': {
          variants: variants.map((v) => ({ ...v, target: 'openai/gpt-4o-mini' })),
          ...(shadowPrompt ? { shadow: { target: 'openai/gpt-4o', prompt: shadowPrompt } } : {}),
        },
      },
    },
    {},
  );

describe.each(testDatabases())('routePromptProblems on $kind', (target) => {
  let database: Database;
  let store: PromptStore;

  beforeAll(async () => {
    database = await target.open();
    store = new PromptStore(database);
    await store.createPrompt('support', null, 'test');
    await store.createVersion('support', content('v1'), 'test');
    await store.createVersion('support', content('v2'), 'test');
    await store.moveLabel('support', 'production', 1, 'test');
    await store.createPrompt('empty', null, 'test');
  });
  afterAll(async () => {
    await database.close();
  });

  it('passes when every reference resolves (label, version, bare name = latest)', async () => {
    const config = configWith([{ name: 'a', prompt: 'support@production' }, { name: 'b', prompt: 'support@2' }, { name: 'c', prompt: 'support' }, { name: 'd' }], 'support@latest');
    await expect(routePromptProblems(config, store)).resolves.toEqual([]);
  });

  it('names the key path of each dangling reference', async () => {
    const config = configWith(
      [
        { name: 'control', prompt: 'support@production' },
        { name: 'candidate', prompt: 'support@candidate' },
        { name: 'old', prompt: 'support@3' },
        { name: 'ghost', prompt: 'missing@production' },
      ],
      'empty',
    );
    expect(await routePromptProblems(config, store)).toEqual([
        'routes.support-bot.variants.1.prompt: prompt "support" has no label "candidate"',
        'routes.support-bot.variants.2.prompt: prompt "support" has no version 3',
        'routes.support-bot.variants.3.prompt: prompt "missing" does not exist',
        'routes.support-bot.shadow.prompt: prompt "empty" has no versions',
    ]);
  });
});
