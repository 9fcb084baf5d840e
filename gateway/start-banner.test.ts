import { describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.ts';
import { CREATE_KEY_COMMAND, startBanner } from './start-banner.ts';

describe('start banner', () => {
  it('lists each provider with its models (configured or from upstream) and the routes; no warnings when all is set', () => {
    const config = parseConfig(
      {
        providers: {
          openai: { type: 'openai', api_key: 'sk-secret-value' },
          local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1', models: ['llama3'] },
        },
        routes: { bot: { variants: [{ name: 'a', target: 'local/llama3', weight: 1 }, { name: 'b', target: 'openai/gpt-4o-mini', weight: 1 }] } },
      },
      {},
    );
    const lines = startBanner({ url: 'http://127.0.0.1:8400', database: 'pglite', dataDir: '.sluice/pgdata', config, hasKeys: true, adminKeySet: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'sluice listening',
      fields: {
        url: 'http://127.0.0.1:8400',
        database: 'pglite',
        code: 'typescript',
        data_dir: '.sluice/pgdata',
        providers: [
          { name: 'openai', type: 'openai', models: 'from upstream /v1/models' },
          { name: 'local', type: 'openai-compatible', models: ['local/llama3'] },
        ],
        routes: ['bot (a, b)'],
      },
    });
    expect(JSON.stringify(lines)).not.toContain('sk-secret-value');
    const compiled = startBanner({ url: 'u', database: 'pglite', config, hasKeys: true, adminKeySet: false, compiled: true });
    expect(compiled[0]?.fields).toMatchObject({ code: 'compiled' });
  });

  it('warns when there is no provider, and says how to get a key when none exists and no SLUICE_ADMIN_KEY is set', () => {
    const config = parseConfig({}, {});
    const lines = startBanner({ url: 'http://127.0.0.1:8400', database: 'postgres', config, hasKeys: false, adminKeySet: false });
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'warn']);
    expect(lines[1]!.msg).toMatch(/no providers configured.*OPENAI_API_KEY.*ANTHROPIC_API_KEY.*SLUICE_CONFIG/);
    expect(lines[2]!.msg).toContain(`\`${CREATE_KEY_COMMAND}\``);
    expect(CREATE_KEY_COMMAND).toBe('npx sluice keys create --name me --scope admin');
    // Either a key in the table or SLUICE_ADMIN_KEY is a way in: no key warning then.
    expect(startBanner({ url: 'u', database: 'postgres', config, hasKeys: true, adminKeySet: false })).toHaveLength(2);
    expect(startBanner({ url: 'u', database: 'postgres', config, hasKeys: false, adminKeySet: true })).toHaveLength(2);
  });
});
