import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, interpolateEnv, loadConfig, parseConfig } from './load.ts';

/** The ConfigError a thunk throws (fails the test when it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('interpolateEnv', () => {
  const env = { KEY: 'sk-from-env', EMPTY: '', HOST: 'db.internal' };

  it('replaces ${VAR} anywhere inside a string, several times', () => {
    expect(interpolateEnv('Bearer ${KEY}', env)).toBe('Bearer sk-from-env');
    expect(interpolateEnv('${HOST}:${HOST}', env)).toBe('db.internal:db.internal');
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty, and the value when set', () => {
    expect(interpolateEnv('${NOPE:-http://127.0.0.1:11434/v1}', env)).toBe('http://127.0.0.1:11434/v1');
    expect(interpolateEnv('${EMPTY:-fallback}', env)).toBe('fallback');
    expect(interpolateEnv('${KEY:-fallback}', env)).toBe('sk-from-env');
    expect(interpolateEnv('x${NOPE:-}y', env)).toBe('xy');
  });

  it('keeps $${VAR} as the literal ${VAR}', () => {
    expect(interpolateEnv('cost: $${KEY}', env)).toBe('cost: ${KEY}');
    expect(interpolateEnv('$${NOPE:-x}', env)).toBe('${NOPE:-x}');
  });

  it('leaves strings without a reference, numbers, booleans and null alone', () => {
    expect(interpolateEnv('$5 and {braces} and $KEY', env)).toBe('$5 and {braces} and $KEY');
    expect(interpolateEnv({ a: 1, b: true, c: null, d: ['${KEY}'] }, env)).toEqual({ a: 1, b: true, c: null, d: ['sk-from-env'] });
  });

  it('names the key path of a missing variable, array indices included', () => {
    expect(configError(() => interpolateEnv({ a: { b: ['ok', '${MISSING}'] } }, env)).message).toBe(
      'a.b.1: environment variable MISSING is not set',
    );
    // An empty value counts as unset (as with ${VAR:-…}).
    expect(configError(() => interpolateEnv({ k: '${EMPTY}' }, env)).message).toContain('EMPTY is not set');
  });
});

describe('parseConfig', () => {
  it('interpolates secrets from env into provider settings', () => {
    const config = parseConfig(
      {
        providers: {
          openai: { type: 'openai', api_key: '${OPENAI_API_KEY}' },
          local: { type: 'openai-compatible', base_url: '${LOCAL_URL:-http://127.0.0.1:11434/v1}' },
        },
      },
      { OPENAI_API_KEY: 'sk-test-123' },
    );
    expect(config.providers.openai).toEqual({ type: 'openai', api_key: 'sk-test-123' });
    expect(config.providers.local?.base_url).toBe('http://127.0.0.1:11434/v1');
  });

  it('fails naming the key path when a referenced env var is missing', () => {
    const err = configError(() => parseConfig({ providers: { openai: { type: 'openai', api_key: '${OPENAI_API_KEY}' } } }, {}));
    expect(err.message).toBe('providers.openai.api_key: environment variable OPENAI_API_KEY is not set');
  });

  it('applies the defaults to an empty (or null) document', () => {
    for (const raw of [{}, null, undefined]) {
      const config = parseConfig(raw, {});
      expect(config.providers).toEqual({});
      expect(config.models).toEqual({});
      expect(config.pricing).toEqual({ overrides: {} });
      expect(config.server.body_limit_bytes).toBe(10 * 1024 * 1024);
      expect(config.logging).toEqual({
        enabled: true,
        payloads: true,
        payload_max_bytes: 256 * 1024,
        redact_fields: [],
        redact_patterns: [],
        queue_max: 50_000,
        queue_max_bytes: 64 * 1024 * 1024,
        batch_size: 500,
        flush_ms: 200,
        wal: { enabled: true, mmap: true },
      });
    }
  });

  it('parses the call log write-ahead options (issue 21)', () => {
    expect(parseConfig({ logging: { wal: { fsync_ms: 100 } } }, {}).logging.wal).toEqual({ enabled: true, fsync_ms: 100, mmap: true });
    expect(parseConfig({ logging: { wal: { enabled: false } } }, {}).logging.wal).toEqual({ enabled: false, mmap: true });
    expect(parseConfig({ logging: { wal: { mmap: false } } }, {}).logging.wal).toEqual({ enabled: true, mmap: false });
    expect(() => parseConfig({ logging: { wal: { fsync_ms: 0 } } }, {})).toThrow(/logging\.wal\.fsync_ms/);
    expect(() => parseConfig({ logging: { wal: { fsync: 100 } } }, {})).toThrow(/logging\.wal/);
  });

  it('fills nested defaults of a partly given section', () => {
    const config = parseConfig(
      { providers: { p: { type: 'openai', retry: { max_attempts: 5 }, timeouts: { connect_ms: 100 } } }, logging: { payloads: false } },
      {},
    );
    expect(config.providers.p?.retry).toEqual({ max_attempts: 5, base_delay_ms: 200, max_delay_ms: 5_000 });
    expect(config.providers.p?.timeouts).toEqual({ connect_ms: 100, first_byte_ms: 60_000, total_ms: 600_000 });
    expect(config.logging.payloads).toBe(false);
    expect(config.logging.batch_size).toBe(500);
  });

  it('rejects an unknown top-level key, naming it', () => {
    const err = configError(() => parseConfig({ providers: {}, provders: {} }, {}));
    expect(err.message).toBe('invalid config: (root): unknown key(s) "provders"');
  });

  it('rejects an unknown key inside a provider with its full path', () => {
    const err = configError(() => parseConfig({ providers: { openai: { type: 'openai', apikey: 'x' } } }, {}));
    expect(err.message).toBe('invalid config: providers.openai: unknown key(s) "apikey"');
    const deeper = configError(() => parseConfig({ providers: { openai: { type: 'openai', retry: { attempts: 2 } } } }, {}));
    expect(deeper.message).toContain('providers.openai.retry: unknown key(s) "attempts"');
  });

  it('rejects ill-typed values with their path', () => {
    expect(configError(() => parseConfig({ providers: { x: { type: 'azure' } } }, {})).message).toMatch(/^invalid config: providers\.x\.type: /);
    expect(configError(() => parseConfig({ providers: { x: { type: 'openai', base_url: 'not a url' } } }, {})).message).toMatch(
      /providers\.x\.base_url: /,
    );
    expect(configError(() => parseConfig({ providers: { x: { type: 'openai', retry: { max_attempts: 0 } } } }, {})).message).toMatch(
      /providers\.x\.retry\.max_attempts: /,
    );
    expect(configError(() => parseConfig({ server: { body_limit_bytes: -1 } }, {})).message).toMatch(/server\.body_limit_bytes: /);
    expect(configError(() => parseConfig({ providers: { 'bad name': { type: 'openai' } } }, {})).message).toMatch(/providers/);
  });

  it('requires base_url for an openai-compatible provider', () => {
    const err = configError(() => parseConfig({ providers: { local: { type: 'openai-compatible' } } }, {}));
    expect(err.message).toBe('providers.local.base_url: required for type openai-compatible');
  });

  it('rejects a models alias pointing at an unknown provider, or not of the form provider/model', () => {
    const providers = { openai: { type: 'openai' } };
    const unknown = configError(() => parseConfig({ providers, models: { fast: 'groq/llama3' } }, {}));
    expect(unknown.message).toBe('models.fast: "groq/llama3" must be provider/model with a configured provider');
    const bare = configError(() => parseConfig({ providers, models: { fast: 'gpt-4o-mini' } }, {}));
    expect(bare.message).toContain('models.fast:');
    // A name inherited from Object.prototype is not a configured provider.
    expect(configError(() => parseConfig({ providers, models: { fast: 'constructor/x' } }, {})).message).toContain('models.fast:');
    const config = parseConfig({ providers, models: { fast: 'openai/gpt-4o-mini' } }, {});
    expect(config.models).toEqual({ fast: 'openai/gpt-4o-mini' });
  });

  it('rejects a price override for an unknown provider but accepts bare model names', () => {
    const price = { input: 1, output: 2 };
    expect(configError(() => parseConfig({ pricing: { overrides: { 'nope/m': price } } }, {})).message).toBe(
      'pricing.overrides.nope/m: unknown provider "nope"',
    );
    expect(configError(() => parseConfig({ pricing: { overrides: { 'toString/m': price } } }, {})).message).toBe(
      'pricing.overrides.toString/m: unknown provider "toString"',
    );
    const ok = parseConfig({ providers: { openai: { type: 'openai' } }, pricing: { overrides: { 'openai/m': price, 'm2': price } } }, {});
    expect(Object.keys(ok.pricing.overrides)).toEqual(['openai/m', 'm2']);
  });

  it('returns a deeply frozen object', () => {
    const config = parseConfig(
      { providers: { openai: { type: 'openai', models: ['gpt-4o'], headers: { 'OpenAI-Organization': 'org' } } }, logging: { redact_fields: ['ssn'] } },
      {},
    );
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.providers)).toBe(true);
    expect(Object.isFrozen(config.providers.openai)).toBe(true);
    expect(Object.isFrozen(config.providers.openai?.models)).toBe(true);
    expect(Object.isFrozen(config.providers.openai?.headers)).toBe(true);
    expect(Object.isFrozen(config.logging.redact_fields)).toBe(true);
    expect(Object.isFrozen(config.pricing.overrides)).toBe(true);
    // ESM is strict mode: writing to a frozen object throws instead of failing silently.
    expect(() => {
      (config.providers as Record<string, unknown>).evil = {};
    }).toThrow(TypeError);
    expect(() => {
      (config.providers.openai!.models as string[]).push('x');
    }).toThrow(TypeError);
  });

  it('does not mutate the raw input', () => {
    const raw = { providers: { openai: { type: 'openai', api_key: '${K}' } }, routes: { bot: { variants: [{ name: 'a', target: 'openai/x' }] } } };
    const config = parseConfig(raw, { K: 'secret' });
    expect(raw.providers.openai.api_key).toBe('${K}');
    // Sections passed through unvalidated (routes) are copies: freezing the result leaves the caller's objects alone.
    expect(Object.isFrozen(raw)).toBe(false);
    expect(Object.isFrozen(raw.routes.bot.variants[0])).toBe(false);
    expect(Object.isFrozen((config.routes?.bot as { variants: object[] }).variants[0])).toBe(true);
  });
});

describe('configFromEnv', () => {
  it('creates no providers when no provider env var is set', () => {
    expect(configFromEnv({ PATH: '/usr/bin' }).providers).toEqual({});
  });

  it('OPENAI_API_KEY gives provider "openai" of type openai', () => {
    expect(configFromEnv({ OPENAI_API_KEY: 'sk-live' }).providers).toEqual({ openai: { type: 'openai', api_key: 'sk-live' } });
  });

  it('OPENAI_BASE_URL makes it openai-compatible (with or without a key)', () => {
    expect(configFromEnv({ OPENAI_API_KEY: 'sk-live', OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }).providers).toEqual({
      openai: { type: 'openai-compatible', api_key: 'sk-live', base_url: 'http://127.0.0.1:8000/v1' },
    });
    expect(configFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }).providers.openai).toEqual({
      type: 'openai-compatible',
      base_url: 'http://127.0.0.1:8000/v1',
    });
  });

  it('ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL) give provider "anthropic"', () => {
    expect(configFromEnv({ ANTHROPIC_API_KEY: 'sk-ant-x' }).providers).toEqual({ anthropic: { type: 'anthropic', api_key: 'sk-ant-x' } });
    const both = configFromEnv({ OPENAI_API_KEY: 'a', ANTHROPIC_API_KEY: 'b', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' });
    expect(Object.keys(both.providers).sort()).toEqual(['anthropic', 'openai']);
    expect(both.providers.anthropic?.base_url).toBe('http://127.0.0.1:9/');
  });

  it('treats empty values as unset', () => {
    expect(configFromEnv({ OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' }).providers).toEqual({});
  });

  it('fails on a malformed base URL instead of booting with it', () => {
    expect(configError(() => configFromEnv({ OPENAI_BASE_URL: 'localhost port 8000' })).message).toMatch(/providers\.openai\.base_url/);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(configFromEnv({ OPENAI_API_KEY: 'k' }).providers.openai)).toBe(true);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('accepts the DESIGN §3 example exactly as written', () => {
    const path = file(
      'design.yaml',
      `providers:
  openai:    { type: openai,    api_key: \${OPENAI_API_KEY} }
  anthropic: { type: anthropic, api_key: \${ANTHROPIC_API_KEY} }
  local:     { type: openai-compatible, base_url: http://127.0.0.1:11434/v1 }
routes:                        # a route is a virtual model name clients may call
  support-bot:
    variants:
      - { name: control,   target: openai/gpt-4o-mini, prompt: support@production, weight: 90 }
      - { name: candidate, target: anthropic/claude-haiku-4-5, prompt: support@candidate, weight: 10 }
    shadow: { target: local/llama3, sample: 0.05 }   # called too, never returned, logged
    fallbacks: [openai/gpt-4o-mini]
    sticky_by: user            # hash(route, user | header x-sluice-subject) -> variant
    rag: { retriever: docs, top_k: 4 }
    cache: { mode: on, ttl: 3600 }
retrievers:
  docs: { type: postgres-fts, collection: handbook }   # also: pgvector, hybrid
  search: { type: http, url: http://127.0.0.1:9200/retrieve, timeout_ms: 1500, on_error: fail-open }
pricing: { overrides: {} }    # built-in price table; per-model overrides here
`,
    );
    const config = loadConfig({ SLUICE_CONFIG: path, OPENAI_API_KEY: 'sk-a', ANTHROPIC_API_KEY: 'sk-ant-b' });
    expect(config.providers.anthropic?.api_key).toBe('sk-ant-b');
    expect(config.routes['support-bot']?.variants.map((v) => v.weight)).toEqual([90, 10]);
    expect(config.routes['support-bot']?.cache).toMatchObject({ mode: 'on', ttl: 3600 });
  });

  it('fails the boot naming a route target with an unknown provider', () => {
    const raw = { providers: { openai: { type: 'openai' } }, routes: { bot: { variants: [{ name: 'a', target: 'nowhere/x' }] } } };
    expect(() => parseConfig(raw, {})).toThrow(/routes\.bot\.variants\.0\.target: unknown provider "nowhere"/);
    const badRag = { providers: { openai: { type: 'openai' } }, routes: { bot: { variants: [{ name: 'a', target: 'openai/x' }], rag: { retriever: 'nope' } } } };
    expect(() => parseConfig(badRag, {})).toThrow(/routes\.bot\.rag\.retriever/);
  });

  it('reads the YAML file SLUICE_CONFIG points to, with env interpolation', () => {
    const path = file(
      'ok.yaml',
      [
        'providers:',
        '  openai:',
        '    type: openai',
        '    api_key: ${OPENAI_API_KEY}',
        '  local:     { type: openai-compatible, base_url: http://127.0.0.1:11434/v1, models: [llama3] }',
        'models:',
        '  fast: openai/gpt-4o-mini',
        'routes:',
        '  support-bot: { variants: [{ name: control, target: local/llama3 }], fallbacks: [openai/gpt-4o-mini] }',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ SLUICE_CONFIG: path, OPENAI_API_KEY: 'sk-yaml', ANTHROPIC_API_KEY: 'ignored-when-a-file-is-given' });
    expect(config.providers).toEqual({
      openai: { type: 'openai', api_key: 'sk-yaml' },
      local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1', models: ['llama3'] },
    });
    expect(config.models).toEqual({ fast: 'openai/gpt-4o-mini' });
    expect(config.routes['support-bot']).toMatchObject({
      variants: [{ name: 'control', target: 'local/llama3', weight: 1 }],
      fallbacks: ['openai/gpt-4o-mini'],
      sticky_by: 'user',
    });
    expect(Object.isFrozen(config.providers.local?.models)).toBe(true);
  });

  it('accepts ${VAR} unquoted inside a YAML flow map, as DESIGN §3 writes it', () => {
    const path = file(
      'flow.yaml',
      [
        'providers:',
        '  openai:    { type: openai,    api_key: ${OPENAI_API_KEY} }',
        '  anthropic: { type: anthropic, api_key: "${ANTHROPIC_API_KEY}", base_url: ${ANTHROPIC_URL:-https://api.anthropic.com} }',
        '  local:     { type: openai-compatible, base_url: http://127.0.0.1:11434/v1, headers: { x-note: "$${LITERAL}" } }',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ SLUICE_CONFIG: path, OPENAI_API_KEY: 'sk-flow', ANTHROPIC_API_KEY: 'sk-ant-flow' });
    expect(config.providers.openai).toEqual({ type: 'openai', api_key: 'sk-flow' });
    expect(config.providers.anthropic).toEqual({ type: 'anthropic', api_key: 'sk-ant-flow', base_url: 'https://api.anthropic.com' });
    expect(config.providers.local?.headers).toEqual({ 'x-note': '${LITERAL}' });
    expect(configError(() => loadConfig({ SLUICE_CONFIG: path, OPENAI_API_KEY: 'sk-flow' })).message).toBe(
      'providers.anthropic.api_key: environment variable ANTHROPIC_API_KEY is not set',
    );
  });

  it('an empty file is the default config', () => {
    expect(loadConfig({ SLUICE_CONFIG: file('empty.yaml', '') }).providers).toEqual({});
  });

  it('falls back to env providers without SLUICE_CONFIG', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'sk-env' }).providers).toEqual({ openai: { type: 'openai', api_key: 'sk-env' } });
    expect(loadConfig({ SLUICE_CONFIG: '', OPENAI_API_KEY: 'sk-env' }).providers.openai?.type).toBe('openai');
  });

  it('invalid YAML is a ConfigError naming the file and the parse problem', () => {
    const path = file('broken.yaml', 'providers:\n  openai: { type: openai\n');
    const err = configError(() => loadConfig({ SLUICE_CONFIG: path }));
    expect(err.message).toContain(`SLUICE_CONFIG: ${path} is not valid YAML:`);
    expect(err.message.length).toBeGreaterThan(`SLUICE_CONFIG: ${path} is not valid YAML: `.length);
  });

  it('a missing file is a ConfigError naming the path and the reason', () => {
    const path = join(dir, 'does-not-exist.yaml');
    expect(configError(() => loadConfig({ SLUICE_CONFIG: path })).message).toBe(`SLUICE_CONFIG: cannot read ${path}: ENOENT`);
  });

  it('a directory is a ConfigError too', () => {
    expect(configError(() => loadConfig({ SLUICE_CONFIG: dir })).message).toBe(`SLUICE_CONFIG: cannot read ${dir}: EISDIR`);
  });

  // root reads any file whatever its mode, so this case can only be shown as another user.
  it.skipIf(process.getuid?.() === 0)('an unreadable file is a ConfigError naming the reason', () => {
    const path = file('secret.yaml', 'providers: {}\n');
    chmodSync(path, 0o000);
    expect(configError(() => loadConfig({ SLUICE_CONFIG: path })).message).toBe(`SLUICE_CONFIG: cannot read ${path}: EACCES`);
  });

  it('valid YAML with a bad config is a ConfigError with the key path', () => {
    const path = file('bad.yaml', 'providers:\n  openai: { type: openai, api_key: "${OPENAI_API_KEY}", colour: blue }\n');
    expect(configError(() => loadConfig({ SLUICE_CONFIG: path, OPENAI_API_KEY: 'k' })).message).toBe(
      'invalid config: providers.openai: unknown key(s) "colour"',
    );
    const missing = file('missing-env.yaml', 'providers:\n  openai: { type: openai, api_key: "${OPENAI_API_KEY}" }\n');
    expect(configError(() => loadConfig({ SLUICE_CONFIG: missing })).message).toBe(
      'providers.openai.api_key: environment variable OPENAI_API_KEY is not set',
    );
    const list = file('list.yaml', '- a\n- b\n');
    expect(configError(() => loadConfig({ SLUICE_CONFIG: list })).message).toMatch(/^invalid config: \(root\): /);
  });
});
