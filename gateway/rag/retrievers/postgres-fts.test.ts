import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import type { Database } from '../../db/client.ts';
import { DocumentStore } from '../documents-store.ts';
import { PostgresFtsRetriever } from './postgres-fts.ts';

/** A small corpus where each question has one right passage. */
const corpus = [
  { id: 'refunds', text: 'Refunds are issued to the original payment method within 5 business days after the returned item arrives.' },
  { id: 'shipping', text: 'Standard shipping takes 3 to 7 days. Express shipping delivers the next business day when ordered before noon.' },
  { id: 'passwords', text: 'To reset your password, open Settings, choose Security and follow the link we email to you.' },
  { id: 'warranty', text: 'Every device carries a two-year warranty covering manufacturing defects but not accidental damage.' },
  { id: 'stores', text: 'Our stores open at 9am and close at 8pm on weekdays; on Sundays they close at 5pm.' },
  { id: 'loyalty', text: 'Loyalty points expire twelve months after they are earned and cannot be exchanged for cash.' },
];

const questions: [string, string][] = [
  ['How long until I get my money back for a return?', 'refunds'],
  ['How fast is express shipping?', 'shipping'],
  ['I forgot my password, how do I reset it?', 'passwords'],
  ['Is accidental damage covered by the warranty?', 'warranty'],
  ['What time do stores close on Sunday?', 'stores'],
  ['Do my loyalty points expire?', 'loyalty'],
];

describe.each(testDatabases())('postgres-fts retriever on $kind', (target) => {
  let database: Database;
  let fts: PostgresFtsRetriever;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    database = await target.open();
    const store = new DocumentStore(database);
    await store.upsert(corpus.map((d, i) => ({ collection: 'help', ...d, metadata: { lang: 'en', shard: i % 2 } })));
    await store.upsert([{ collection: 'other', id: 'refunds', text: 'Refunds refunds refunds money back return' }]);
    fts = new PostgresFtsRetriever(database, { name: 'docs', collection: 'help', language: 'english' });
  });
  afterAll(async () => database?.close());

  it.each(questions)('ranks the right passage first for %j', async (question, expected) => {
    const docs = await fts.search(question, { topK: 3, signal });
    expect(docs[0]?.id).toBe(expected);
    expect(docs.every((d) => d.collection === 'help' && d.score > 0)).toBe(true);
    // Best first.
    expect(docs.map((d) => d.score)).toEqual([...docs.map((d) => d.score)].sort((a, b) => b - a));
  });

  it('matches a document containing any query term (OR semantics), not only all of them', async () => {
    const docs = await fts.search('warranty xylophone quasar', { topK: 5, signal });
    expect(docs.map((d) => d.id)).toEqual(['warranty']);
  });

  it('returns nothing for a query of stop words or punctuation only, and for empty text', async () => {
    expect(await fts.search('what is the of and?', { topK: 3, signal })).toEqual([]);
    expect(await fts.search('', { topK: 3, signal })).toEqual([]);
    expect(await fts.search("!!! ''' \\ :* & | ( )", { topK: 3, signal })).toEqual([]);
  });

  it('treats tsquery syntax and SQL in the query as plain words', async () => {
    const hostile = ["password' | 'x", "password:* & !refund", "'); drop table documents; --", 'pass\\word \\\\ o\'reilly'];
    for (const q of hostile) await expect(fts.search(q, { topK: 3, signal })).resolves.toBeInstanceOf(Array);
    expect((await fts.search("password' | 'x", { topK: 1, signal }))[0]?.id).toBe('passwords');
    expect(await new DocumentStore(database).count('help')).toBe(corpus.length);
  });

  it('applies top_k and metadata filters', async () => {
    expect(await fts.search('shipping refunds warranty stores', { topK: 2, signal })).toHaveLength(2);
    const filtered = await fts.search('shipping refunds warranty stores loyalty passwords', { topK: 10, signal, filters: { shard: 1 } });
    expect(filtered.map((d) => d.id).sort()).toEqual(['loyalty', 'shipping', 'warranty']);
    expect(filtered.every((d) => d.metadata.lang === 'en' && d.metadata.shard === 1)).toBe(true);
  });
});
