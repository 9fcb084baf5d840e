/**
 * Retrieval quality on HaluEval (issue 8): the 500 `knowledge` passages as collection
 * `halueval` (id = row index), each row's `question` as the query; recall@1/@3/@5 and MRR@10
 * of the source passage per retriever, on PGlite and, when DATABASE_URL is set, on Postgres.
 *
 *   node --import tsx bench/rag-recall.ts [path/to/qa-one-turn.jsonl]
 *
 * The pgvector and hybrid rows use a FAKE embeddings function — a deterministic hashed
 * bag-of-words (512 dims, see gateway/rag/recall.ts) — because no embeddings model runs here.
 * They measure the plumbing (vector scan, rank fusion), not what a real model would reach.
 */
import { fileURLToPath } from 'node:url';
import { testDatabases } from '../test/helpers/test-db.ts';
import { collectionSettings, parseRetrievers } from '../gateway/rag/config.ts';
import { DocumentStore } from '../gateway/rag/documents-store.ts';
import { hashedBagOfWords, loadHaluEval, measureRecall } from '../gateway/rag/recall.ts';
import { detectVectorMode } from '../gateway/rag/retrievers/pgvector.ts';
import { createRetriever } from '../gateway/rag/retrievers/registry.ts';
import type { EmbedFn } from '../gateway/rag/types.ts';

const path = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/halueval/qa-one-turn.jsonl', import.meta.url));
const cases = loadHaluEval(path);
const fake = hashedBagOfWords(512);
const embed: EmbedFn = (texts) => fake(texts);

const retrievers = parseRetrievers({
  fts: { type: 'postgres-fts', collection: 'halueval' },
  'pgvector (fake embed: hashed bag-of-words)': { type: 'pgvector', collection: 'halueval', embeddings: 'fake/hashed-bow-512' },
  'hybrid (fts + fake embed, RRF k=60)': { type: 'hybrid', collection: 'halueval', embeddings: 'fake/hashed-bow-512' },
});

const pct = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
process.stdout.write(`HaluEval QA: ${cases.length} passages, ${cases.length} questions (${path})\n\n`);
process.stdout.write('| database | retriever | recall@1 | recall@3 | recall@5 | MRR@10 | ms/query |\n|---|---|---|---|---|---|---|\n');
for (const target of testDatabases()) {
  const database = await target.open();
  try {
    const store = new DocumentStore(database, { settings: collectionSettings(retrievers), embed });
    await store.upsert(cases.map((c) => ({ collection: 'halueval', id: c.id, text: c.passage })));
    const mode = await detectVectorMode(database);
    for (const [name, config] of Object.entries(retrievers)) {
      const retriever = createRetriever(name, config, { database, embed });
      const started = performance.now();
      const r = await measureRecall(retriever, cases, [1, 3, 5], 10);
      const ms = (performance.now() - started) / cases.length;
      const label = config.type === 'postgres-fts' ? name : `${name} [vector: ${mode}]`;
      process.stdout.write(`| ${target.kind} | ${label} | ${pct(r.recall[1])} | ${pct(r.recall[3])} | ${pct(r.recall[5])} | ${pct(r.mrr)} | ${ms.toFixed(1)} |\n`);
    }
  } finally {
    await database.close();
  }
}
