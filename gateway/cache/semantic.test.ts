import { count, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { cacheKey } from './key.ts';
import { ResponseCache } from './response-cache.ts';
import { semanticCache } from './schema.ts';
import { MemorySemanticIndex, PostgresSemanticIndex, type SemanticIndex } from './semantic-index.ts';
import { lastUserTurn, SemanticCache, semanticScope, type SemanticInput } from './semantic.ts';
import { entryOf, textCompletion } from '../../test/helpers/completions.ts';

/** A deterministic embedding: word counts over a tiny vocabulary. */
const VOCAB = ['refund', 'order', 'how', 'do', 'i', 'get', 'a', 'my', 'password', 'reset', 'weather', 'paris'];
async function embed(text: string): Promise<number[]> {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  return VOCAB.map((w) => words.filter((x) => x === w).length);
}

function input(question: string, overrides: Partial<SemanticInput> = {}, system = 'You are the support bot.'): SemanticInput {
  return {
    provider: 'openai',
    model: 'gpt-4o-mini',
    route: 'support',
    promptVersion: 'support@3',
    request: { model: 'support', temperature: 0, messages: [{ role: 'system', content: system }, { role: 'user', content: question }] },
    ...overrides,
  };
}

describe('lastUserTurn and semanticScope', () => {
  it('takes the last user message, text parts joined; none for images or blank text', () => {
    expect(lastUserTurn({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }] })).toEqual({ index: 2, text: 'c' });
    expect(lastUserTurn({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'text', text: 'y' }] }] })?.text).toBe('x\ny');
    expect(lastUserTurn({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:' } }] }] })).toBeUndefined();
    expect(lastUserTurn({ messages: [{ role: 'user', content: '  ' }] })).toBeUndefined();
    expect(lastUserTurn({ messages: [{ role: 'system', content: 's' }] })).toBeUndefined();
  });

  it('is the same for requests that differ only in the last user turn, and differs on anything else', () => {
    const scope = (i: SemanticInput) => semanticScope(i, lastUserTurn(i.request)!.index);
    const s = scope(input('How do I get a refund?'));
    expect(scope(input('Refund for my order?'))).toBe(s);
    expect(scope(input('How do I get a refund?', {}, 'You are a pirate.'))).not.toBe(s);
    expect(scope(input('x', { route: 'other' }))).not.toBe(s);
    expect(scope(input('x', { promptVersion: 'support@4' }))).not.toBe(s);
    expect(scope(input('x', { model: 'gpt-4o' }))).not.toBe(s);
    expect(scope(input('x', { scope: 'key:k1' }))).not.toBe(s);
    const withTools = input('x');
    withTools.request = { ...withTools.request, tools: [{ type: 'function', function: { name: 'refund' } }] };
    expect(scope(withTools)).not.toBe(s);
  });
});

function semanticSuite(name: string, makeIndex: () => SemanticIndex | Promise<SemanticIndex>) {
  describe(`SemanticCache (${name})`, () => {
    let cache: ResponseCache;
    let semantic: SemanticCache;

    beforeEach(async () => {
      cache = new ResponseCache({ memoryBytes: 1_000_000 });
      semantic = new SemanticCache({ index: await makeIndex(), cache });
    });

    /** Stores an answer the way the pipeline would: exact key first, then the semantic record. */
    async function store(i: SemanticInput, answer: string): Promise<string> {
      const key = cacheKey({ provider: i.provider, model: i.model, request: i.request });
      cache.set(key, entryOf(textCompletion(answer)), 60);
      const probe = await semantic.probe(i, embed);
      semantic.record(probe!, key, 60);
      await new Promise((r) => setTimeout(r, 10));
      return key;
    }

    it('reuses the answer of a similar question above the threshold, not below', async () => {
      const key = await store(input('How do I get a refund?'), 'Go to Orders → Refund.');
      const similar = await semantic.probe(input('how do I get a refund'), embed);
      const hit = await semantic.find(similar!, 0.9);
      expect(hit).toMatchObject({ cacheKey: key });
      expect(hit!.similarity).toBeGreaterThan(0.99);
      const other = await semantic.probe(input('How do I reset my password?'), embed);
      expect(await semantic.find(other!, 0.9)).toBeUndefined();
      expect(await semantic.find(other!, 0)).toBeDefined();
      expect(semantic.stats()).toMatchObject({ hits: 2, misses: 1, records: 1, errors: 0 });
    });

    it('never answers across different system prompts or tools, even for the same question', async () => {
      await store(input('How do I get a refund?'), 'answer');
      const pirate = await semantic.probe(input('How do I get a refund?', {}, 'You are a pirate.'), embed);
      expect(await semantic.find(pirate!, 0.5)).toBeUndefined();
      const tooled = input('How do I get a refund?');
      tooled.request = { ...tooled.request, tools: [{ type: 'function', function: { name: 'refund' } }] };
      expect(await semantic.find((await semantic.probe(tooled, embed))!, 0.5)).toBeUndefined();
    });

    it('misses when the answer it points at is no longer cached', async () => {
      const key = await store(input('weather in paris'), 'Sunny.');
      cache = new ResponseCache({ memoryBytes: 1_000_000 }); // a cold cache behind the same index
      const index = (semantic as unknown as { index: SemanticIndex }).index;
      semantic = new SemanticCache({ index, cache });
      expect(await semantic.find((await semantic.probe(input('weather in paris'), embed))!, 0.9)).toBeUndefined();
      expect(key).toMatch(/^[0-9a-f]{64}$/);
    });

    it('an embedding failure or timeout is a miss, counted, not an error', async () => {
      expect(await semantic.probe(input('x'), async () => Promise.reject(new Error('embeddings 500')))).toBeUndefined();
      expect(await semantic.probe(input('x'), async () => [0, 0])).toBeUndefined();
      const slow = new SemanticCache({ index: await makeIndex(), cache, embedTimeoutMs: 10 });
      expect(await slow.probe(input('x'), () => new Promise(() => {}))).toBeUndefined();
      expect(semantic.stats().errors).toBe(1);
      expect(slow.stats().errors).toBe(1);
    });
  });
}

semanticSuite('memory index', () => new MemorySemanticIndex());

describe('MemorySemanticIndex', () => {
  it('expires entries, keeps the newest per scope and replaces a key', async () => {
    let now = 1_000;
    const index = new MemorySemanticIndex({ now: () => now, maxPerScope: 2 });
    const v = Float32Array.from([1, 0]);
    await index.add('s', 'a', v, 2_000);
    await index.add('s', 'b', v, 5_000);
    await index.add('s', 'c', v, 5_000);
    expect((await index.search('s', v, 0.9))?.cacheKey).toMatch(/b|c/);
    await index.add('s', 'c', Float32Array.from([0, 1]), 5_000);
    expect((await index.search('s', Float32Array.from([0, 1]), 0.9))?.cacheKey).toBe('c');
    now = 5_000;
    expect(await index.search('s', v, 0)).toBeUndefined();
    expect(await index.search('other', v, 0)).toBeUndefined();
  });
});

describe.each(testDatabases())('PostgresSemanticIndex ($kind)', (target) => {
  let database: Database;
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    await database.db.execute(sql`truncate semantic_cache`);
  });

  semanticSuite('postgres index', () => new PostgresSemanticIndex(database, { refreshMs: 0, purgeEveryMs: 0 }));

  it('shares vectors between instances through the table, and purges expired rows', async () => {
    let now = 1_760_000_000_000;
    const a = new PostgresSemanticIndex(database, { now: () => now, refreshMs: 0, purgeEveryMs: 0 });
    const b = new PostgresSemanticIndex(database, { now: () => now, refreshMs: 1_000, purgeEveryMs: 0 });
    const v = Float32Array.from([0.6, 0.8]);
    expect(await b.search('scope', v, 0.9)).toBeUndefined(); // b loads an empty mirror…
    await a.add('scope', 'key-1', v, now + 10_000);
    expect(await b.search('scope', v, 0.9)).toBeUndefined(); // …and keeps it for refreshMs
    now += 1_000;
    const match = await b.search('scope', v, 0.9);
    expect(match?.cacheKey).toBe('key-1');
    expect(match!.similarity).toBeCloseTo(1, 5);
    now += 10_000;
    expect(await a.search('scope', v, 0)).toBeUndefined();
    expect(await a.purgeExpired()).toBe(1);
    expect((await database.db.select({ n: count() }).from(semanticCache))[0]!.n).toBe(0);
  });
});
