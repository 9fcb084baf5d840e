import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/load.ts';
import { routeRagSchema } from '../config/routes-schema.ts';
import { checkRagRoutes, collectionSettings, parseRetrievers } from './config.ts';
import { hookRegistry } from './hooks/index.ts';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const phase = (name: string) => (hookRegistry as Record<string, { phase: 'before' | 'after' }>)[name]?.phase;

describe('parseRetrievers', () => {
  it('parses each type with its defaults', () => {
    const parsed = parseRetrievers({
      docs: { type: 'postgres-fts', collection: 'handbook' },
      vec: { type: 'pgvector', collection: 'handbook', embeddings: 'openai/text-embedding-3-small', dimensions: 512 },
      mix: { type: 'hybrid', collection: 'handbook', embeddings: 'openai/text-embedding-3-small', dimensions: 512 },
      search: { type: 'http', url: 'http://127.0.0.1:9200/retrieve', timeout_ms: 1500, on_error: 'fail-open' },
    });
    expect(parsed.docs).toEqual({ type: 'postgres-fts', collection: 'handbook', language: 'english', timeout_ms: 2000, on_error: 'fail-closed' });
    expect(parsed.mix).toMatchObject({ type: 'hybrid', k: 60, max_scan: 20_000 });
    expect(parsed.search).toMatchObject({ type: 'http', timeout_ms: 1500, on_error: 'fail-open', max_response_bytes: 4 * 1024 * 1024 });
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it('names the key path of a bad value, an unknown key and an unknown type', () => {
    expect(configError(() => parseRetrievers({ search: { type: 'http', url: 'not a url' } }))).toMatch(/^invalid config: retrievers\.search\.url: /);
    expect(configError(() => parseRetrievers({ search: { type: 'http', url: 'ftp://x/y' } }))).toContain('retrievers.search.url: must be an http');
    expect(configError(() => parseRetrievers({ docs: { type: 'postgres-fts', collection: 'a', colection: 'b' } }))).toContain(
      'retrievers.docs: unknown key(s) "colection"',
    );
    expect(configError(() => parseRetrievers({ docs: { type: 'elastic', collection: 'a' } }))).toContain('retrievers.docs.type');
    expect(configError(() => parseRetrievers({ v: { type: 'pgvector', collection: 'a', embeddings: 'nomodel' } }))).toContain(
      'retrievers.v.embeddings: must be provider/model',
    );
    expect(configError(() => parseRetrievers({ s: { type: 'http', url: 'http://x/', on_error: 'ignore' } }))).toContain('retrievers.s.on_error');
  });

  it('refuses retrievers that index one collection two ways', () => {
    expect(
      configError(() =>
        parseRetrievers({
          a: { type: 'postgres-fts', collection: 'kb', language: 'english' },
          b: { type: 'hybrid', collection: 'kb', embeddings: 'p/m', language: 'simple' },
        }),
      ),
    ).toBe('retrievers.b.language: collection "kb" is indexed as "english" by retriever "a"');
    expect(
      configError(() =>
        parseRetrievers({ a: { type: 'pgvector', collection: 'kb', embeddings: 'p/m' }, b: { type: 'pgvector', collection: 'kb', embeddings: 'p/other' } }),
      ),
    ).toContain('retrievers.b.embeddings: collection "kb" is embedded with p/m');
  });

  it('derives one language and embeddings model per collection', () => {
    const settings = collectionSettings(
      parseRetrievers({
        a: { type: 'postgres-fts', collection: 'kb', language: 'simple' },
        b: { type: 'pgvector', collection: 'kb', embeddings: 'p/m', dimensions: 8 },
        c: { type: 'http', url: 'http://127.0.0.1:1/' },
      }),
    );
    expect([...settings]).toEqual([['kb', { language: 'simple', embeddings: { target: 'p/m', dimensions: 8 } }]]);
  });
});

describe('checkRagRoutes', () => {
  const retrievers = parseRetrievers({ docs: { type: 'postgres-fts', collection: 'kb' } });
  const rag = (x: object) => routeRagSchema.parse({ retriever: 'docs', ...x });

  it('accepts known hooks in their phase', () => {
    const routes = checkRagRoutes({ bot: { rag: rag({ before: ['max-query-length', 'retrieve', 'require-context'], after: ['annotate-citations'] }) }, plain: {} }, retrievers, phase);
    expect(routes.map((r) => r.route)).toEqual(['bot']);
  });

  it('names an unknown hook, a hook in the wrong phase and an unknown retriever', () => {
    expect(configError(() => checkRagRoutes({ bot: { rag: rag({ before: ['retrieve', 'nope'] }) } }, retrievers, phase))).toBe(
      'routes.bot.rag.before.1: unknown hook "nope"',
    );
    expect(configError(() => checkRagRoutes({ bot: { rag: rag({ after: ['require-context'] }) } }, retrievers, phase))).toBe(
      'routes.bot.rag.after.0: hook "require-context" runs before the model call, not after',
    );
    expect(configError(() => checkRagRoutes({ bot: { rag: routeRagSchema.parse({ retriever: 'gone' }) } }, retrievers, phase))).toBe(
      'routes.bot.rag.retriever: unknown retriever "gone"',
    );
  });
});
