import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { ConfigError } from '../config/load.ts';
import { routeRagSchema } from '../config/routes-schema.ts';
import type { Database } from '../db/client.ts';
import { DocumentStore } from './documents-store.ts';
import { hashedBagOfWords } from './recall.ts';
import { createRag, type RagService } from './service.ts';
import type { EmbedFn, EmbedOptions } from './types.ts';

const corpus = [
  { id: 'refunds', text: 'Refunds are paid to the original card within five business days.' },
  { id: 'shipping', text: 'Express shipping arrives the next business day; standard shipping takes a week.' },
  { id: 'passwords', text: 'Reset a forgotten password from the Security page of your account settings.' },
  { id: 'warranty', text: 'The warranty lasts two years and excludes accidental damage.' },
];

/** Deterministic fake embeddings (hashed bag of words) that count its calls. */
function fakeEmbed() {
  const bow = hashedBagOfWords(64);
  const calls: { texts: string[]; opts: EmbedOptions }[] = [];
  const embed: EmbedFn = async (texts, opts) => {
    calls.push({ texts, opts });
    return bow(texts);
  };
  return { embed, calls };
}

const retrievers = {
  docs: { type: 'postgres-fts', collection: 'help' },
  vec: { type: 'pgvector', collection: 'help', embeddings: 'openai/text-embedding-3-small', dimensions: 64 },
  mix: { type: 'hybrid', collection: 'help', embeddings: 'openai/text-embedding-3-small', dimensions: 64, k: 60 },
  notes: { type: 'postgres-fts', collection: 'notes', language: 'simple' },
};
const rag = (x: Record<string, unknown>) => routeRagSchema.parse(x);
const routes = {
  'support-bot': { rag: rag({ retriever: 'docs', top_k: 2, after: ['annotate-citations'] }) },
  'vector-bot': { rag: rag({ retriever: 'vec', top_k: 2 }) },
  'hybrid-bot': { rag: rag({ retriever: 'mix', top_k: 2 }) },
  plain: {},
};

describe.each(testDatabases())('RAG service on $kind', (target) => {
  let database: Database;
  let service: RagService;
  const fake = fakeEmbed();
  const signal = new AbortController().signal;

  beforeAll(async () => {
    database = await target.open();
    service = createRag({ database, config: { retrievers, routes }, embed: fake.embed });
    expect(await service.start()).toEqual({ vectorMode: 'js' });
    await service.store.upsert(corpus.map((d) => ({ collection: 'help', ...d })));
  });
  afterAll(async () => {
    await service?.close();
    await database?.close();
  });

  it('embeds documents of a vector collection on upsert, and only texts that changed', async () => {
    expect(fake.calls[0]?.opts).toMatchObject({ target: 'openai/text-embedding-3-small', dimensions: 64 });
    expect(fake.calls.flatMap((c) => c.texts)).toHaveLength(corpus.length);
    const before = fake.calls.length;
    const again = await service.store.upsert([
      { collection: 'help', id: 'refunds', text: corpus[0]!.text, metadata: { v: 2 } },
      { collection: 'help', id: 'warranty', text: 'The warranty lasts three years.' },
    ]);
    expect(again).toEqual({ upserted: 2, embedded: 1 });
    expect(fake.calls.slice(before).flatMap((c) => c.texts)).toEqual(['The warranty lasts three years.']);
    expect((await service.store.get('help', 'refunds'))?.metadata).toEqual({ v: 2 });
    expect((await service.store.get('help', 'refunds'))?.embeddingModel).toBe('openai/text-embedding-3-small:64');
    await service.store.upsert([{ collection: 'help', id: 'warranty', text: corpus[3]!.text }]);
  });

  it('does not embed a collection no vector retriever reads, and indexes it in its language', async () => {
    const before = fake.calls.length;
    await service.store.upsert([{ collection: 'notes', id: 'n1', text: 'The quick brown foxes' }]);
    expect(fake.calls.length).toBe(before);
    expect((await service.store.get('notes', 'n1'))?.embeddingModel).toBeNull();
    // 'simple' does not stem: 'fox' does not match 'foxes'.
    expect((await service.preview({ q: 'fox', topK: 3, retriever: 'notes', signal })).documents).toEqual([]);
    expect((await service.preview({ q: 'foxes', topK: 3, retriever: 'notes', signal })).documents.map((d) => d.id)).toEqual(['n1']);
  });

  it.each([
    ['docs', 'How long do refunds take?', 'refunds'],
    ['vec', 'forgotten password reset', 'passwords'],
    ['mix', 'express shipping next day', 'shipping'],
  ])('retriever %s ranks the right document first', async (retriever, q, expected) => {
    const result = await service.preview({ q, topK: 3, retriever, signal });
    expect(result.documents[0]?.id).toBe(expected);
    expect(result.retriever).toBe(retriever);
  });

  it('a vector search sees writes made after it cached the collection', async () => {
    await service.preview({ q: 'anything', topK: 1, retriever: 'vec', signal });
    await service.store.upsert([{ collection: 'help', id: 'gift', text: 'Gift cards never expire and can be topped up online.' }]);
    expect((await service.preview({ q: 'gift cards expire', topK: 1, retriever: 'vec', signal })).documents[0]?.id).toBe('gift');
    expect(await service.store.delete('help', 'gift')).toBe(true);
    expect((await service.preview({ q: 'gift cards expire', topK: 5, retriever: 'vec', signal })).documents.map((d) => d.id)).not.toContain('gift');
  });

  it('runs a route pipeline end to end against the database and records what the model saw', async () => {
    const pipeline = service.pipelineFor('support-bot')!;
    expect(service.pipelineFor('plain')).toBeUndefined();
    const run = await pipeline.runBefore({
      request: { model: 'support-bot', messages: [{ role: 'user', content: 'How long do refunds take?' }] },
      contextVariable: false,
      model: 'gpt-4o-mini',
      signal,
    });
    expect(run.record.documents.map((d) => d.id)[0]).toBe('refunds');
    expect(run.record.documents.length).toBeLessThanOrEqual(2);
    expect(run.record.injectedText).toContain('[1] (refunds) Refunds are paid to the original card');
    const messages = run.inject(run.request.messages);
    expect(messages[0]).toEqual({ role: 'system', content: run.record.injectedText });
    const after = await pipeline.runAfter(run, { text: 'Five business days [1].', body: null, streamed: false }, signal);
    expect(after.annotations.citations).toEqual(['refunds']);
  });

  it('preview: unknown retriever 404, collection mismatch 400, plain collection search', async () => {
    await expect(service.preview({ q: 'x', topK: 1, retriever: 'nope', signal })).rejects.toMatchObject({ status: 404, param: 'retriever' });
    await expect(service.preview({ q: 'x', topK: 1, retriever: 'docs', collection: 'other', signal })).rejects.toMatchObject({ status: 400 });
    const plain = await service.preview({ q: 'warranty damage', topK: 2, collection: 'help', signal });
    expect(plain.documents[0]?.id).toBe('warranty');
  });

  it('start() re-indexes rows stored under another language and warns about rows lacking embeddings', async () => {
    await new DocumentStore(database).upsert([
      { collection: 'notes', id: 'old', text: 'Running shoes' },
      { collection: 'help', id: 'raw', text: 'Inserted without embeddings' },
    ]);
    expect((await service.preview({ q: 'running', topK: 3, retriever: 'notes', signal })).documents).toEqual([]);
    const warnings: unknown[] = [];
    const logger = { info() {}, error() {}, warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push({ msg, ...fields }) };
    await createRag({ database, config: { retrievers, routes }, embed: fake.embed, logger }).start();
    // 'simple' keeps 'running' as is; the english stem was 'run'.
    expect((await service.preview({ q: 'running', topK: 3, retriever: 'notes', signal })).documents.map((d) => d.id)).toEqual(['old']);
    expect(warnings).toEqual([expect.objectContaining({ collection: 'help', count: 1, model: 'openai/text-embedding-3-small:64' })]);
    await service.store.delete('help', 'raw');
  });

  it('start() refuses a text-search language the database does not have', async () => {
    const bad = createRag({ database, config: { retrievers: { x: { type: 'postgres-fts', collection: 'c', language: 'klingon' } }, routes: {} } });
    await expect(bad.start()).rejects.toThrow(new ConfigError('retrievers.x.language: the database has no text search configuration "klingon"'));
  });
});

describe('createRag config errors', () => {
  const database = {} as Database;
  it('needs an embeddings function for vector retrievers', () => {
    expect(() => createRag({ database, config: { retrievers: { v: retrievers.vec }, routes: {} } })).toThrow(
      'retrievers.v.embeddings: no embeddings function was provided',
    );
  });
  it('names unknown hooks at boot', () => {
    expect(() => createRag({ database, config: { retrievers: { docs: retrievers.docs }, routes: { r: { rag: rag({ retriever: 'docs', before: ['retreive'] }) } } } })).toThrow(
      'routes.r.rag.before.0: unknown hook "retreive"',
    );
  });
  it('names a malformed query template at boot', () => {
    expect(() => createRag({ database, config: { retrievers: { docs: retrievers.docs }, routes: { r: { rag: rag({ retriever: 'docs', query: 'about {{ first name }}' }) } } } })).toThrow(
      /^routes\.r\.rag\.query: invalid placeholder/,
    );
  });
});
